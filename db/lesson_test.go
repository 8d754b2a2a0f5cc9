package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

func ptr[T any](v T) *T { return &v }

func TestLessons(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forEachDBClock(t, func(t *testing.T, d *db.DB, clock *fakeClock) {
		t.Run("Create", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			now := clock.Peek()
			l := &lectern.Lesson{CourseID: c.ID, Title: "Intro", Description: "first", Status: lectern.LessonReady, PublishedAt: new(time.Unix(0, 0))}
			if err := d.CreateLesson(ctx, l); err != nil {
				t.Fatal(err)
			}
			want := &lectern.Lesson{ID: l.ID, CourseID: c.ID, Title: "Intro", Description: "first",
				Status: lectern.LessonAwaitingUpload, Renditions: lectern.Renditions{}, CreatedAt: stored(now), UpdatedAt: stored(now),
				PublishedAt: new(time.Unix(0, 0).UTC())}
			if diff := cmp.Diff(want, l); diff != "" {
				t.Errorf("CreateLesson filled (-want +got):\n%s", diff)
			}
			got, err := d.FindLessonByID(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindLessonByID (-want +got):\n%s", diff)
			}
		})
		t.Run("CreateInvalid", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			wantCode(t, d.CreateLesson(ctx, &lectern.Lesson{CourseID: c.ID, Title: " "}), lectern.EINVALID)
			wantCode(t, d.CreateLesson(ctx, &lectern.Lesson{CourseID: "nosuchcourse", Title: "x"}), lectern.ENOTFOUND)
		})
		t.Run("FindLessonScoped", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			a, b := newCourse(t, d, teacher), newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			student := newUser(t, d, lectern.RoleStudent)
			join(t, d, a, student)
			la, lb := newLesson(t, d, a), newLesson(t, d, b)
			admin := newUser(t, d, lectern.RoleAdmin)
			for _, tc := range []struct {
				name   string
				lesson *lectern.Lesson
				viewer *lectern.User
				role   lectern.MemberRole
			}{
				{"Teacher", la, teacher, lectern.MemberTeacher},
				{"Student", la, student, lectern.MemberStudent},
				{"AdminNotMember", lb, admin, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, role, err := d.FindLesson(ctx, tc.lesson.ID, tc.viewer)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tc.lesson, got); diff != "" {
						t.Errorf("FindLesson (-want +got):\n%s", diff)
					}
					if role != tc.role {
						t.Errorf("role = %q, want %q", role, tc.role)
					}
				})
			}
			t.Run("OtherCourseGets404", func(t *testing.T) {
				_, _, err := d.FindLesson(ctx, lb.ID, student)
				wantCode(t, err, lectern.ENOTFOUND)
				_, _, err = d.FindLesson(ctx, lb.ID, teacher)
				wantCode(t, err, lectern.ENOTFOUND)
			})
			t.Run("NoViewer", func(t *testing.T) {
				_, _, err := d.FindLesson(ctx, la.ID, nil)
				wantCode(t, err, lectern.ENOTFOUND)
			})
			t.Run("Missing", func(t *testing.T) {
				_, _, err := d.FindLesson(ctx, "nosuchlesson", admin)
				wantCode(t, err, lectern.ENOTFOUND)
				_, err = d.FindLessonByID(ctx, "nosuchlesson")
				wantCode(t, err, lectern.ENOTFOUND)
			})
		})
		t.Run("FindLessonsOldestFirst", func(t *testing.T) {
			teacher := newUser(t, d, lectern.RoleTeacher)
			c, other := newCourse(t, d, teacher), newCourse(t, d, teacher)
			l1 := newLesson(t, d, c)
			newLesson(t, d, other)
			l2, l3 := newLesson(t, d, c), newLesson(t, d, c)
			got, err := d.FindLessons(ctx, c.ID, adminView)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*lectern.Lesson{l1, l2, l3}, got); diff != "" {
				t.Errorf("FindLessons (-want +got):\n%s", diff)
			}
			if none, err := d.FindLessons(ctx, newCourse(t, d, teacher).ID, adminView); err != nil || len(none) != 0 {
				t.Errorf("FindLessons of an empty course = %v, %v; want none", none, err)
			}
		})
		t.Run("UpdatePartial", func(t *testing.T) {
			l := newLesson(t, d, newCourse(t, d, newUser(t, d, lectern.RoleTeacher)))
			clock.Advance(16 * time.Minute)
			at := clock.Peek()
			got, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{
				Status:     ptr(lectern.LessonReady),
				DurationMS: ptr(int64(61_500)),
				SourceKey:  ptr("sources/x/original"),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := *l
			want.Status, want.DurationMS, want.SourceKey, want.UpdatedAt = lectern.LessonReady, 61_500, "sources/x/original", stored(at)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("UpdateLesson returned (-want +got):\n%s", diff)
			}
			at = clock.Peek()
			rends := lectern.Renditions{
				{Name: "720p", Kind: lectern.RenditionVideo, Width: 1280, Height: 720, FrameRate: 30, Codecs: "avc1.64001f", Bandwidth: 2_900_000, AverageBandwidth: 1_200_000},
				{Name: "audio", Kind: lectern.RenditionAudio, Codecs: "mp4a.40.2", Bandwidth: 140_000, AverageBandwidth: 130_000},
			}
			got, err = d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{
				Title: ptr("Renamed"), Description: ptr(""), OutputPrefix: ptr("lessons/x/1/"), Error: ptr("none"),
				Renditions: ptr(rends), Poster: ptr("poster.jpg"), Thumbnails: ptr("thumbs/thumbs.vtt"),
			})
			if err != nil {
				t.Fatal(err)
			}
			want.Title, want.Description, want.OutputPrefix, want.Error, want.UpdatedAt = "Renamed", "", "lessons/x/1/", "none", stored(at)
			want.Renditions, want.Poster, want.Thumbnails = rends, "poster.jpg", "thumbs/thumbs.vtt"
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("second UpdateLesson returned (-want +got):\n%s", diff)
			}
			reread, err := d.FindLessonByID(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, reread); diff != "" {
				t.Errorf("FindLessonByID after updates (-want +got):\n%s", diff)
			}
		})
		t.Run("UpdateInvalid", func(t *testing.T) {
			l := newLesson(t, d, newCourse(t, d, newUser(t, d, lectern.RoleTeacher)))
			_, err := d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Status: ptr(lectern.LessonStatus("done"))})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateLesson(ctx, l.ID, lectern.LessonUpdate{Title: ptr("")})
			wantCode(t, err, lectern.EINVALID)
			_, err = d.UpdateLesson(ctx, "nosuchlesson", lectern.LessonUpdate{Title: ptr("x")})
			wantCode(t, err, lectern.ENOTFOUND)
			if got, _ := d.FindLessonByID(ctx, l.ID); got == nil || got.Status != lectern.LessonAwaitingUpload || got.Title != l.Title {
				t.Errorf("lesson changed by rejected updates: %+v", got)
			}
		})
		t.Run("DeleteCascadesJobs", func(t *testing.T) {
			c := newCourse(t, d, newUser(t, d, lectern.RoleTeacher))
			l, kept := newLesson(t, d, c), newLesson(t, d, c)
			var jobs []*lectern.Job
			for _, j := range []*lectern.Job{{LessonID: l.ID, Attempt: 1}, {LessonID: l.ID, Attempt: 2}, {LessonID: kept.ID, Attempt: 1}} {
				if err := d.CreateJob(ctx, j); err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, j)
			}
			if err := d.DeleteLesson(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
			_, err := d.FindLessonByID(ctx, l.ID)
			wantCode(t, err, lectern.ENOTFOUND)
			for _, j := range jobs[:2] {
				_, err := d.FindJobByID(ctx, j.ID)
				wantCode(t, err, lectern.ENOTFOUND)
			}
			if _, err := d.FindJobByID(ctx, jobs[2].ID); err != nil {
				t.Errorf("job of another lesson deleted: %v", err)
			}
			if got, err := d.FindLessons(ctx, c.ID, adminView); err != nil || len(got) != 1 || got[0].ID != kept.ID {
				t.Errorf("FindLessons after delete = %v, %v; want only %s", got, err, kept.ID)
			}
			wantCode(t, d.DeleteLesson(ctx, l.ID), lectern.ENOTFOUND)
		})
	})
}
