package server

import (
	"context"
	"time"

	"github.com/lectern/lectern"
)

// asrJSON is a lesson's automatic captions as its teachers see them:
// state is queued, running, done (a draft track in lang is ready for
// review), skipped (a person's track in lang exists and was kept) or
// failed; error says why it failed, was skipped, or is being retried.
type asrJSON struct {
	State     lectern.ASRState `json:"state"`
	Lang      string           `json:"lang"`
	Tries     int              `json:"tries"`
	MaxTries  int              `json:"max_tries"`
	Error     string           `json:"error"`
	Cues      int              `json:"cues"`
	UpdatedAt time.Time        `json:"updated_at"`
	// Summary says it in one sentence, as the caption editor shows it
	// (and updates it while recognition runs).
	Summary string `json:"summary"`
}

// findASR is the lesson's automatic captions for its teachers; nil when
// it has none (no speech recognizer was configured when it was published).
func (s *Server) findASR(ctx context.Context, lessonID string) (*asrJSON, error) {
	j, err := s.db.FindASRJob(ctx, lessonID)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a := &asrJSON{State: j.State, Lang: j.Lang, Tries: j.Tries, MaxTries: j.MaxTries, Error: j.Error,
		Cues: j.Cues, UpdatedAt: j.UpdatedAt}
	a.Summary = asrSummary(a)
	return a, nil
}

// asrSummary says in one sentence where a lesson's automatic captions are,
// for the caption editor; "" when there are none.
func asrSummary(a *asrJSON) string {
	if a == nil {
		return ""
	}
	switch a.State {
	case lectern.ASRQueued, lectern.ASRRunning:
		if a.Error != "" {
			return "Automatic captions: in progress (" + a.Error + ")"
		}
		return "Automatic captions: in progress."
	case lectern.ASRDone:
		return "Automatic captions: ready for review. They are a draft, seen by teachers only, until you choose “Everyone in the course”."
	case lectern.ASRSkipped:
		return "Automatic captions: not made. " + a.Error
	case lectern.ASRFailed:
		return "Automatic captions: failed: " + a.Error
	}
	return ""
}
