package db

import (
	"context"
	"fmt"

	"github.com/lectern/lectern"
)

// FindEncodingProgress returns how far the encoding of lessonID's
// published output has come, from the states of its plan's video chunks
// (see lectern.EncodingProgress): ENOTFOUND when the lesson's output is
// not one of a plan still running (nothing published, a previous
// recording, or a plan finished). All segments are done between the last
// chunk and the finished output's publication. One query.
func (db *DB) FindEncodingProgress(ctx context.Context, lessonID string) (lectern.EncodingProgress, error) {
	var rows []lectern.EncodingProgress
	err := db.read(ctx, func(t tx) error {
		// A chunk covers segments [start_seg, start_seg+segs); the part
		// stored from 0:00 ends where the first chunk not done starts.
		return t.sel(ctx, &rows, `SELECT
				COALESCE(MIN(CASE WHEN c.state <> ? THEN c.start_seg END), SUM(c.segs)) AS ready_segs,
				SUM(CASE WHEN c.state = ? THEN c.segs ELSE 0 END) AS done_segs,
				SUM(c.segs) AS total_segs
			FROM lessons l
			JOIN transcode_plans p ON p.lesson_id = l.id AND p.prefix = l.output_prefix AND p.finished_at IS NULL
			JOIN transcode_chunks c ON c.job_id = p.job_id AND c.kind = ?
			WHERE l.id = ? AND l.output_prefix <> ''
			GROUP BY p.job_id, p.created_at
			ORDER BY p.created_at DESC LIMIT 1`,
			ChunkDone, ChunkDone, ChunkVideo, lessonID)
	})
	if err != nil {
		return lectern.EncodingProgress{}, fmt.Errorf("find encoding progress: %w", err)
	}
	if len(rows) == 0 || rows[0].TotalSegs == 0 {
		return lectern.EncodingProgress{}, lectern.Errorf(lectern.ENOTFOUND, "lesson %s does not play an output being encoded in chunks", lessonID)
	}
	return rows[0], nil
}
