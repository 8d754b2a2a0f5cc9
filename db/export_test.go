package db

import "context"

// MigrateTo applies the migrations up to version: tests use it to store
// rows as an older release did, then migrate them.
func (db *DB) MigrateTo(ctx context.Context, version int64) error { return db.migrate(ctx, version) }

// Exec runs a statement outside the repository methods, for rows only an
// older release could write.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.db.ExecContext(ctx, db.db.Rebind(query), args...)
	return err
}
