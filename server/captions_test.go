package server_test

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"

	"github.com/lectern/lectern"
)

// captionClass is a course with a one-minute lesson, the people around it,
// and a lesson of another course.
type captionClass struct {
	ts                                *testServer
	teacher, student, outsider, admin *client
	anonymous                         *client
	courseID, lessonID, otherLessonID string
	teacherName                       string
}

const captionLessonMS = 60_000

func newCaptionClass(t *testing.T, fx *fixture) *captionClass {
	t.Helper()
	ts := newServer(t, fx)
	cc := &captionClass{ts: ts, anonymous: ts.client(t)}
	teacher, teacherClient := ts.loginNew(t, lectern.RoleTeacher)
	cc.teacher, cc.teacherName = teacherClient, teacher.Name
	_, cc.student = ts.loginNew(t, lectern.RoleStudent)
	_, cc.outsider = ts.loginNew(t, lectern.RoleTeacher)
	_, cc.admin = ts.loginNew(t, lectern.RoleAdmin)
	course := createCourse(t, cc.teacher, "Phonetics")
	cc.student.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *course.JoinCode}).want(http.StatusOK)
	cc.courseID = course.ID
	cc.lessonID = readyLesson(t, ts, course.ID, "Vowels: front & back", captionLessonMS)
	other := createCourse(t, cc.outsider, "Elsewhere")
	cc.otherLessonID = readyLesson(t, ts, other.ID, "Other", captionLessonMS)
	return cc
}

func (cc *captionClass) path(lang string, rest ...string) string {
	p := "/api/v1/lessons/" + cc.lessonID + "/captions"
	if lang != "" {
		p += "/" + lang
	}
	return p + strings.Join(rest, "")
}

// upload PUTs a caption file as c.
func (cc *captionClass) upload(t *testing.T, c *client, lang, query string, file []byte) *response {
	t.Helper()
	return c.do(t, "PUT", cc.path(lang)+query, file, "Content-Type", "application/x-subrip")
}

// trackJSON is a caption track as the API returns it.
type trackJSON struct {
	Lang     string   `json:"lang"`
	Label    string   `json:"label"`
	Default  bool     `json:"default"`
	Status   string   `json:"status"`
	Version  int      `json:"version"`
	Cues     int      `json:"cues"`
	Warnings []string `json:"warnings"`
}

func (cc *captionClass) list(t *testing.T, c *client) []trackJSON {
	t.Helper()
	var resp struct{ Captions []trackJSON }
	c.do(t, "GET", cc.path(""), nil).want(http.StatusOK).decode(&resp)
	return resp.Captions
}

// vtt fetches a track as WebVTT and checks how it is served.
func (cc *captionClass) vtt(t *testing.T, c *client, lang string) string {
	t.Helper()
	r := c.do(t, "GET", cc.path(lang), nil).want(http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/vtt; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("WebVTT served without nosniff")
	}
	return string(r.Body)
}

func cp1252(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// messySRT is a SubRip file as old Windows tools write it: Windows-1252,
// CRLF, numbers out of order, a <font> tag, overlapping cues, and cues
// past the end of the one-minute lesson.
const messySRT = "2\r\n00:00:04,000 --> 00:00:06,500\r\n<font color=\"#ff0\">Voilà</font> <i>déjà</i> vu\r\n\r\n" +
	"1\r\n00:00:01,000 --> 00:00:05,000\r\nCafé & crème\r\n\r\n" +
	"3\r\n00:00:58,000 --> 00:01:02,000\r\nRuns past the end\r\n\r\n" +
	"4\r\n00:01:05,000 --> 00:01:07,000\r\nAfter the end\r\n"

const messyVTT = "WEBVTT\n\n" +
	"00:00:01.000 --> 00:00:05.000\nCafé &amp; crème\n\n" +
	"00:00:04.000 --> 00:00:06.500\nVoilà <i>déjà</i> vu\n\n" +
	"00:00:58.000 --> 00:01:00.000\nRuns past the end\n"

func TestCaptionUpload(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
			cc := newCaptionClass(t, fx)
			t.Run("MessyFileNormalised", func(t *testing.T) { testCaptionMessyFile(t, cc) })
			t.Run("GarbageRefused", func(t *testing.T) { testCaptionGarbage(t, cc) })
			t.Run("VersionsAndRestore", func(t *testing.T) { testCaptionVersions(t, cc) })
			t.Run("Delete", func(t *testing.T) { testCaptionDelete(t, cc) })
		})
	})
}

func testCaptionMessyFile(t *testing.T, cc *captionClass) {
	var tr trackJSON
	cc.upload(t, cc.teacher, "pt-br", "", cp1252(t, messySRT)).want(http.StatusCreated).decode(&tr)
	want := trackJSON{Lang: "pt-BR", Label: "Português (Brasil)", Status: "published", Version: 1, Cues: 3, Warnings: []string{
		"The file is not UTF-8, so it was read as Windows-1252 (Western European). If letters look wrong, save the file as UTF-8 and upload it again.",
		"1 cue that starts after the end of the video (1:00) was removed.",
		"1 cue that ran past the end of the video was shortened to end with it.",
		"The cues were not in time order; they were sorted by start time.",
		"1 cue overlaps the cue before it; it is kept, and players show overlapping cues together.",
		"Formatting other than italic, bold and underline (such as colours, fonts, voices or positions) was removed from 1 cue.",
	}}
	if diff := cmp.Diff(want, tr); diff != "" {
		t.Errorf("PUT answer (-want +got):\n%s", diff)
	}
	if got := cc.vtt(t, cc.student, "pt-BR"); got != messyVTT {
		t.Errorf("stored WebVTT\n%s\nwant\n%s", got, messyVTT)
	}
	// The language tag is matched in any spelling, as stored.
	if got := cc.vtt(t, cc.student, "pt_br"); got != messyVTT {
		t.Errorf("pt_br gives\n%s", got)
	}
	keys := storedKeys(t, cc.ts.Store, lectern.CaptionPrefix(cc.lessonID, "pt-BR"))
	if len(keys) != 1 || !strings.HasSuffix(keys[0], ".vtt") {
		t.Errorf("stored objects %v, want one .vtt", keys)
	}
	wantCues(t, cc, "pt-BR", []lectern.CaptionCue{
		{StartMS: 1000, EndMS: 5000, Text: "Café & crème"},
		{StartMS: 4000, EndMS: 6500, Text: "Voilà déjà vu"},
		{StartMS: 58000, EndMS: 60000, Text: "Runs past the end"},
	})
	if got := cc.list(t, cc.student); len(got) != 1 || got[0].Lang != "pt-BR" || got[0].Warnings != nil {
		t.Errorf("student's list = %+v", got)
	}

	t.Run("Formats", func(t *testing.T) {
		r := cc.student.do(t, "GET", cc.path("pt-BR")+"?format=txt", nil).want(http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("transcript Content-Type = %q", ct)
		}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
		if err != nil || params["filename"] != "Vowels-front-back-pt-BR.txt" {
			t.Errorf("transcript Content-Disposition %q: %v", r.Header.Get("Content-Disposition"), err)
		}
		wantTxt := "Vowels: front & back — Português (Brasil)\n\n[0:01] Café & crème\n[0:04] Voilà déjà vu\n[0:58] Runs past the end\n"
		if string(r.Body) != wantTxt {
			t.Errorf("transcript\n%s\nwant\n%s", r.Body, wantTxt)
		}
		var j struct {
			Track trackJSON
			Cues  []map[string]any
		}
		cc.student.do(t, "GET", cc.path("pt-BR")+"?format=json", nil).want(http.StatusOK).decode(&j)
		if j.Track.Lang != "pt-BR" || j.Track.Cues != 3 || len(j.Cues) != 3 {
			t.Fatalf("JSON cues = %+v", j)
		}
		wantCue := map[string]any{"start_ms": 4000.0, "end_ms": 6500.0, "text": "Voilà déjà vu", "vtt": "Voilà <i>déjà</i> vu"}
		if diff := cmp.Diff(wantCue, j.Cues[1]); diff != "" {
			t.Errorf("JSON cue (-want +got):\n%s", diff)
		}
		cc.student.do(t, "GET", cc.path("pt-BR")+"?format=srt", nil).wantError(http.StatusBadRequest, lectern.EINVALID)
	})
}

func wantCues(t *testing.T, cc *captionClass, lang string, want []lectern.CaptionCue) {
	t.Helper()
	got, err := cc.ts.DB.FindCaptionCues(context.Background(), cc.lessonID, lang)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cues kept for search (-want +got):\n%s", diff)
	}
}

func testCaptionGarbage(t *testing.T, cc *captionClass) {
	for _, tc := range []struct {
		name, lang string
		body       []byte
		status     int
		code, msg  string
	}{
		{"Readme", "en", []byte("# Notes\n\nSee the slides.\n"), http.StatusBadRequest, lectern.EINVALID,
			`line 1: expected a time range like 00:00:01,000 --> 00:00:04,000, got "# Notes"`},
		{"BrokenCue", "en", []byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfine\n\n00:00:03.000 -> 00:00:04.000\nbroken\n"),
			http.StatusBadRequest, lectern.EINVALID,
			`line 6: expected a time range like 00:00:01.000 --> 00:00:04.000, got "00:00:03.000 -> 00:00:04.000"`},
		{"Binary", "en", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...), http.StatusBadRequest, lectern.EINVALID,
			"this is not a text file: upload a WebVTT (.vtt) or SubRip (.srt) caption file"},
		{"Empty", "en", []byte{}, http.StatusBadRequest, lectern.EINVALID, "the file is empty"},
		{"AllAfterTheEnd", "en", []byte("1\n01:00:00,000 --> 01:00:02,000\nlate\n"), http.StatusBadRequest, lectern.EINVALID,
			"every cue starts after the end of the video: check that the file belongs to this lesson"},
		{"NotALanguage", "xx", []byte("1\n00:00:01,000 --> 00:00:02,000\nhi\n"), http.StatusBadRequest, lectern.EINVALID,
			`"xx" is not a language tag: use a BCP 47 tag such as en, fr or pt-BR`},
		{"Undetermined", "und", []byte("1\n00:00:01,000 --> 00:00:02,000\nhi\n"), http.StatusBadRequest, lectern.EINVALID,
			`"und" is not a language tag: use a BCP 47 tag such as en, fr or pt-BR`},
		{"TooLarge", "en", []byte("1\n00:00:01,000 --> 00:00:02,000\n" + strings.Repeat("a", 2<<20) + "\n"),
			http.StatusRequestEntityTooLarge, lectern.ETOOLARGE, "the caption file is larger than 2 MiB, the most this server accepts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cc.list(t, cc.teacher)
			msg := cc.upload(t, cc.teacher, tc.lang, "", tc.body).wantError(tc.status, tc.code)
			if msg != tc.msg {
				t.Errorf("message\n got %s\nwant %s", msg, tc.msg)
			}
			if after := cc.list(t, cc.teacher); !cmp.Equal(before, after) {
				t.Errorf("a refused upload changed the tracks from %+v to %+v", before, after)
			}
			if keys := storedKeys(t, cc.ts.Store, lectern.LessonPrefix(cc.lessonID)+"captions/"+tc.lang); len(keys) != 0 {
				t.Errorf("a refused upload stored %v", keys)
			}
		})
	}
	t.Run("BadOptions", func(t *testing.T) {
		file := []byte("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
		for query, want := range map[string]string{
			"?default=maybe":          "default must be true or false",
			"?status=hidden":          "status must be published or draft",
			"?label=%22CC%22":         `label cannot contain a double quote (")`,
			"?label=%20":              "label is required",
			"?label=a%0Ab":            "label must be one line of text",
			"?status=draft&default=1": "a draft cannot be the default track: publish it first",
		} {
			if msg := cc.upload(t, cc.teacher, "en", query, file).wantError(http.StatusBadRequest, lectern.EINVALID); msg != want {
				t.Errorf("%s: message %q, want %q", query, msg, want)
			}
		}
		cc.teacher.do(t, "GET", cc.path("en"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		if keys := storedKeys(t, cc.ts.Store, lectern.CaptionPrefix(cc.lessonID, "en")); len(keys) != 0 {
			t.Errorf("a refused upload left %v", keys)
		}
	})
}

// editorCues is the caption editor's JSON for cues of "start-end-text".
func editorCues(cues ...string) map[string]any {
	var list []map[string]any
	for _, c := range cues {
		var start, end int64
		var text string
		fmt.Sscanf(c, "%d-%d", &start, &end)
		_, text, _ = strings.Cut(c, " ")
		list = append(list, map[string]any{"start_ms": start, "end_ms": end, "text": text})
	}
	return map[string]any{"cues": list}
}

type versionJSON struct {
	Version      int
	Cues         int
	Source       string
	RestoredFrom *int `json:"restored_from"`
	Author       *struct{ ID, Name string }
	Current      bool
}

func versions(t *testing.T, cc *captionClass, lang string) []versionJSON {
	t.Helper()
	var resp struct{ Versions []versionJSON }
	cc.teacher.do(t, "GET", cc.path(lang, "/versions"), nil).want(http.StatusOK).decode(&resp)
	return resp.Versions
}

func testCaptionVersions(t *testing.T, cc *captionClass) {
	first := "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nFirst <b>take</b>\n"
	cc.upload(t, cc.teacher, "fr", "?label=Fran%C3%A7ais%20(CC)", []byte(first)).want(http.StatusCreated)
	// The editor saves its cues as JSON; text is taken as typed.
	var tr trackJSON
	cc.teacher.do(t, "PUT", cc.path("fr"), editorCues("1000-2500 Second take: a < b & c", "3000-4000 more")).
		want(http.StatusOK).decode(&tr)
	if tr.Version != 2 || tr.Cues != 2 || tr.Label != "Français (CC)" {
		t.Errorf("after the editor's save: %+v", tr)
	}
	second := "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nSecond take: a &lt; b &amp; c\n\n00:00:03.000 --> 00:00:04.000\nmore\n"
	if got := cc.vtt(t, cc.student, "fr"); got != second {
		t.Errorf("after the editor's save\n%s\nwant\n%s", got, second)
	}
	got := versions(t, cc, "fr")
	if len(got) != 2 || got[0].Version != 2 || got[0].Source != "editor" || !got[0].Current ||
		got[1].Version != 1 || got[1].Source != "upload" || got[1].Current || got[1].Author == nil || got[1].Author.Name != cc.teacherName {
		t.Errorf("versions = %+v", got)
	}

	t.Run("EditorMistakesChangeNothing", func(t *testing.T) {
		for _, tc := range []struct {
			body any
			msg  string
		}{
			{editorCues("1000-900 backwards"), "cue 1 ends (00:00:00.900) before it starts (00:00:01.000)"},
			{map[string]any{"cues": []any{}}, "no cues to save: to remove these captions, delete them"},
			{map[string]any{"cues": []any{map[string]any{"start_ms": 0, "end_ms": 1, "text": "a", "vtt": "a"}}}, "cue 1: send text or vtt, not both"},
			{map[string]any{"cues": []any{map[string]any{"start_ms": 0, "text": "a"}}}, "cue 1: start_ms and end_ms are required"},
			{map[string]any{"cues": "none"}, `field "cues" must be an array, not string`},
		} {
			if msg := cc.teacher.do(t, "PUT", cc.path("fr"), tc.body).wantError(http.StatusBadRequest, lectern.EINVALID); msg != tc.msg {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
		}
		if got := versions(t, cc, "fr"); len(got) != 2 {
			t.Errorf("refused saves made versions: %+v", got)
		}
	})
	t.Run("Restore", func(t *testing.T) {
		cc.student.do(t, "POST", cc.path("fr", "/versions/1/restore"), nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		cc.student.do(t, "GET", cc.path("fr", "/versions"), nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
		cc.teacher.do(t, "POST", cc.path("fr", "/versions/9/restore"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		cc.teacher.do(t, "POST", cc.path("fr", "/versions/one/restore"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		cc.teacher.do(t, "POST", cc.path("fr", "/versions/1/restore"), nil).want(http.StatusOK).decode(&tr)
		if tr.Version != 3 || tr.Cues != 1 {
			t.Errorf("after restore: %+v", tr)
		}
		if got := cc.vtt(t, cc.student, "fr"); got != "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nFirst <b>take</b>\n" {
			t.Errorf("after restoring version 1:\n%s", got)
		}
		wantCues(t, cc, "fr", []lectern.CaptionCue{{StartMS: 1000, EndMS: 2000, Text: "First take"}})
		got := versions(t, cc, "fr")
		if len(got) != 3 || got[0].Source != "restore" || got[0].RestoredFrom == nil || *got[0].RestoredFrom != 1 || !got[0].Current {
			t.Errorf("versions after restore = %+v", got)
		}
		// Version 2 is still there to go back to.
		cc.admin.do(t, "POST", cc.path("fr", "/versions/2/restore"), nil).want(http.StatusOK).decode(&tr)
		if tr.Version != 4 || cc.vtt(t, cc.teacher, "fr") != second {
			t.Errorf("restoring version 2 gives version %d:\n%s", tr.Version, cc.vtt(t, cc.teacher, "fr"))
		}
		// Restoring the current version changes nothing.
		cc.teacher.do(t, "POST", cc.path("fr", "/versions/4/restore"), nil).want(http.StatusOK).decode(&tr)
		if tr.Version != 4 || len(versions(t, cc, "fr")) != 4 {
			t.Errorf("restoring the current version made a new one: %+v", tr)
		}
	})
}

func testCaptionDelete(t *testing.T, cc *captionClass) {
	cc.upload(t, cc.teacher, "de", "", []byte("1\n00:00:01,000 --> 00:00:02,000\nHallo\n")).want(http.StatusCreated)
	cc.upload(t, cc.teacher, "de", "", []byte("1\n00:00:01,000 --> 00:00:02,000\nHallo Welt\n")).want(http.StatusOK)
	cc.upload(t, cc.teacher, "de-CH", "", []byte("1\n00:00:01,000 --> 00:00:02,000\nGrüezi\n")).want(http.StatusCreated)
	cc.student.do(t, "DELETE", cc.path("de"), nil).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
	cc.teacher.do(t, "DELETE", cc.path("de"), nil).want(http.StatusNoContent)
	cc.teacher.do(t, "GET", cc.path("de"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	cc.teacher.do(t, "GET", cc.path("de", "/versions"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	cc.teacher.do(t, "DELETE", cc.path("de"), nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	if keys := storedKeys(t, cc.ts.Store, lectern.CaptionPrefix(cc.lessonID, "de")); len(keys) != 0 {
		t.Errorf("objects left after delete: %v", keys)
	}
	wantCues(t, cc, "de", []lectern.CaptionCue{})
	if got := cc.vtt(t, cc.student, "de-CH"); !strings.Contains(got, "Grüezi") {
		t.Errorf("deleting de took de-CH with it: %q", got)
	}
	// Deleting the lesson, then emptying the trash, takes every caption
	// object with it.
	cc.teacher.do(t, "DELETE", "/api/v1/lessons/"+cc.lessonID, nil).want(http.StatusNoContent)
	cc.admin.do(t, "DELETE", "/api/v1/trash/lessons/"+cc.lessonID, nil).want(http.StatusNoContent)
	if keys := storedKeys(t, cc.ts.Store, lectern.LessonPrefix(cc.lessonID)); len(keys) != 0 {
		t.Errorf("objects left after deleting the lesson: %v", keys)
	}
}

// TestCaptionAccess checks who may do what: members read, the course's
// teachers and admins write, students get 403 on writes, and everyone else
// 404, whatever the route.
func TestCaptionAccess(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		cc := newCaptionClass(t, fx)
		file := []byte("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
		cc.upload(t, cc.teacher, "en", "", file).want(http.StatusCreated)
		outsiderFile := []byte("1\n00:00:01,000 --> 00:00:02,000\nsomeone else's\n")
		cc.outsider.do(t, "PUT", "/api/v1/lessons/"+cc.otherLessonID+"/captions/en", outsiderFile,
			"Content-Type", "text/plain").want(http.StatusCreated)

		routes := []struct{ method, path string }{
			{"GET", ""}, {"GET", "/en"}, {"GET", "/en?format=txt"}, {"GET", "/en?format=json"},
			{"PUT", "/en"}, {"PATCH", "/en"}, {"DELETE", "/en"}, {"GET", "/en/versions"}, {"POST", "/en/versions/1/restore"},
		}
		body := func(method string) any {
			switch method {
			case "PUT":
				return file
			case "PATCH":
				return map[string]any{"label": "Mine now"}
			}
			return nil
		}
		t.Run("OtherCourseGets404", func(t *testing.T) {
			for _, r := range routes {
				// The outsider teaches another course; the student and the
				// teacher of this one try the other course's lesson.
				cc.outsider.do(t, r.method, cc.path("")+r.path, body(r.method)).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				for _, c := range []*client{cc.student, cc.teacher} {
					c.do(t, r.method, "/api/v1/lessons/"+cc.otherLessonID+"/captions"+r.path, body(r.method)).
						wantError(http.StatusNotFound, lectern.ENOTFOUND)
				}
				cc.anonymous.do(t, r.method, cc.path("")+r.path, body(r.method)).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
			}
		})
		t.Run("StudentsCannotWrite", func(t *testing.T) {
			for _, r := range routes {
				if r.method == "GET" && !strings.Contains(r.path, "versions") {
					cc.student.do(t, r.method, cc.path("")+r.path, nil).want(http.StatusOK)
					continue
				}
				cc.student.do(t, r.method, cc.path("")+r.path, body(r.method)).wantError(http.StatusForbidden, lectern.EFORBIDDEN)
			}
			if got := cc.vtt(t, cc.teacher, "en"); !strings.Contains(got, "hello") {
				t.Errorf("students changed the captions: %q", got)
			}
			other, _ := fx.DB.FindCaptionTrack(context.Background(), cc.otherLessonID, "en")
			if other == nil || other.Version != 1 || other.Label != "English" {
				t.Errorf("the other course's track changed: %+v", other)
			}
		})
		t.Run("DraftsOnlyForTeachers", func(t *testing.T) {
			cc.upload(t, cc.teacher, "es", "?status=draft", []byte("1\n00:00:01,000 --> 00:00:02,000\nhola\n")).want(http.StatusCreated)
			langs := func(c *client) []string {
				var out []string
				for _, tr := range cc.list(t, c) {
					out = append(out, tr.Lang+":"+tr.Status)
				}
				return out
			}
			if got := langs(cc.student); !cmp.Equal(got, []string{"en:published"}) {
				t.Errorf("student sees %v", got)
			}
			if got := langs(cc.teacher); !cmp.Equal(got, []string{"en:published", "es:draft"}) {
				t.Errorf("teacher sees %v", got)
			}
			if got := langs(cc.admin); !cmp.Equal(got, []string{"en:published", "es:draft"}) {
				t.Errorf("admin sees %v", got)
			}
			for _, q := range []string{"", "?format=txt", "?format=json"} {
				cc.student.do(t, "GET", cc.path("es")+q, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
			cc.vtt(t, cc.teacher, "es")
			cc.teacher.do(t, "PATCH", cc.path("es"), map[string]any{"status": "published"}).want(http.StatusOK)
			if got := cc.vtt(t, cc.student, "es"); !strings.Contains(got, "hola") {
				t.Errorf("published draft: %q", got)
			}
		})
	})
}

func TestCaptionTrackSettings(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		cc := newCaptionClass(t, fx)
		file := []byte("1\n00:00:01,000 --> 00:00:02,000\nx\n")
		var tr trackJSON
		r := cc.upload(t, cc.teacher, "en", "?default=true", file).want(http.StatusCreated)
		if !strings.Contains(string(r.Body), `"warnings":[]`) {
			t.Errorf("a clean upload's answer lacks an empty warnings list: %s", r.Body)
		}
		// The body decides what it is, not the Content-Type (this one says JSON).
		cc.teacher.do(t, "PUT", cc.path("zh-hant-tw"), file, "Content-Type", "application/json").want(http.StatusCreated)
		cc.upload(t, cc.teacher, "fr", "?default=true&label=Fran%C3%A7ais", file).want(http.StatusCreated)
		defaults := func() map[string]bool {
			m := map[string]bool{}
			for _, tr := range cc.list(t, cc.student) {
				m[tr.Lang] = tr.Default
			}
			return m
		}
		if got := defaults(); !cmp.Equal(got, map[string]bool{"en": false, "fr": true, "zh-Hant-TW": false}) {
			t.Errorf("defaults after uploads = %v", got)
		}
		cc.teacher.do(t, "PATCH", cc.path("zh-Hant-TW"), map[string]any{"default": true}).want(http.StatusOK).decode(&tr)
		if !tr.Default || tr.Label != "繁體中文 (台灣)" {
			t.Errorf("PATCH answer %+v", tr)
		}
		if got := defaults(); !cmp.Equal(got, map[string]bool{"en": false, "fr": false, "zh-Hant-TW": true}) {
			t.Errorf("defaults after PATCH = %v", got)
		}
		// Replacing a track keeps its label and flag unless told otherwise.
		cc.upload(t, cc.teacher, "zh-Hant-TW", "", file).want(http.StatusOK).decode(&tr)
		if !tr.Default || tr.Version != 2 {
			t.Errorf("replaced track %+v", tr)
		}
		for body, want := range map[string]string{
			`{"status":"draft","default":true}`: "a draft cannot be the default track: publish it first",
			`{"label":"x\"y"}`:                  `label cannot contain a double quote (")`,
			`{"status":"secret"}`:               "status must be published or draft",
			`{}`:                                "nothing to change: send a label, default or status",
		} {
			if msg := cc.teacher.do(t, "PATCH", cc.path("zh-Hant-TW"), body).wantError(http.StatusBadRequest, lectern.EINVALID); msg != want {
				t.Errorf("PATCH %s: %q, want %q", body, msg, want)
			}
		}
		if got := defaults(); !got["zh-Hant-TW"] {
			t.Errorf("refused PATCHes changed the default: %v", got)
		}
		// Making the default a draft takes the flag away; an empty label
		// goes back to the language's name.
		cc.teacher.do(t, "PATCH", cc.path("zh-Hant-TW"), map[string]any{"status": "draft"}).want(http.StatusOK).decode(&tr)
		if tr.Default || tr.Status != "draft" {
			t.Errorf("default made a draft: %+v", tr)
		}
		cc.teacher.do(t, "PATCH", cc.path("fr"), map[string]any{"label": ""}).want(http.StatusOK).decode(&tr)
		if tr.Label != "Français" {
			t.Errorf("label reset to %q", tr.Label)
		}
		cc.teacher.do(t, "PATCH", cc.path("xx"), map[string]any{"label": "x"}).wantError(http.StatusBadRequest, lectern.EINVALID)
		cc.teacher.do(t, "PATCH", cc.path("de"), map[string]any{"label": "x"}).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	})
}

// srtTime writes ms as a SubRip timestamp.
func srtTime(ms int64) string {
	return fmt.Sprintf("%02d:%02d:%02d,%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

// TestCaptionSizeLimit checks that a caption upload may be larger than the
// API's 1 MiB JSON limit, as a file or as the editor's JSON.
func TestCaptionSizeLimit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		cc := newCaptionClass(t, fx)
		var file strings.Builder
		n := 0
		for ; file.Len() < 1<<20+100_000; n++ {
			ms := int64(n) * 2
			fmt.Fprintf(&file, "%d\n%s --> %s\n%s %d\n\n", n+1, srtTime(ms), srtTime(ms+1), strings.Repeat("word ", 10), n)
		}
		var cues []string
		for i := range 15_000 {
			cues = append(cues, fmt.Sprintf("%d-%d %s %d", i*2, i*2+1, strings.Repeat("word ", 15), i))
		}
		var tr trackJSON
		cc.upload(t, cc.teacher, "en", "", []byte(file.String())).want(http.StatusCreated).decode(&tr)
		if tr.Cues != n {
			t.Errorf("a %d-byte file of %d cues gave %d", file.Len(), n, tr.Cues)
		}
		cc.teacher.do(t, "PUT", cc.path("en"), editorCues(cues...)).want(http.StatusOK).decode(&tr)
		if tr.Version != 2 || tr.Cues != len(cues) {
			t.Errorf("editor save of %d cues: %+v", len(cues), tr)
		}
	})
}
