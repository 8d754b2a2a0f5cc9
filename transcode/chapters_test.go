package transcode_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// chapteredClip is a 6 s 320×240 clip with a tone whose container (by
// ext: mp4 or mkv) carries the chapters of an ffmetadata file, as
// ffmpeg -map_chapters writes them from one.
func chapteredClip(t *testing.T, ext string, chapters ...string) string {
	t.Helper()
	ffmpeg, _ := testenv.FFmpeg(t)
	dir := t.TempDir()
	meta := filepath.Join(dir, "chapters.txt")
	text := ";FFMETADATA1\n"
	for _, c := range chapters {
		text += c
	}
	if err := os.WriteFile(meta, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lecture."+ext)
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=6",
		"-i", meta, "-map", "0", "-map", "1", "-map_chapters", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make fixture: %v\n%s", err, b)
	}
	return out
}

// ffChapter is one [CHAPTER] of an ffmetadata file, in milliseconds; an
// empty title writes none. A title's newline is escaped as ffmetadata
// wants it, so it reaches the file as a newline.
func ffChapter(startMS, endMS int, title string) string {
	s := fmt.Sprintf("[CHAPTER]\nTIMEBASE=1/1000\nSTART=%d\nEND=%d\n", startMS, endMS)
	if title != "" {
		s += "title=" + escapeFFMetadata(title) + "\n"
	}
	return s
}

func escapeFFMetadata(s string) string {
	var out []rune
	for _, r := range s {
		switch r {
		case '=', ';', '#', '\\', '\n':
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// A recording's own chapters (MP4 and Matroska, as ffmpeg writes them from
// an ffmetadata file) become the lesson's when its teacher has set none:
// titles cleaned, clamped to the recording, found by search; a teacher's
// chapters always win; a later upload's chapters replace imported ones.
func TestFileChaptersImported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp4 := chapteredClip(t, "mp4",
		ffChapter(0, 2000, "Introduction"),
		ffChapter(2000, 4000, "Line one\nline two"),
		ffChapter(4000, 6000, "Eigenvalues \u202eevil"))
	mkv := chapteredClip(t, "mkv",
		ffChapter(0, 3000, "Welcome"),
		ffChapter(3000, 5500, ""),
		ffChapter(5500, 6000, "Wrap-up"),
		// Past the recording's end (Matroska keeps its own duration;
		// an MP4's chapter track would stretch the file's).
		ffChapter(9000, 10000, "After the end"))
	plain := makeClips(t).good

	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		teacher, err := e.DB.FindUserByID(ctx, e.Course.OwnerID)
		if err != nil {
			t.Fatal(err)
		}
		transcoded := func(t *testing.T, l *lectern.Lesson, path string) []lectern.Chapter {
			t.Helper()
			if err := e.run(t, e.upload(t, l, path)); err != nil {
				t.Fatalf("transcode: %v", err)
			}
			if got := e.lesson(t, l.ID); got.Status != lectern.LessonReady {
				t.Fatalf("lesson %s: %s", got.Status, got.Error)
			}
			chs, err := e.DB.FindChapters(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			return chs
		}
		found := func(t *testing.T, l *lectern.Lesson, q string) []int64 {
			t.Helper()
			hits, _, err := e.DB.Search(ctx, teacher, db.SearchFilter{Query: q, CourseID: e.Course.ID})
			if err != nil {
				t.Fatal(err)
			}
			var at []int64
			for _, h := range hits {
				if h.LessonID == l.ID && h.Kind == lectern.SearchChapter {
					at = append(at, h.AtMS)
				}
			}
			return at
		}

		for _, tc := range []struct {
			name, file string
			want       []lectern.Chapter
		}{
			{"MP4", mp4, []lectern.Chapter{{StartMS: 0, Title: "Introduction"},
				{StartMS: 2000, Title: "Line one line two"}, {StartMS: 4000, Title: "Eigenvalues evil"}}},
			{"MatroskaUntitledAndPastTheEnd", mkv, []lectern.Chapter{{StartMS: 0, Title: "Welcome"},
				{StartMS: 3000, Title: "Chapter 2"}, {StartMS: 5500, Title: "Wrap-up"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l := e.newLesson(t)
				got := transcoded(t, l, tc.file)
				for i := range tc.want {
					tc.want[i].LessonID = l.ID
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("chapters (-want +got):\n%s", diff)
				}
				last := tc.want[len(tc.want)-1]
				if at := found(t, l, last.Title); !cmp.Equal(at, []int64{last.StartMS}) {
					t.Errorf("search for the imported chapter %q finds it at %v, want [%d]", last.Title, at, last.StartMS)
				}
			})
		}

		t.Run("TeacherChaptersKept", func(t *testing.T) {
			l := e.newLesson(t)
			transcoded(t, l, plain)
			mine := []lectern.Chapter{{StartMS: 0, Title: "My own"}, {StartMS: 1000, Title: "Second"}}
			if _, err := e.DB.SetChapters(ctx, l.ID, mine); err != nil {
				t.Fatal(err)
			}
			got := transcoded(t, l, mp4)
			if len(got) != 2 || got[0].Title != "My own" || got[1].Title != "Second" {
				t.Errorf("after uploading a file with chapters, the teacher's chapters became %v", got)
			}
			if at := found(t, l, "introduction"); len(at) != 0 {
				t.Errorf("search finds the file's chapter at %v though the teacher's were kept", at)
			}
			// Removing them all is a choice too: the file does not bring them back.
			if _, err := e.DB.SetChapters(ctx, l.ID, nil); err != nil {
				t.Fatal(err)
			}
			if got := transcoded(t, l, mkv); len(got) != 0 {
				t.Errorf("after the teacher removed every chapter, an upload brought back %v", got)
			}
		})

		t.Run("ReuploadReplacesImported", func(t *testing.T) {
			l := e.newLesson(t)
			if got := transcoded(t, l, mp4); len(got) != 3 {
				t.Fatalf("imported %v", got)
			}
			if got := transcoded(t, l, mkv); len(got) != 3 || got[0].Title != "Welcome" {
				t.Errorf("a second upload's chapters: %v, want the Matroska file's", got)
			}
			if got := transcoded(t, l, plain); len(got) != 0 {
				t.Errorf("an upload without chapters left the previous file's: %v", got)
			}
			if at := found(t, l, "welcome"); len(at) != 0 {
				t.Errorf("search still finds a removed imported chapter at %v", at)
			}
			// With the imported ones gone, the next file's are taken again.
			if got := transcoded(t, l, mp4); len(got) != 3 {
				t.Errorf("after an upload without chapters, the next file's: %v", got)
			}
		})
	})
}

// A slide lecture's publication leaves chapter suggestions where its
// slides change (within a look at the picture, 1/5 s); the next upload's
// replace them.
func TestSlideLectureSuggestsChapters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	slides := testenv.SlideLecture(t, 5, 6)
	plain := makeClips(t).good
	forEachDB(t, func(t *testing.T, e *handlerEnv) {
		l := e.newLesson(t)
		if err := e.run(t, e.upload(t, l, slides)); err != nil {
			t.Fatal(err)
		}
		sugs, err := e.DB.FindChapterSuggestions(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		var at []int64
		for _, s := range sugs {
			at = append(at, s.StartMS)
		}
		if len(at) != 4 {
			t.Fatalf("suggestions at %v ms, want 4, one at each slide change (every 6 s)", at)
		}
		for i, ms := range at {
			if want := int64(i+1) * 6000; ms < want-200 || ms > want+200 {
				t.Errorf("suggestion %d at %d ms, want %d ± 200", i+1, ms, want)
			}
		}
		if err := e.run(t, e.upload(t, l, plain)); err != nil {
			t.Fatal(err)
		}
		if sugs, _ := e.DB.FindChapterSuggestions(ctx, l.ID); len(sugs) != 0 {
			t.Errorf("a new recording kept the old one's suggestions: %v", sugs)
		}
	})
}
