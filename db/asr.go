package db

import (
	"context"
	"fmt"
	"strconv"

	"github.com/lectern/lectern"
)

// The life of a lesson's automatic captions (lectern.ASRJob). Publishing a
// transcode with Publication.ASRLang set creates (or replaces) the
// lesson's job, queued, in the same transaction as the publication; a
// worker marks it running (MarkRecognizing), then saves the draft
// (SaveRecognizedCaptions), or records a failed try (RetryRecognition,
// FailRecognition). Every step is fenced on the transcode attempt: a job
// for a recording that a newer publication replaced changes nothing.

const asrJobColumns = `lesson_id, attempt, lang, task_id, state, tries, max_tries, error, cue_count,
	created_at, updated_at, finished_at`

// ASRTaskID is the queue's task ID of the speech recognition of a
// lesson's transcode attempt: the queue refuses a second task with the
// same ID.
func ASRTaskID(lessonID string, attempt int) string {
	return "asr:" + lessonID + ":" + strconv.Itoa(attempt)
}

// humanCaptionsReason is the reason a job is skipped: automatic captions
// never replace a track a person made or published.
const humanCaptionsReason = "A caption track in this language made or published by a person already exists; automatic captions never replace it."

// startASRJob creates or replaces, within t, the automatic captioning of
// attempt of a lesson, queued.
func (db *DB) startASRJob(ctx context.Context, t tx, lessonID string, attempt int, lang string) error {
	now := db.now()
	if _, err := t.exec(ctx, `DELETE FROM asr_jobs WHERE lesson_id = ?`, lessonID); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO asr_jobs (lesson_id, attempt, lang, task_id, state, tries, max_tries,
			error, cue_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, '', 0, ?, ?)`,
		lessonID, attempt, lang, ASRTaskID(lessonID, attempt), lectern.ASRQueued, lectern.MaxASRTries, now, now)
	return err
}

// FindASRJob returns a lesson's automatic captioning; ENOTFOUND when it
// has none (speech recognition was not configured when it was published).
func (db *DB) FindASRJob(ctx context.Context, lessonID string) (*lectern.ASRJob, error) {
	var j lectern.ASRJob
	err := db.read(ctx, func(t tx) error { return getASRJob(ctx, t, &j, lessonID) })
	if err != nil {
		return nil, fmt.Errorf("find automatic captions job: %w", err)
	}
	return &j, nil
}

func getASRJob(ctx context.Context, t tx, j *lectern.ASRJob, lessonID string) error {
	err := t.get(ctx, j, `SELECT `+asrJobColumns+` FROM asr_jobs WHERE lesson_id = ?`, lessonID)
	if notFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "this lesson has no automatic captions")
	}
	return err
}

// FindUnfinishedASRJobs returns the jobs a worker may still act on
// (queued or running), oldest first: what the reconciler makes sure the
// queue holds.
func (db *DB) FindUnfinishedASRJobs(ctx context.Context) ([]*lectern.ASRJob, error) {
	jobs := []*lectern.ASRJob{}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &jobs, `SELECT `+asrJobColumns+` FROM asr_jobs WHERE state IN (?, ?)
			ORDER BY created_at, lesson_id`, lectern.ASRQueued, lectern.ASRRunning)
	})
	if err != nil {
		return nil, fmt.Errorf("find unfinished automatic captions: %w", err)
	}
	return jobs, nil
}

// fencedASRJob reads the lesson's job within t and checks that it is
// attempt's and unfinished: ENOTFOUND when the lesson or its job is gone,
// ECONFLICT when a newer publication replaced it or it has finished.
func fencedASRJob(ctx context.Context, t tx, lessonID string, attempt int) (*lectern.ASRJob, error) {
	var j lectern.ASRJob
	if err := getASRJob(ctx, t, &j, lessonID); err != nil {
		return nil, err
	}
	if j.Attempt != attempt {
		return nil, lectern.Errorf(lectern.ECONFLICT, "automatic captions of attempt %d were replaced by attempt %d", attempt, j.Attempt)
	}
	if !j.State.Unfinished() {
		return nil, lectern.Errorf(lectern.ECONFLICT, "automatic captions of attempt %d have finished (%s)", attempt, j.State)
	}
	return &j, nil
}

// MarkRecognizing records that a worker started a try of the lesson's
// automatic captioning for attempt, and returns the job. A job that has no
// try left (its worker died during the last one) is failed instead, and,
// like a stale or finished job, gets ECONFLICT.
func (db *DB) MarkRecognizing(ctx context.Context, lessonID string, attempt int) (*lectern.ASRJob, error) {
	var j *lectern.ASRJob
	err := db.write(ctx, func(t tx) error {
		var err error
		if j, err = fencedASRJob(ctx, t, lessonID, attempt); err != nil {
			return err
		}
		now := db.now()
		if j.Tries >= j.MaxTries {
			reason := fmt.Sprintf("Automatic captions failed after %d tries: the worker running the recognizer stopped.", j.Tries)
			if err := db.finishASRJob(ctx, t, j, lectern.ASRFailed, reason, 0); err != nil {
				return err
			}
			return lectern.Errorf(lectern.ECONFLICT, "automatic captions have no try left")
		}
		j.State, j.Tries, j.UpdatedAt = lectern.ASRRunning, j.Tries+1, now
		_, err = t.exec(ctx, `UPDATE asr_jobs SET state = ?, tries = ?, updated_at = ? WHERE lesson_id = ?`,
			j.State, j.Tries, now, lessonID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mark recognizing: %w", err)
	}
	return j, nil
}

// RetryRecognition records that a try failed for reason, a sentence a
// teacher can read, and that the job waits for its next try (queued).
// A stale or finished job gets ECONFLICT.
func (db *DB) RetryRecognition(ctx context.Context, lessonID string, attempt int, reason string) error {
	err := db.write(ctx, func(t tx) error {
		if _, err := fencedASRJob(ctx, t, lessonID, attempt); err != nil {
			return err
		}
		_, err := t.exec(ctx, `UPDATE asr_jobs SET state = ?, error = ?, updated_at = ? WHERE lesson_id = ?`,
			lectern.ASRQueued, reason, db.now(), lessonID)
		return err
	})
	if err != nil {
		return fmt.Errorf("retry recognition: %w", err)
	}
	return nil
}

// FailRecognition fails the lesson's automatic captioning for good with
// reason. It never touches the lesson itself, whose playback does not
// depend on captions. A stale or finished job gets ECONFLICT.
func (db *DB) FailRecognition(ctx context.Context, lessonID string, attempt int, reason string) error {
	err := db.write(ctx, func(t tx) error {
		j, err := fencedASRJob(ctx, t, lessonID, attempt)
		if err != nil {
			return err
		}
		return db.finishASRJob(ctx, t, j, lectern.ASRFailed, reason, 0)
	})
	if err != nil {
		return fmt.Errorf("fail recognition: %w", err)
	}
	return nil
}

func (db *DB) finishASRJob(ctx context.Context, t tx, j *lectern.ASRJob, state lectern.ASRState, reason string, cues int) error {
	now := db.now()
	_, err := t.exec(ctx, `UPDATE asr_jobs SET state = ?, error = ?, cue_count = ?, updated_at = ?, finished_at = ?
		WHERE lesson_id = ? AND attempt = ?`, state, reason, cues, now, now, j.LessonID, j.Attempt)
	return err
}

// HasHumanCaptions reports whether a lesson has a track in lang that
// automatic captions must leave alone: any track but a draft whose
// current version came from the recognizer.
func (db *DB) HasHumanCaptions(ctx context.Context, lessonID, lang string) (bool, error) {
	var human bool
	err := db.read(ctx, func(t tx) error {
		var err error
		human, err = hasHumanCaptions(ctx, t, lessonID, lang)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("find human captions: %w", err)
	}
	return human, nil
}

func hasHumanCaptions(ctx context.Context, t tx, lessonID, lang string) (bool, error) {
	var row struct {
		Status lectern.CaptionStatus `db:"status"`
		Source lectern.CaptionSource `db:"source"`
	}
	err := t.get(ctx, &row, `SELECT ct.status, cv.source FROM caption_tracks ct
		JOIN caption_versions cv ON cv.lesson_id = ct.lesson_id AND cv.lang = ct.lang AND cv.version = ct.version
		WHERE ct.lesson_id = ? AND ct.lang = ?`, lessonID, lang)
	if notFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return row.Status != lectern.CaptionDraft || row.Source != lectern.CaptionFromRecognizer, nil
}

// SaveRecognizedCaptions finishes attempt's automatic captioning: in one
// transaction, s (a recognizer's version, saved as a draft) becomes the
// current version of the lesson's track in the job's language and the job
// is done; or, when a person's track in that language exists
// (HasHumanCaptions), nothing is saved and the job is skipped, which the
// second result reports (the caller then removes s.ObjectKey). A stale or
// finished job gets ECONFLICT.
func (db *DB) SaveRecognizedCaptions(ctx context.Context, attempt int, s CaptionSave) (*lectern.CaptionTrack, bool, error) {
	draft := lectern.CaptionDraft
	s.Source, s.Status, s.AuthorID, s.Default = lectern.CaptionFromRecognizer, &draft, "", nil
	if err := validateCaptionSave(s); err != nil {
		return nil, false, err
	}
	var (
		track   *lectern.CaptionTrack
		skipped bool
	)
	err := db.write(ctx, func(t tx) error {
		j, err := fencedASRJob(ctx, t, s.LessonID, attempt)
		if err != nil {
			return err
		}
		if j.Lang != s.Lang {
			return lectern.Errorf(lectern.EINVALID, "automatic captions are in %s, not %s", j.Lang, s.Lang)
		}
		human, err := hasHumanCaptions(ctx, t, s.LessonID, s.Lang)
		if err != nil {
			return err
		}
		if human {
			skipped = true
			return db.finishASRJob(ctx, t, j, lectern.ASRSkipped, humanCaptionsReason, 0)
		}
		if track, _, err = db.saveCaptions(ctx, t, s); err != nil {
			return err
		}
		return db.finishASRJob(ctx, t, j, lectern.ASRDone, "", len(s.Cues))
	})
	if err != nil {
		return nil, false, fmt.Errorf("save recognized captions: %w", err)
	}
	return track, skipped, nil
}

// SkipRecognition finishes attempt's automatic captioning without running
// the recognizer, because a person's track in its language exists.
func (db *DB) SkipRecognition(ctx context.Context, lessonID string, attempt int) error {
	err := db.write(ctx, func(t tx) error {
		j, err := fencedASRJob(ctx, t, lessonID, attempt)
		if err != nil {
			return err
		}
		return db.finishASRJob(ctx, t, j, lectern.ASRSkipped, humanCaptionsReason, 0)
	})
	if err != nil {
		return fmt.Errorf("skip recognition: %w", err)
	}
	return nil
}
