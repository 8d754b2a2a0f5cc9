package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
)

// forEachDBAt is forEachDB with the schema at version rather than the
// latest: for a test that stores rows as an older release did.
func forEachDBAt(t *testing.T, version int64, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	open := func(t *testing.T, url string) *db.DB {
		d, err := db.Open(context.Background(), url, newFakeClock())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		if err := d.MigrateTo(context.Background(), version); err != nil {
			t.Fatalf("MigrateTo(%d): %v", version, err)
		}
		return d
	}
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, filepath.Join(t.TempDir(), "lectern.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, open(t, testenv.PostgresURL(t))) })
}

// searchWorld is a small school: course A taught by teacher with students
// ann and bob, course B taught by other with student cid, and an admin
// who belongs to neither.
type searchWorld struct {
	d                                *db.DB
	teacher, ann, bob, other, cid    *lectern.User
	admin                            *lectern.User
	a, b                             *lectern.Course
	photo, cell, algae               *lectern.Lesson
	annNote, annSecret, deletedEntry *lectern.Comment
}

func setupSearch(t *testing.T, d *db.DB) *searchWorld {
	t.Helper()
	ctx := context.Background()
	w := &searchWorld{d: d}
	w.teacher = newNamedUser(t, d, lectern.RoleTeacher, "Tess")
	w.other = newNamedUser(t, d, lectern.RoleTeacher, "Otto")
	w.ann = newNamedUser(t, d, lectern.RoleStudent, "Ann")
	w.bob = newNamedUser(t, d, lectern.RoleStudent, "Bob")
	w.cid = newNamedUser(t, d, lectern.RoleStudent, "Cid")
	w.admin = newNamedUser(t, d, lectern.RoleAdmin, "Ada")
	w.a = newCourse(t, d, w.teacher)
	w.b = newCourse(t, d, w.other)
	join(t, d, w.a, w.ann)
	join(t, d, w.a, w.bob)
	join(t, d, w.b, w.cid)

	w.photo = searchLesson(t, d, w.a, "Photosynthesis basics", "How plants make sugar from light")
	w.cell = searchLesson(t, d, w.a, "Cell structure", "")
	w.algae = searchLesson(t, d, w.b, "Photosynthesis in algae", "Green water")

	mustSave(t, d, captionSave(w.cell, "en", "a", w.teacher,
		"Welcome to the cell lesson",
		"Chlorophyll absorbs light in the chloroplast",
		"This is where photosynthesis happens, but more on that later"))
	draft := captionSave(w.cell, "fr", "b", w.teacher, "un brouillon secret")
	status := lectern.CaptionDraft
	draft.Status = &status
	mustSave(t, d, draft)
	if _, err := d.SetChapters(ctx, w.photo.ID, []lectern.Chapter{{StartMS: 0, Title: "Introduction"}, {StartMS: 60000, Title: "The Calvin cycle"}}); err != nil {
		t.Fatalf("SetChapters: %v", err)
	}

	post := func(u *lectern.User, l *lectern.Lesson, kind lectern.CommentKind, vis lectern.Visibility, at int64, body string) *lectern.Comment {
		t.Helper()
		c := &lectern.Comment{LessonID: l.ID, Kind: kind, Visibility: vis, AtMS: at, Body: body}
		if err := d.CreateComment(ctx, c, u); err != nil {
			t.Fatalf("CreateComment(%q): %v", body, err)
		}
		return c
	}
	post(w.ann, w.photo, lectern.KindComment, lectern.VisibilityClass, 5000, "The stomata picture helped a lot")
	w.annSecret = post(w.ann, w.photo, lectern.KindQuestion, lectern.VisibilityTeachers, 7000, "Why does xylem carry water upward?")
	w.annNote = post(w.ann, w.photo, lectern.KindNote, lectern.VisibilityPrivate, 9000, "Remember the glucose formula")
	post(w.bob, w.photo, lectern.KindQuestion, lectern.VisibilityClass, 11000, "What about chemiosmosis?")
	w.deletedEntry = post(w.bob, w.photo, lectern.KindComment, lectern.VisibilityClass, 12000, "Quokkas are unrelated")
	if _, err := d.DeleteComment(ctx, w.deletedEntry.ID, w.bob); err != nil {
		t.Fatalf("DeleteComment: %v", err)
	}
	return w
}

// searchLesson creates a lesson with a known duration, so that it takes
// comments.
func searchLesson(t *testing.T, d *db.DB, c *lectern.Course, title, description string) *lectern.Lesson {
	t.Helper()
	l := &lectern.Lesson{CourseID: c.ID, Title: title, Description: description, PublishedAt: new(time.Unix(0, 0))}
	if err := d.CreateLesson(context.Background(), l); err != nil {
		t.Fatalf("CreateLesson: %v", err)
	}
	dur := int64(3600_000)
	if _, err := d.UpdateLesson(context.Background(), l.ID, lectern.LessonUpdate{DurationMS: &dur}); err != nil {
		t.Fatalf("UpdateLesson: %v", err)
	}
	return l
}

// search runs a search that must succeed.
func search(t *testing.T, d *db.DB, u *lectern.User, q, courseID string) []*lectern.SearchHit {
	t.Helper()
	hits, _, err := d.Search(context.Background(), u, db.SearchFilter{Query: q, CourseID: courseID})
	if err != nil {
		t.Fatalf("Search(%q) as %s: %v", q, u.Name, err)
	}
	return hits
}

// hitKey is a hit in a few words, for comparisons.
func hitKey(h *lectern.SearchHit) string {
	return fmt.Sprintf("%s %s@%d", h.LessonTitle, h.Kind, h.AtMS)
}

func hitKeys(hits []*lectern.SearchHit) []string {
	keys := []string{}
	for _, h := range hits {
		keys = append(keys, hitKey(h))
	}
	return keys
}

// marked returns the snippet's marked words.
func marked(h *lectern.SearchHit) []string {
	var words []string
	for _, p := range h.Snippet {
		if p.Match {
			words = append(words, p.Text)
		}
	}
	return words
}

func snippetText(h *lectern.SearchHit) string {
	var b strings.Builder
	for _, p := range h.Snippet {
		b.WriteString(p.Text)
	}
	return b.String()
}

func TestSearch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		w := setupSearch(t, d)

		t.Run("EachKind", func(t *testing.T) {
			for _, tc := range []struct {
				q, want, lang, mark string
			}{
				{"basics", "Photosynthesis basics title@0", "", "basics"},
				{"SUGAR", "Photosynthesis basics description@0", "", "sugar"},
				{"calvin", "Photosynthesis basics chapter@60000", "", "Calvin"},
				{"chlorophyll", "Cell structure caption@2000", "en", "Chlorophyll"},
				{"stomata", "Photosynthesis basics comment@5000", "", "stomata"},
				{"chemiosmosis", "Photosynthesis basics question@11000", "", "chemiosmosis"},
				{"glucose", "Photosynthesis basics note@9000", "", "glucose"},
			} {
				hits := search(t, d, w.ann, tc.q, "")
				if diff := cmp.Diff([]string{tc.want}, hitKeys(hits)); diff != "" {
					t.Errorf("%q (-want +got):\n%s", tc.q, diff)
					continue
				}
				h := hits[0]
				if h.Lang != tc.lang || h.CourseID != w.a.ID || h.CourseTitle != w.a.Title {
					t.Errorf("%q: lang %q course %s %q, want %q in %s %q", tc.q, h.Lang, h.CourseID, h.CourseTitle, tc.lang, w.a.ID, w.a.Title)
				}
				if diff := cmp.Diff([]string{tc.mark}, marked(h)); diff != "" {
					t.Errorf("%q: marked words (-want +got):\n%s", tc.q, diff)
				}
			}
		})

		t.Run("SnippetIsTheText", func(t *testing.T) {
			hits := search(t, d, w.ann, "absorbs", "")
			want := []lectern.SnippetPart{{Text: "Chlorophyll "}, {Text: "absorbs", Match: true}, {Text: " light in the chloroplast"}}
			if len(hits) != 1 || !cmp.Equal(want, hits[0].Snippet) {
				t.Fatalf("absorbs: %v, want one hit with snippet %+v", hitKeys(hits), want)
			}
		})

		t.Run("TitleRanksFirst", func(t *testing.T) {
			got := hitKeys(search(t, d, w.ann, "photosynthesis", ""))
			want := []string{"Photosynthesis basics title@0", "Cell structure caption@4000"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("photosynthesis (-want +got):\n%s", diff)
			}
			// Even when the mention comes in an earlier lesson, in a short
			// cue that says it three times, and the title is long.
			early := searchLesson(t, d, w.a, "Early lesson", "")
			mustSave(t, d, captionSave(early, "en", "a", w.teacher, "Osmosis, osmosis, osmosis!"))
			searchLesson(t, d, w.a, "Osmosis and diffusion through the membranes of root cells", "")
			got = hitKeys(search(t, d, w.ann, "osmosis", ""))
			want = []string{"Osmosis and diffusion through the membranes of root cells title@0", "Early lesson caption@0"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("osmosis (-want +got):\n%s", diff)
			}
		})

		t.Run("Visibility", func(t *testing.T) {
			type who struct {
				u      *lectern.User
				course string
			}
			ann, bob, teacher, other, cid := who{w.ann, ""}, who{w.bob, ""}, who{w.teacher, ""}, who{w.other, ""}, who{w.cid, ""}
			admin, adminInA := who{w.admin, ""}, who{w.admin, w.a.ID}
			for _, tc := range []struct {
				what, q string
				sees    []who
				blind   []who
			}{
				{"a teachers-only question", "xylem", []who{ann, teacher, adminInA}, []who{bob, other, cid, admin}},
				{"a private note", "glucose", []who{ann}, []who{bob, teacher, other, adminInA}},
				{"a class question", "chemiosmosis", []who{ann, bob, teacher, adminInA}, []who{other, cid, admin}},
				{"a draft caption track", "brouillon", []who{teacher, adminInA}, []who{ann, bob, other, cid}},
				{"a deleted comment", "quokkas", nil, []who{ann, bob, teacher, adminInA}},
				{"another course's lesson", "algae", []who{cid, other}, []who{ann, bob, teacher, adminInA}},
				{"a lesson of my course", "basics", []who{ann, bob, teacher, adminInA}, []who{cid, other, admin}},
			} {
				for _, s := range tc.sees {
					if hits := search(t, d, s.u, tc.q, s.course); len(hits) != 1 {
						t.Errorf("%s (%q): %s in %q finds %v, want it", tc.what, tc.q, s.u.Name, s.course, hitKeys(hits))
					}
				}
				for _, s := range tc.blind {
					if hits := search(t, d, s.u, tc.q, s.course); len(hits) != 0 {
						t.Errorf("%s (%q): %s in %q finds %v, want nothing", tc.what, tc.q, s.u.Name, s.course, hitKeys(hits))
					}
				}
			}
		})

		t.Run("OtherCourseIs404", func(t *testing.T) {
			for _, id := range []string{w.b.ID, "nosuchcourse", "' OR 1=1 --"} {
				_, _, err := d.Search(context.Background(), w.ann, db.SearchFilter{Query: "photosynthesis", CourseID: id})
				wantCode(t, err, lectern.ENOTFOUND)
			}
			got := hitKeys(search(t, d, w.ann, "photosynthesis", w.a.ID))
			if len(got) != 2 {
				t.Errorf("photosynthesis in my course: %v, want 2 hits", got)
			}
			if got := search(t, d, w.cid, "photosynthesis", w.b.ID); len(got) != 1 || got[0].LessonID != w.algae.ID {
				t.Errorf("photosynthesis in course B as its student: %v, want the algae lesson", hitKeys(got))
			}
		})

		t.Run("QuerySyntax", func(t *testing.T) {
			for q, want := range map[string][]string{
				`"absorbs light"`:                  {"Cell structure caption@2000"},
				`"light absorbs"`:                  {},
				`chlorophyll chloroplast`:          {"Cell structure caption@2000"},
				`chlorophyll welcome`:              {},
				`chlorophyll or welcome`:           {"Cell structure caption@0", "Cell structure caption@2000"},
				`photosynthesis -later`:            {"Photosynthesis basics title@0"},
				`-photosynthesis`:                  {},
				`basics*`:                          {"Photosynthesis basics title@0"},
				`title:basics`:                     {},
				`scope:basics`:                     {},
				`cafe`:                             {},
				`NEAR(basics sugar)`:               {},
				`basics AND`:                       {},
				`"unterminated basics`:             {},
				`"basics`:                          {"Photosynthesis basics title@0"},
				`(basics)`:                         {"Photosynthesis basics title@0"},
				`{scope}: basics`:                  {},
				`{title}: basics`:                  {},
				`basics:*`:                         {"Photosynthesis basics title@0"},
				`"`:                                {},
				`*`:                                {},
				`- -- ---`:                         {},
				`' ; DROP TABLE lessons; --`:       {},
				`\ ^ & | ! <-> : ( ) [ ] { } OR`:   {},
				`or basics or`:                     {"Photosynthesis basics title@0"},
				"basics\x00\t\nsugar":              {},
				`Photosynthèse`:                    {},
				`PHOTOSYNTHESIS BASICS "basics"`:   {"Photosynthesis basics title@0"},
				`chlorophyll "" "   " chloroplast`: {"Cell structure caption@2000"},
			} {
				hits, _, err := d.Search(context.Background(), w.ann, db.SearchFilter{Query: q})
				if err != nil {
					t.Errorf("Search(%q): %v", q, err)
					continue
				}
				if diff := cmp.Diff(want, hitKeys(hits)); diff != "" {
					t.Errorf("Search(%q) (-want +got):\n%s", q, diff)
				}
			}
		})

		t.Run("Accents", func(t *testing.T) {
			l := searchLesson(t, d, w.a, "Le café de Zoë", "")
			for _, q := range []string{"cafe", "CAFÉ", "zoe", "Zoë"} {
				if hits := search(t, d, w.ann, q, ""); len(hits) != 1 || hits[0].LessonID != l.ID {
					t.Errorf("%q: %v, want the café lesson", q, hitKeys(hits))
				}
			}
			if hits := search(t, d, w.ann, "cafe", ""); len(hits) == 1 {
				if diff := cmp.Diff([]string{"café"}, marked(hits[0])); diff != "" {
					t.Errorf("cafe marks (-want +got):\n%s", diff)
				}
			}
		})

		t.Run("Validation", func(t *testing.T) {
			for _, q := range []string{"", "   ", "\t\n", strings.Repeat("x", lectern.MaxSearchQuery+1)} {
				_, _, err := d.Search(context.Background(), w.ann, db.SearchFilter{Query: q})
				wantCode(t, err, lectern.EINVALID)
			}
			if _, _, err := d.Search(context.Background(), w.ann, db.SearchFilter{Query: strings.Repeat("é", lectern.MaxSearchQuery)}); err != nil {
				t.Errorf("a query of %d characters: %v", lectern.MaxSearchQuery, err)
			}
			for _, c := range []string{"nope", "eyJvIjotMX0", "eyJvIjowfQ"} { // garbage, {"o":-1}, {"o":0}
				_, _, err := d.Search(context.Background(), w.ann, db.SearchFilter{Query: "basics", Cursor: c})
				wantCode(t, err, lectern.EINVALID)
			}
		})

		t.Run("Pages", func(t *testing.T) {
			all := hitKeys(search(t, d, w.teacher, "photosynthesis or chlorophyll or welcome or xylem", ""))
			if len(all) != 5 {
				t.Fatalf("all hits: %v, want 5", all)
			}
			var got []string
			cursor := ""
			for page := 0; page < 10; page++ {
				hits, next, err := d.Search(context.Background(), w.teacher, db.SearchFilter{
					Query: "photosynthesis or chlorophyll or welcome or xylem", Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) > 2 {
					t.Fatalf("page of %d hits, want at most 2", len(hits))
				}
				got = append(got, hitKeys(hits)...)
				if next == "" {
					break
				}
				cursor = next
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("pages joined (-one page +pages):\n%s", diff)
			}
		})
	})
}

// TestSearchIndexInStep changes every source of the index and checks that
// search sees the change at once, and that the full-text index holds
// exactly the entries (no leftovers of deleted rows).
func TestSearchIndexInStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		w := setupSearch(t, d)
		finds := func(t *testing.T, q string, want ...string) {
			t.Helper()
			if diff := cmp.Diff(append([]string{}, want...), hitKeys(search(t, d, w.teacher, q, ""))); diff != "" {
				t.Errorf("%q (-want +got):\n%s", q, diff)
			}
		}
		inStep := func(t *testing.T) {
			t.Helper()
			entries, indexed, err := d.SearchIndexRows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if entries != indexed {
				t.Errorf("search_entries has %d rows, the full-text index %d", entries, indexed)
			}
		}
		inStep(t)

		t.Run("CaptionsReplaced", func(t *testing.T) {
			mustSave(t, d, captionSave(w.cell, "en", "c", w.teacher, "Mitochondria make energy", "Ribosomes make proteins"))
			finds(t, "chlorophyll")
			finds(t, "ribosomes", "Cell structure caption@2000")
			inStep(t)
		})
		t.Run("CaptionTrackDraftedAndPublished", func(t *testing.T) {
			draft, published := lectern.CaptionDraft, lectern.CaptionPublished
			if _, err := d.UpdateCaptionTrack(ctx, w.cell.ID, "en", db.CaptionTrackUpdate{Status: &draft}); err != nil {
				t.Fatal(err)
			}
			if hits := search(t, d, w.ann, "ribosomes", ""); len(hits) != 0 {
				t.Errorf("a student finds a track made a draft: %v", hitKeys(hits))
			}
			if _, err := d.UpdateCaptionTrack(ctx, w.cell.ID, "en", db.CaptionTrackUpdate{Status: &published}); err != nil {
				t.Fatal(err)
			}
			if hits := search(t, d, w.ann, "ribosomes", ""); len(hits) != 1 {
				t.Errorf("a student does not find a track published again: %v", hitKeys(hits))
			}
		})
		t.Run("CaptionTrackDeleted", func(t *testing.T) {
			if err := d.DeleteCaptionTrack(ctx, w.cell.ID, "en"); err != nil {
				t.Fatal(err)
			}
			finds(t, "ribosomes")
			inStep(t)
		})
		t.Run("CommentEdited", func(t *testing.T) {
			body := "Why does phloem carry sugar downward?"
			if _, err := d.UpdateComment(ctx, w.annSecret.ID, w.ann, lectern.CommentUpdate{Body: &body}); err != nil {
				t.Fatal(err)
			}
			finds(t, "xylem")
			finds(t, "phloem", "Photosynthesis basics question@7000")
			inStep(t)
		})
		t.Run("CommentDeleted", func(t *testing.T) {
			if _, err := d.DeleteComment(ctx, w.annSecret.ID, w.ann); err != nil {
				t.Fatal(err)
			}
			finds(t, "phloem")
			inStep(t)
		})
		t.Run("ReplyFound", func(t *testing.T) {
			c := &lectern.Comment{LessonID: w.photo.ID, ParentID: w.annNote.ID, Body: "and the ATP yield"}
			if err := d.CreateComment(ctx, c, w.ann); err != nil {
				t.Fatal(err)
			}
			// A reply to a private note is private too: its author's alone.
			if diff := cmp.Diff([]string{"Photosynthesis basics comment@9000"}, hitKeys(search(t, d, w.ann, "atp", ""))); diff != "" {
				t.Errorf("atp as the author (-want +got):\n%s", diff)
			}
			finds(t, "atp")
		})
		t.Run("TitleAndDescriptionChanged", func(t *testing.T) {
			title, desc := "Light reactions", ""
			if _, err := d.UpdateLesson(ctx, w.photo.ID, lectern.LessonUpdate{Title: &title, Description: &desc}); err != nil {
				t.Fatal(err)
			}
			finds(t, "basics")
			finds(t, "sugar")
			finds(t, "reactions", "Light reactions title@0")
			desc = "Thylakoid membranes"
			if _, err := d.UpdateLesson(ctx, w.photo.ID, lectern.LessonUpdate{Description: &desc}); err != nil {
				t.Fatal(err)
			}
			finds(t, "thylakoid", "Light reactions description@0")
			// Other changes (the transcoder's) leave the index alone.
			status := lectern.LessonReady
			if _, err := d.UpdateLesson(ctx, w.photo.ID, lectern.LessonUpdate{Status: &status}); err != nil {
				t.Fatal(err)
			}
			finds(t, "reactions", "Light reactions title@0")
			inStep(t)
		})
		t.Run("ChaptersReplaced", func(t *testing.T) {
			if _, err := d.SetChapters(ctx, w.photo.ID, []lectern.Chapter{{StartMS: 30000, Title: "Rubisco"}}); err != nil {
				t.Fatal(err)
			}
			finds(t, "calvin")
			finds(t, "rubisco", "Light reactions chapter@30000")
			inStep(t)
		})
		t.Run("LessonDeleted", func(t *testing.T) {
			if err := d.DeleteLesson(ctx, w.photo.ID); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"reactions", "thylakoid", "rubisco", "stomata", "chemiosmosis", "glucose", "atp"} {
				finds(t, q)
			}
			inStep(t)
		})
	})
}

// TestSearchMigrationBackfills stores lessons, captions and comments as
// the release before search did, then migrates: search finds them.
func TestSearchMigrationBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBAt(t, 6, func(t *testing.T, d *db.DB) {
		teacher := newNamedUser(t, d, lectern.RoleTeacher, "Tess")
		course := newCourse(t, d, teacher)
		l := oldLesson(t, d, course, "Old lesson", "Described before search", 3600_000)
		mustSave(t, d, captionSave(l, "en", "a", teacher, "a cue from before"))
		oldComment(t, d, l, teacher, 3000, "an entry from before", false)
		oldComment(t, d, l, teacher, 4000, "", true) // deleted, as DeleteComment leaves it
		if err := d.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		got := hitKeys(search(t, d, teacher, "before", ""))
		want := []string{"Old lesson description@0", "Old lesson caption@0", "Old lesson comment@3000"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("before (-want +got):\n%s", diff)
		}
		entries, indexed, err := d.SearchIndexRows(ctx)
		if err != nil || entries != indexed || entries != 4 {
			t.Errorf("after the backfill: %d entries, %d indexed (%v); want 4 and 4", entries, indexed, err)
		}
	})
}

// TestSearchCommonWord searches for a word said in more cues than search
// ranks (maxRankedCaptions, 1,000): the lesson whose title has it still
// comes first, and the cues found are the most recently saved.
func TestSearchCommonWord(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		teacher := newNamedUser(t, d, lectern.RoleTeacher, "Tess")
		course := newCourse(t, d, teacher)
		older := searchLesson(t, d, course, "Older lesson", "")
		newer := searchLesson(t, d, course, "Newer lesson", "")
		cues := make([]string, 700)
		for i := range cues {
			cues[i] = fmt.Sprintf("zebra number %d, zebra again", i)
		}
		mustSave(t, d, captionSave(older, "en", "a", teacher, cues...))
		mustSave(t, d, captionSave(newer, "en", "a", teacher, cues...))
		titled := searchLesson(t, d, course, "All about the zebra", "")

		hits := search(t, d, teacher, "zebra", "")
		if len(hits) == 0 || hits[0].LessonID != titled.ID || hits[0].Kind != lectern.SearchTitle {
			t.Fatalf("first hit %v, want the title of %q", hitKeys(hits[:min(len(hits), 1)]), titled.Title)
		}
		seen := map[string]int{}
		cursor := ""
		for {
			page, next, err := d.Search(context.Background(), teacher, db.SearchFilter{Query: "zebra", Limit: db.MaxSearchLimit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page {
				seen[h.LessonID]++
			}
			if next == "" {
				break
			}
			cursor = next
		}
		// 1,000 cues ranked: all 700 of the newer save, 300 of the older.
		want := map[string]int{titled.ID: 1, newer.ID: 700, older.ID: 300}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("hits per lesson (-want +got):\n%s", diff)
		}
	})
}
