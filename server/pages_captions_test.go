package server_test

import (
	"encoding/json"
	"html"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// captionsPageData is the caption editor's page-data, as captions.js reads it.
type captionsPageData struct {
	LessonID   string `json:"lesson_id"`
	CourseID   string `json:"course_id"`
	DurationMS int64  `json:"duration_ms"`
	Lesson     struct {
		ID       string `json:"id"`
		Playable bool   `json:"playable"`
	} `json:"lesson"`
	Tracks []trackJSON `json:"tracks"`
	Lang   string      `json:"lang"`
	Cues   []struct {
		StartMS int64  `json:"start_ms"`
		EndMS   int64  `json:"end_ms"`
		Text    string `json:"text"`
		VTT     string `json:"vtt"`
	} `json:"cues"`
}

// captionsPage gets the caption editor as c and decodes its page-data.
func (cc *captionClass) captionsPage(t *testing.T, c *client, query string) (string, captionsPageData) {
	t.Helper()
	r := c.do(t, "GET", "/lessons/"+cc.lessonID+"/captions"+query, nil).want(http.StatusOK)
	body := string(r.Body)
	raw, err := json.Marshal(pageData(t, body))
	if err != nil {
		t.Fatal(err)
	}
	var d captionsPageData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("page-data %s: %v", raw, err)
	}
	return body, d
}

func TestCaptionsPage(t *testing.T) {
	t.Parallel()
	cc := newCaptionClass(t, openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db")))

	t.Run("NoCaptionsYet", func(t *testing.T) {
		body, d := cc.captionsPage(t, cc.teacher, "")
		for _, want := range []string{`/static/js/caption_editor_page.js?v=`, `/static/vendor/hls.min.js?v=`, `id="video"`, `id="cue-list"`, `id="new-lang-form"`} {
			if !strings.Contains(body, want) {
				t.Errorf("caption editor lacks %s", want)
			}
		}
		if d.LessonID != cc.lessonID || d.CourseID != cc.courseID || d.Lesson.ID != cc.lessonID || d.DurationMS != captionLessonMS {
			t.Errorf("page-data names lesson %q (%q) of course %q, %d ms; want %q of %q, %d ms",
				d.LessonID, d.Lesson.ID, d.CourseID, d.DurationMS, cc.lessonID, cc.courseID, captionLessonMS)
		}
		if d.Tracks == nil || len(d.Tracks) != 0 || d.Lang != "" || d.Cues == nil || len(d.Cues) != 0 {
			t.Errorf("page-data without captions: tracks %v, lang %q, cues %v; want [], \"\", []", d.Tracks, d.Lang, d.Cues)
		}
	})

	cc.upload(t, cc.teacher, "en", "", []byte("1\n00:00:01,000 --> 00:00:02,000\nOne <i>two</i>\n")).want(http.StatusCreated)
	cc.upload(t, cc.teacher, "fr", "?default=true", []byte("1\n00:00:03,000 --> 00:00:04,500\nCafé <script>alert(1)</script> & crème\n")).want(http.StatusCreated)
	cc.upload(t, cc.teacher, "de", "?status=draft", []byte("1\n00:00:05,000 --> 00:00:06,000\nEntwurf\n")).want(http.StatusCreated)

	t.Run("OpensTheDefaultTrackWithItsCues", func(t *testing.T) {
		body, d := cc.captionsPage(t, cc.teacher, "")
		var langs []string
		for _, tr := range d.Tracks {
			langs = append(langs, tr.Lang+"/"+tr.Status)
		}
		if diff := cmp.Diff([]string{"de/draft", "en/published", "fr/published"}, langs); diff != "" {
			t.Errorf("tracks (drafts included) (-want +got):\n%s", diff)
		}
		if d.Lang != "fr" || len(d.Cues) != 1 {
			t.Fatalf("page opens %q with %d cues, want the default track fr with 1", d.Lang, len(d.Cues))
		}
		c := d.Cues[0]
		if c.StartMS != 3000 || c.EndMS != 4500 || c.Text != "Café alert(1) & crème" || c.VTT != "Café alert(1) &amp; crème" {
			t.Errorf("cue = %+v, want 3000–4500 with the text as the API gives it", c)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(html.UnescapeString(body), "<script>alert") {
			t.Errorf("cue text reached the page as markup")
		}
	})
	t.Run("LangPicksTheTrack", func(t *testing.T) {
		for query, want := range map[string]string{"?lang=EN": "en", "?lang=de": "de", "?lang=xx": "fr", "?lang=it": "fr", "?lang=%22%3E": "fr"} {
			_, d := cc.captionsPage(t, cc.teacher, query)
			if d.Lang != want {
				t.Errorf("%s opens %q, want %q", query, d.Lang, want)
			}
		}
		_, d := cc.captionsPage(t, cc.teacher, "?lang=en")
		if len(d.Cues) != 1 || d.Cues[0].Text != "One two" || d.Cues[0].VTT != "One <i>two</i>" {
			t.Errorf("en cues = %+v, want the one English cue with its italics in vtt", d.Cues)
		}
	})
	t.Run("AdminGetsTheEditor", func(t *testing.T) {
		_, d := cc.captionsPage(t, cc.admin, "")
		if d.Lang != "fr" || len(d.Tracks) != 3 {
			t.Errorf("admin's editor opens %q with %d tracks, want fr with 3", d.Lang, len(d.Tracks))
		}
	})
	t.Run("StudentGets403Page", func(t *testing.T) {
		r := cc.student.do(t, "GET", "/lessons/"+cc.lessonID+"/captions", nil).want(http.StatusForbidden)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.Body), "Only the course&#39;s teachers may edit its captions.") {
			t.Errorf("student gets %s: %s", ct, r.Body)
		}
		if strings.Contains(string(r.Body), "Entwurf") || strings.Contains(string(r.Body), "page-data") {
			t.Errorf("the refusal shows caption data")
		}
	})
	t.Run("OutsiderGets404Page", func(t *testing.T) {
		r := cc.outsider.do(t, "GET", "/lessons/"+cc.lessonID+"/captions", nil).want(http.StatusNotFound)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want an HTML page", ct)
		}
		cc.teacher.do(t, "GET", "/lessons/"+cc.otherLessonID+"/captions", nil).want(http.StatusNotFound)
		cc.teacher.do(t, "GET", "/lessons/nope/captions", nil).want(http.StatusNotFound)
	})
	t.Run("LoggedOutGoesToLogin", func(t *testing.T) {
		r := cc.anonymous.noRedirects().do(t, "GET", "/lessons/"+cc.lessonID+"/captions?lang=fr", nil).want(http.StatusSeeOther)
		if got, want := r.Header.Get("Location"), "/login?next=%2Flessons%2F"+cc.lessonID+"%2Fcaptions%3Flang%3Dfr"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
	t.Run("TeachersFindTheEditor", func(t *testing.T) {
		link := `href="/lessons/` + cc.lessonID + `/captions"`
		if body := string(cc.teacher.do(t, "GET", "/lessons/"+cc.lessonID+"/upload", nil).want(http.StatusOK).Body); !strings.Contains(body, link) {
			t.Errorf("upload page does not link the caption editor")
		}
		if body := string(cc.teacher.do(t, "GET", "/courses/"+cc.courseID, nil).want(http.StatusOK).Body); !strings.Contains(body, link) {
			t.Errorf("teacher's course page does not link the caption editor")
		}
		if body := string(cc.student.do(t, "GET", "/courses/"+cc.courseID, nil).want(http.StatusOK).Body); strings.Contains(body, link) {
			t.Errorf("student's course page links the caption editor")
		}
	})
}
