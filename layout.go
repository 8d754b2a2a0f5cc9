package lectern

import (
	"strconv"
	"strings"
)

// Storage layout. Every object of a lesson lives under LessonPrefix, so
// deleting a lesson is one DeletePrefix.

// LessonPrefix is the storage prefix of everything a lesson owns.
func LessonPrefix(lessonID string) string { return "lessons/" + lessonID + "/" }

// SourceKey is where an upload of a lesson's recording is stored; uploadID
// tells one upload from another so a re-upload never overwrites the source
// a running transcode is reading.
func SourceKey(lessonID, uploadID string) string {
	return LessonPrefix(lessonID) + "source/" + uploadID
}

// CaptionPrefix is where every version of a lesson's caption track in
// language lang (a canonical BCP 47 tag) is stored.
func CaptionPrefix(lessonID, lang string) string {
	return LessonPrefix(lessonID) + "captions/" + lang + "/"
}

// CaptionKey is where one saved version of a caption track is stored, as
// WebVTT; objectID tells one save from another, so a save never overwrites
// an object that a version (or a concurrent save) already holds.
func CaptionKey(lessonID, lang, objectID string) string {
	return CaptionPrefix(lessonID, lang) + objectID + ".vtt"
}

// OutputPrefix is where transcode attempt n of a lesson writes its HLS
// output, poster and thumbnails. Attempts never share a prefix, so a stale
// attempt cannot overwrite a newer one's files.
func OutputPrefix(lessonID string, attempt int) string {
	return LessonPrefix(lessonID) + "hls/" + strconv.Itoa(attempt) + "/"
}

// OutputAttempt is the inverse of OutputPrefix: the attempt n for which
// OutputPrefix(lessonID, n) == prefix, and whether there is one.
func OutputAttempt(lessonID, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(prefix, LessonPrefix(lessonID)+"hls/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "/"))
	if err != nil || n < 0 || OutputPrefix(lessonID, n) != prefix {
		return 0, false
	}
	return n, true
}
