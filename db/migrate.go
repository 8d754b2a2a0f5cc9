package db

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/lectern/lectern/migrations"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrate brings the schema up to date with the embedded migrations. Each
// migration runs in its own transaction. On PostgreSQL a session advisory
// lock serialises concurrent callers, so several processes may call
// Migrate at start-up at once: one migrates, the others wait and then find
// nothing to do. Migrating an up-to-date database does nothing.
func (db *DB) Migrate(ctx context.Context) error { return db.migrate(ctx, -1) }

// migrate applies the migrations up to version, or all of them when
// version is negative.
func (db *DB) migrate(ctx context.Context, version int64) error {
	var (
		dialect goose.Dialect
		fsys    fs.FS
		opts    = []goose.ProviderOption{
			goose.WithDisableGlobalRegistry(true),
			goose.WithLogger(goose.NopLogger()),
		}
	)
	switch db.dialect {
	case DialectPostgres:
		dialect, fsys = goose.DialectPostgres, migrations.Postgres()
		// Retry the lock every second (goose's default is 5 s) for up to
		// 5 minutes: a peer's migration is usually done in well under that.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate: session locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		dialect, fsys = goose.DialectSQLite3, migrations.SQLite()
	}
	p, err := goose.NewProvider(dialect, db.db.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version < 0 {
		_, err = p.Up(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
