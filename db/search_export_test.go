package db

import (
	"context"
	"fmt"
)

// SearchIndexRows returns how many rows search_entries holds and how many
// the full-text index holds (search_fts and search_caption_fts on SQLite; the GIN-indexed rows
// with a tsvector on PostgreSQL), which must agree.
func (db *DB) SearchIndexRows(ctx context.Context) (entries, indexed int, err error) {
	err = db.read(ctx, func(t tx) error {
		if err := t.get(ctx, &entries, `SELECT COUNT(*) FROM search_entries`); err != nil {
			return err
		}
		q := `SELECT (SELECT COUNT(*) FROM search_fts) + (SELECT COUNT(*) FROM search_caption_fts)`
		if db.dialect == DialectPostgres {
			q = `SELECT COUNT(*) FROM search_entries WHERE terms IS NOT NULL AND scope IS NOT NULL`
		}
		return t.get(ctx, &indexed, q)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count search rows: %w", err)
	}
	return entries, indexed, nil
}
