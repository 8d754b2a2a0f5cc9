package db

import (
	"context"
	"fmt"
)

// LessonStorage is what a lesson's files take in storage: its source
// under SourceKey and its published output under OutputPrefix, as
// measured.
type LessonStorage struct {
	LessonID     string `db:"lesson_id"`
	SourceKey    string `db:"source_key"`
	SourceBytes  int64  `db:"source_bytes"`
	OutputPrefix string `db:"output_prefix"`
	OutputBytes  int64  `db:"output_bytes"`
}

// FindUnmeasuredLessons returns the lessons, in courses that ownerID owns
// (every course when ownerID is ""), whose source or output has not been
// measured: a new upload, a new transcode, or a lesson older than
// measuring. Each comes with its current keys and the sizes measured so
// far for the keys that did not change.
func (db *DB) FindUnmeasuredLessons(ctx context.Context, ownerID string) ([]LessonStorage, error) {
	var out []LessonStorage
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &out, `SELECT l.id AS lesson_id, l.source_key, l.output_prefix,
				CASE WHEN s.source_key = l.source_key THEN s.source_bytes ELSE 0 END AS source_bytes,
				CASE WHEN s.output_prefix = l.output_prefix THEN s.output_bytes ELSE 0 END AS output_bytes
			FROM lessons l
			JOIN courses c ON c.id = l.course_id
			LEFT JOIN lesson_storage s ON s.lesson_id = l.id
			WHERE (? = '' OR c.owner_id = ?)
			  AND (COALESCE(s.source_key, '') <> l.source_key OR COALESCE(s.output_prefix, '') <> l.output_prefix)
			ORDER BY l.id`, ownerID, ownerID)
	})
	if err != nil {
		return nil, fmt.Errorf("find unmeasured lessons: %w", err)
	}
	return out, nil
}

// RecordLessonStorage stores what a lesson's files were measured to take.
// A lesson deleted meanwhile is no error: there is nothing to record.
func (db *DB) RecordLessonStorage(ctx context.Context, ls LessonStorage) error {
	err := db.write(ctx, func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO lesson_storage (lesson_id, source_key, source_bytes, output_prefix, output_bytes)
			SELECT id, ?, ?, ?, ? FROM lessons WHERE id = ?
			ON CONFLICT (lesson_id) DO UPDATE SET source_key = excluded.source_key, source_bytes = excluded.source_bytes,
				output_prefix = excluded.output_prefix, output_bytes = excluded.output_bytes`,
			ls.SourceKey, ls.SourceBytes, ls.OutputPrefix, ls.OutputBytes, ls.LessonID)
		return err
	})
	if err != nil {
		return fmt.Errorf("record lesson storage: %w", err)
	}
	return nil
}

// StorageUsage returns the bytes that the lessons of the courses each
// owner owns take in storage, by owner ID, counting only sizes measured
// for the lessons' current source and output (see FindUnmeasuredLessons).
// ownerID "" gives every owner; owners with nothing stored are absent.
func (db *DB) StorageUsage(ctx context.Context, ownerID string) (map[string]int64, error) {
	var rows []struct {
		OwnerID string `db:"owner_id"`
		Bytes   int64  `db:"bytes"`
	}
	err := db.read(ctx, func(t tx) error {
		return t.sel(ctx, &rows, `SELECT c.owner_id,
				CAST(SUM(CASE WHEN s.source_key = l.source_key THEN s.source_bytes ELSE 0 END
				  + CASE WHEN s.output_prefix = l.output_prefix THEN s.output_bytes ELSE 0 END) AS BIGINT) AS bytes
			FROM lesson_storage s
			JOIN lessons l ON l.id = s.lesson_id
			JOIN courses c ON c.id = l.course_id
			WHERE ? = '' OR c.owner_id = ?
			GROUP BY c.owner_id`, ownerID, ownerID)
	})
	if err != nil {
		return nil, fmt.Errorf("storage usage: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		if r.Bytes > 0 {
			out[r.OwnerID] = r.Bytes
		}
	}
	return out, nil
}
