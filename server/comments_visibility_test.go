package server_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// conversation is what the visibility tests post: the author's entry for
// the class, question for the teachers only and private note, the
// teacher's answer to that question, and a classmate's question.
type conversation struct {
	classComment, shyQuestion, answer, privateNote, classQuestion commentJSON
}

func (cl *classroom) converse(t *testing.T) *conversation {
	t.Helper()
	cv := &conversation{
		classComment: cl.post(t, cl.author, "comment", "class", 1000, "nice demo"),
		shyQuestion:  cl.post(t, cl.author, "question", "teachers", 5000, "I am lost"),
		privateNote:  cl.post(t, cl.author, "note", "private", 5500, "revise this"),
	}
	cv.answer = cl.reply(t, cl.teacher, cv.shyQuestion, "see chapter 2")
	cv.classQuestion = cl.post(t, cl.classmate, "question", "class", 65000, "units?")
	return cv
}

type markerBucketJSON struct {
	StartMS   int64          `json:"start_ms"`
	Count     int            `json:"count"`
	Kinds     map[string]int `json:"kinds"`
	Questions map[string]int `json:"questions"`
}

type markersJSON struct {
	BucketMS int64              `json:"bucket_ms"`
	Buckets  []markerBucketJSON `json:"buckets"`
}

func TestCommentVisibility(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		ts := newServer(t, fx)
		cl := newClassroom(t, ts)
		cv := cl.converse(t)
		all := []commentJSON{cv.classComment, cv.shyQuestion, cv.answer, cv.privateNote, cv.classQuestion}
		// What a course teacher (and an admin) sees in the first minute.
		teacherMinute := markerBucketJSON{StartMS: 0, Count: 2,
			Kinds: map[string]int{"comment": 1, "question": 1}, Questions: map[string]int{"answered": 1}}
		secondMinute := markerBucketJSON{StartMS: 60000, Count: 1,
			Kinds: map[string]int{"question": 1}, Questions: map[string]int{"open": 1}}
		for _, pov := range []struct {
			name    string
			c       *client
			sees    []commentJSON // listing order, each thread's replies after it
			markers []markerBucketJSON
		}{
			{"Author", cl.author, []commentJSON{cv.classComment, cv.shyQuestion, cv.answer, cv.privateNote, cv.classQuestion},
				[]markerBucketJSON{{StartMS: 0, Count: 3, Kinds: map[string]int{"comment": 1, "question": 1, "note": 1},
					Questions: map[string]int{"answered": 1}}, secondMinute}},
			{"Classmate", cl.classmate, []commentJSON{cv.classComment, cv.classQuestion},
				[]markerBucketJSON{{StartMS: 0, Count: 1, Kinds: map[string]int{"comment": 1}, Questions: map[string]int{}}, secondMinute}},
			{"CourseTeacher", cl.teacher, []commentJSON{cv.classComment, cv.shyQuestion, cv.answer, cv.classQuestion},
				[]markerBucketJSON{teacherMinute, secondMinute}},
			// Admins see what teachers see; a private note is the author's alone.
			{"Admin", cl.admin, []commentJSON{cv.classComment, cv.shyQuestion, cv.answer, cv.classQuestion},
				[]markerBucketJSON{teacherMinute, secondMinute}},
		} {
			t.Run(pov.name, func(t *testing.T) {
				t.Run("Listing", func(t *testing.T) {
					var got []string
					for _, root := range cl.list(t, pov.c, "").Comments {
						got = append(got, root.ID)
						got = append(got, commentIDs(thread(t, pov.c, root.ID).Replies)...)
					}
					if diff := cmp.Diff(commentIDs(pov.sees), got); diff != "" {
						t.Errorf("entries seen (-want +got):\n%s", diff)
					}
				})
				t.Run("Entries", func(t *testing.T) {
					visible := map[string]bool{}
					for _, c := range pov.sees {
						visible[c.ID] = true
					}
					for _, c := range all {
						r := pov.c.do(t, "GET", "/api/v1/comments/"+c.ID, nil)
						if visible[c.ID] {
							r.want(http.StatusOK)
						} else {
							r.wantError(http.StatusNotFound, lectern.ENOTFOUND)
						}
					}
				})
				t.Run("Markers", func(t *testing.T) {
					var got markersJSON
					pov.c.do(t, "GET", "/api/v1/lessons/"+cl.lessonID+"/markers?bucket_ms=60000", nil).want(http.StatusOK).decode(&got)
					if diff := cmp.Diff(markersJSON{BucketMS: 60000, Buckets: pov.markers}, got); diff != "" {
						t.Errorf("markers (-want +got):\n%s", diff)
					}
				})
			})
		}
		t.Run("OtherCourseTeacher", func(t *testing.T) {
			for _, path := range []string{cl.commentsPath(), "/api/v1/lessons/" + cl.lessonID + "/markers"} {
				cl.otherTeacher.do(t, "GET", path, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
			for _, c := range all {
				cl.otherTeacher.do(t, "GET", "/api/v1/comments/"+c.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
				cl.otherTeacher.do(t, "DELETE", "/api/v1/comments/"+c.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
		})
		t.Run("TeacherCannotDeleteAPrivateNote", func(t *testing.T) {
			cl.teacher.do(t, "DELETE", "/api/v1/comments/"+cv.privateNote.ID, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
		})
		t.Run("MarkerBuckets", func(t *testing.T) {
			var got markersJSON
			cl.author.do(t, "GET", "/api/v1/lessons/"+cl.lessonID+"/markers", nil).want(http.StatusOK).decode(&got)
			if got.BucketMS != classDurationMS/100 {
				t.Errorf("default bucket_ms = %d, want %d (a hundredth of the lesson)", got.BucketMS, classDurationMS/100)
			}
			for _, q := range []string{"?bucket_ms=999", "?bucket_ms=many", "?bucket_ms=86400001"} {
				cl.author.do(t, "GET", "/api/v1/lessons/"+cl.lessonID+"/markers"+q, nil).wantError(http.StatusBadRequest, lectern.EINVALID)
			}
		})
	})
}
