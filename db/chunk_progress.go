package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// FindEncodingProgress returns, for the lessons of courseID that play an
// output still being encoded in chunks (published by PublishPlayable, its
// plan not finished), how far the encoding has come, from the states of
// the plan's video chunks (see lectern.EncodingProgress), by lesson ID. A
// lesson with nothing published, playing a previous recording during a
// re-upload, or whose plan is finished is not in it. Every segment is
// done between the last chunk and the finished output's publication. One
// query.
func (db *DB) FindEncodingProgress(ctx context.Context, courseID string) (map[string]lectern.EncodingProgress, error) {
	var rows []struct {
		LessonID string `db:"lesson_id"`
		lectern.EncodingProgress
		// AudioSegs is the audio segments stored while its piece runs.
		AudioSegs *int `db:"audio_segs"`
	}
	err := db.read(ctx, func(t tx) error {
		// A chunk covers segments [start_seg, start_seg+segs); the part
		// stored from 0:00 ends where the first chunk not done starts.
		return t.sel(ctx, &rows, `SELECT l.id AS lesson_id,
				COALESCE(MIN(CASE WHEN c.state <> ? THEN c.start_seg END), SUM(c.segs)) AS ready_segs,
				SUM(CASE WHEN c.state = ? THEN c.segs ELSE 0 END) AS done_segs,
				SUM(c.segs) AS total_segs,
				(SELECT MIN(a.stored_segs) FROM transcode_chunks a
					WHERE a.job_id = p.job_id AND a.kind = ? AND a.state <> ?) AS audio_segs
			FROM lessons l
			JOIN transcode_plans p ON p.lesson_id = l.id AND p.prefix = l.output_prefix AND p.finished_at IS NULL
			JOIN transcode_chunks c ON c.job_id = p.job_id AND c.kind = ?
			WHERE l.course_id = ? AND l.output_prefix <> ''
			GROUP BY l.id, p.job_id`,
			ChunkDone, ChunkDone, ChunkAudio, ChunkDone, ChunkVideo, courseID)
	})
	if err != nil {
		return nil, fmt.Errorf("find encoding progress: %w", err)
	}
	m := make(map[string]lectern.EncodingProgress, len(rows))
	for _, r := range rows {
		if r.TotalSegs > 0 {
			// Audio segments are as long as video ones (to an AAC frame):
			// what plays is where the first of the two runs out.
			if r.AudioSegs != nil {
				r.ReadySegs = min(r.ReadySegs, *r.AudioSegs)
			}
			m[r.LessonID] = r.EncodingProgress
		}
	}
	return m, nil
}
