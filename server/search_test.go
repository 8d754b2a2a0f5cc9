package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// searchHit is a hit as the search API returns it.
type searchHit struct {
	LessonID    string `json:"lesson_id"`
	LessonTitle string `json:"lesson_title"`
	CourseID    string `json:"course_id"`
	CourseTitle string `json:"course_title"`
	Kind        string `json:"kind"`
	AtMS        int64  `json:"at_ms"`
	Lang        string `json:"lang"`
	Snippet     []struct {
		Text  string `json:"text"`
		Match bool   `json:"match"`
	} `json:"snippet"`
	URL string `json:"url"`
}

type searchPage struct {
	Hits       []searchHit `json:"hits"`
	NextCursor *string     `json:"next_cursor"`
}

// searchAs runs a search that must answer 200.
func searchAs(t *testing.T, c *client, q string, extra ...string) searchPage {
	t.Helper()
	v := url.Values{"q": {q}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	var page searchPage
	c.do(t, "GET", "/api/v1/search?"+v.Encode(), nil).want(http.StatusOK).decode(&page)
	return page
}

// kinds says each hit as "kind@ms".
func kinds(p searchPage) []string {
	out := []string{}
	for _, h := range p.Hits {
		out = append(out, fmt.Sprintf("%s@%d", h.Kind, h.AtMS))
	}
	return out
}

const searchSRT = "1\n00:00:01,500 --> 00:00:04,000\nFront vowels keep the tongue forward\n\n" +
	"2\n00:00:30,000 --> 00:00:33,000\nBack vowels pull it back\n"

func TestSearchAPI(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		cc := newCaptionClass(t, fx)
		cc.upload(t, cc.teacher, "en", "", []byte(searchSRT)).want(http.StatusCreated)

		t.Run("CaptionHit", func(t *testing.T) {
			page := searchAs(t, cc.student, "TONGUE")
			if len(page.Hits) != 1 {
				t.Fatalf("hits = %+v, want one", page.Hits)
			}
			h := page.Hits[0]
			if h.Kind != "caption" || h.AtMS != 1500 || h.Lang != "en" || h.LessonID != cc.lessonID ||
				h.LessonTitle != "Vowels: front & back" || h.CourseID != cc.courseID || h.CourseTitle != "Phonetics" {
				t.Errorf("hit = %+v", h)
			}
			if want := "/watch/" + cc.lessonID + "?t=1"; h.URL != want {
				t.Errorf("url = %q, want %q", h.URL, want)
			}
			var marked, text []string
			for _, p := range h.Snippet {
				text = append(text, p.Text)
				if p.Match {
					marked = append(marked, p.Text)
				}
			}
			if diff := cmp.Diff([]string{"tongue"}, marked); diff != "" {
				t.Errorf("marked (-want +got):\n%s", diff)
			}
			if got := strings.Join(text, ""); got != "Front vowels keep the tongue forward" {
				t.Errorf("snippet text = %q", got)
			}
			if page.NextCursor != nil {
				t.Errorf("next_cursor = %q on the only page", *page.NextCursor)
			}
		})

		t.Run("TitleFirstAndLinksToTheLesson", func(t *testing.T) {
			page := searchAs(t, cc.student, "vowels")
			got := kinds(page)
			// Of the two cues, bm25 prefers the shorter; ts_rank_cd ranks
			// them alike and time decides. The title comes first on both.
			if len(got) == 3 {
				sort.Strings(got[1:])
			}
			if diff := cmp.Diff([]string{"title@0", "caption@1500", "caption@30000"}, got); diff != "" {
				t.Fatalf("vowels (-want +got):\n%s", diff)
			}
			if want := "/watch/" + cc.lessonID; page.Hits[0].URL != want {
				t.Errorf("title hit url = %q, want %q", page.Hits[0].URL, want)
			}
		})

		t.Run("Pages", func(t *testing.T) {
			all := kinds(searchAs(t, cc.student, "vowels"))
			first := searchAs(t, cc.student, "vowels", "limit", "2")
			if len(first.Hits) != 2 || first.NextCursor == nil {
				t.Fatalf("first page: %v, next %v", kinds(first), first.NextCursor)
			}
			second := searchAs(t, cc.student, "vowels", "limit", "2", "cursor", *first.NextCursor)
			if diff := cmp.Diff(all, append(kinds(first), kinds(second)...)); diff != "" || second.NextCursor != nil {
				t.Errorf("two pages (-one page +two pages):\n%s next %v", diff, second.NextCursor)
			}
		})

		t.Run("Refused", func(t *testing.T) {
			for _, q := range []string{
				"/api/v1/search",
				"/api/v1/search?q=",
				"/api/v1/search?q=%20%20",
				"/api/v1/search?q=" + strings.Repeat("a", lectern.MaxSearchQuery+1),
				"/api/v1/search?q=x&limit=0",
				"/api/v1/search?q=x&limit=51",
				"/api/v1/search?q=x&limit=ten",
				"/api/v1/search?q=x&cursor=nonsense",
			} {
				cc.student.do(t, "GET", q, nil).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
			cc.anonymous.do(t, "GET", "/api/v1/search?q=vowels", nil).wantError(http.StatusUnauthorized, lectern.EUNAUTHORIZED)
		})

		t.Run("QuerySyntaxNeverFails", func(t *testing.T) {
			for _, q := range []string{`"`, `tongue"`, `NEAR(tongue back)`, `caption:tongue`, `tongue*`, `*`, `(`, `-`, `AND OR NOT`,
				`'; DROP TABLE lessons; --`, `\'`, `{scope}:x`, `!! & | <-> :*`, "a\x00b"} {
				searchAs(t, cc.student, q)
			}
			if page := searchAs(t, cc.student, `"tongue forward" -back`); len(page.Hits) != 1 {
				t.Errorf(`"tongue forward" -back: %v, want the first cue`, kinds(page))
			}
		})

		t.Run("OtherCoursesStayHidden", func(t *testing.T) {
			if page := searchAs(t, cc.outsider, "tongue"); len(page.Hits) != 0 {
				t.Errorf("a teacher of another course finds %v", kinds(page))
			}
			cc.outsider.do(t, "GET", "/api/v1/search?q=tongue&course_id="+cc.courseID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			cc.student.do(t, "GET", "/api/v1/search?q=other&course_id=nosuchcourse", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if page := searchAs(t, cc.admin, "tongue", "course_id", cc.courseID); len(page.Hits) != 1 {
				t.Errorf("an admin searching the course finds %v, want the cue", kinds(page))
			}
		})

		t.Run("DraftsAndEntries", func(t *testing.T) {
			cc.upload(t, cc.teacher, "fr", "?status=draft", []byte("1\n00:00:02,000 --> 00:00:03,000\nVoyelles antérieures\n")).want(http.StatusCreated)
			if page := searchAs(t, cc.student, "voyelles"); len(page.Hits) != 0 {
				t.Errorf("a student finds a draft track: %v", kinds(page))
			}
			if page := searchAs(t, cc.teacher, "voyelles"); len(page.Hits) != 1 {
				t.Errorf("the teacher does not find the draft: %v", kinds(page))
			}
			var q struct {
				ID string `json:"id"`
			}
			cc.student.do(t, "POST", cc.commentsPath(), map[string]any{"at_ms": 31000, "body": "Is the uvula involved?",
				"kind": "question", "visibility": "teachers"}).want(http.StatusCreated).decode(&q)
			if page := searchAs(t, cc.teacher, "uvula"); len(page.Hits) != 1 || page.Hits[0].Kind != "question" ||
				page.Hits[0].URL != "/watch/"+cc.lessonID+"?t=31" {
				t.Errorf("the teacher's search for the question: %+v", page.Hits)
			}
			cc.student.do(t, "PATCH", "/api/v1/comments/"+q.ID, map[string]string{"body": "Is the velum involved?"}).want(http.StatusOK)
			if page := searchAs(t, cc.teacher, "uvula"); len(page.Hits) != 0 {
				t.Errorf("the old wording is still found: %v", kinds(page))
			}
			if page := searchAs(t, cc.student, "velum"); len(page.Hits) != 1 {
				t.Errorf("the asker does not find the edited question: %v", kinds(page))
			}
			cc.student.do(t, "DELETE", "/api/v1/comments/"+q.ID, nil).want(http.StatusNoContent)
			if page := searchAs(t, cc.teacher, "velum"); len(page.Hits) != 0 {
				t.Errorf("a deleted question is found: %v", kinds(page))
			}
		})

		t.Run("ChangesShowAtOnce", func(t *testing.T) {
			cc.upload(t, cc.teacher, "en", "", []byte("1\n00:00:05,000 --> 00:00:06,000\nDiphthongs glide\n")).want(http.StatusOK)
			if page := searchAs(t, cc.student, "tongue"); len(page.Hits) != 0 {
				t.Errorf("replaced captions still found: %v", kinds(page))
			}
			if page := searchAs(t, cc.student, "diphthongs"); len(page.Hits) != 1 {
				t.Errorf("new captions not found: %v", kinds(page))
			}
			cc.teacher.do(t, "PATCH", "/api/v1/lessons/"+cc.lessonID, map[string]string{"title": "Glides"}).want(http.StatusOK)
			if page := searchAs(t, cc.student, "glides"); len(page.Hits) != 1 || page.Hits[0].Kind != "title" {
				t.Errorf("the new title: %v", kinds(page))
			}
			cc.teacher.do(t, "DELETE", cc.path("en"), nil).want(http.StatusNoContent)
			if page := searchAs(t, cc.student, "diphthongs"); len(page.Hits) != 0 {
				t.Errorf("deleted captions still found: %v", kinds(page))
			}
		})
	})
}

func (cc *captionClass) commentsPath() string { return "/api/v1/lessons/" + cc.lessonID + "/comments" }

func TestSearchPages(t *testing.T) {
	ts := pageServer(t)
	_, tc := ts.loginNew(t, lectern.RoleTeacher)
	course := createCourse(t, tc, "Acoustics <b>")
	_, outsider := ts.loginNew(t, lectern.RoleTeacher)

	page := string(tc.do(t, "GET", "/search?q="+url.QueryEscape(`"waves" <script>`)+"&course_id="+course.ID, nil).want(http.StatusOK).Body)
	for _, want := range []string{
		`<form class="card search-form" action="/search" method="get" role="search" aria-label="Search terms">`,
		`value="&#34;waves&#34; &lt;script&gt;"`,
		`<input type="hidden" name="course_id" value="` + course.ID + `">`,
		`Search Acoustics &lt;b&gt;`,
		`id="top-search"`,
		`src="/static/js/search.js?v=`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("search page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("search page has an inline script or unescaped query")
	}
	outsider.do(t, "GET", "/search?q=waves&course_id="+course.ID, nil).want(http.StatusNotFound)
	if page := string(tc.do(t, "GET", "/search", nil).want(http.StatusOK).Body); !strings.Contains(page, "Search my courses") {
		t.Errorf("search page without a course does not say it searches all of mine")
	}

	coursePage := string(tc.do(t, "GET", "/courses/"+course.ID, nil).want(http.StatusOK).Body)
	for _, want := range []string{`role="search" aria-label="Search this course"`, `name="course_id" value="` + course.ID + `"`, `id="course-search-q"`} {
		if !strings.Contains(coursePage, want) {
			t.Errorf("course page lacks %q", want)
		}
	}
	if login := string(ts.client(t).do(t, "GET", "/login", nil).want(http.StatusOK).Body); strings.Contains(login, `id="top-search"`) {
		t.Errorf("the login page shows the search field to someone logged out")
	}
}
