package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/captions"
)

// captionsPageData is what captions.js starts from: the lesson, its
// tracks (drafts included), the track the page opens on and its cues, in
// the shapes the caption API returns, so that the first paint and every
// later fetch agree.
type captionsPageData struct {
	LessonID   string             `json:"lesson_id"`
	CourseID   string             `json:"course_id"`
	Lesson     lessonJSON         `json:"lesson"`
	DurationMS int64              `json:"duration_ms"`
	UserID     string             `json:"user_id"`
	Tracks     []captionTrackJSON `json:"tracks"`
	// Lang is the track the editor opens: the one ?lang= names, else the
	// default track, else the first; "" when the lesson has none.
	Lang string           `json:"lang"`
	Cues []captionCueJSON `json:"cues"`
	// ASR is the lesson's automatic captions; null when it has none.
	ASR *asrJSON `json:"asr"`
}

// handleCaptionsPage is the caption editor of a lesson, for its course's
// teachers and admins: the video with the cues beside it. Students get a
// 403 page and anyone outside the course a 404 page.
func (s *Server) handleCaptionsPage(c echo.Context, u *lectern.User) error {
	ctx := c.Request().Context()
	l, course, err := s.lessonForPage(c, u)
	if err != nil {
		return err
	}
	if !mayTeach(u, course.MyRole) {
		return lectern.Errorf(lectern.EFORBIDDEN, "Only the course's teachers may edit its captions.")
	}
	lj, err := s.lessonDetail(ctx, l, course.MyRole, u)
	if err != nil {
		return err
	}
	tracks, err := s.db.FindCaptionTracks(ctx, l.ID, true)
	if err != nil {
		return err
	}
	data := captionsPageData{LessonID: l.ID, CourseID: course.ID, Lesson: lj, DurationMS: l.DurationMS,
		UserID: u.ID, Tracks: make([]captionTrackJSON, 0, len(tracks)), Cues: []captionCueJSON{}}
	for _, t := range tracks {
		data.Tracks = append(data.Tracks, toCaptionTrackJSON(t))
	}
	if data.ASR, err = s.findASR(ctx, l.ID); err != nil {
		return err
	}
	if tr := openingTrack(tracks, c.QueryParam("lang")); tr != nil {
		cues, err := s.readCaptionObject(ctx, tr.ObjectKey)
		if err != nil {
			return err
		}
		data.Lang = tr.Lang
		for _, q := range cues {
			data.Cues = append(data.Cues, toCaptionCueJSON(q))
		}
	}
	return s.render(c, http.StatusOK, pageView{
		Name: "captions", Title: "Captions · " + l.Title, User: u, Nav: "courses", Wide: true,
		Script: "js/caption_editor_page.js", Vendor: []string{"vendor/hls.min.js"},
		Crumbs: []crumb{{"My courses", "/courses"}, {course.Title, "/courses/" + course.ID},
			{l.Title, "/lessons/" + l.ID + "/upload"}, {"Captions", ""}},
		View: struct {
			Lesson   *lectern.Lesson
			Playable bool
			// ASR says where the automatic captions are; "" for none.
			ASR      string
			ASRState lectern.ASRState
		}{l, lj.Playable, asrSummary(data.ASR), asrState(data.ASR)},
		Data: data,
	})
}

func asrState(a *asrJSON) lectern.ASRState {
	if a == nil {
		return ""
	}
	return a.State
}

// openingTrack is the track the editor opens on: the one lang names (in
// any spelling), else the default track, else the first; nil when there
// is none. An unknown or malformed lang is ignored: the page still opens.
func openingTrack(tracks []*lectern.CaptionTrack, lang string) *lectern.CaptionTrack {
	if len(tracks) == 0 {
		return nil
	}
	if canon, _, err := parseCaptionLang(lang); err == nil {
		for _, t := range tracks {
			if t.Lang == canon {
				return t
			}
		}
	}
	for _, t := range tracks {
		if t.Default {
			return t
		}
	}
	return tracks[0]
}

// toCaptionCueJSON is a cue as the editor gets it (see captionCueJSON).
func toCaptionCueJSON(q captions.Cue) captionCueJSON {
	return captionCueJSON{ID: q.ID, StartMS: q.StartMS, EndMS: q.EndMS, Text: q.Plain(), VTT: q.Text, Settings: q.Settings}
}
