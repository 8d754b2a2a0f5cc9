// Package db stores Lectern's data in SQLite (modernc.org/sqlite, no cgo)
// or PostgreSQL (pgx through database/sql), with sqlx. Every exported
// method runs in one transaction; times come from the injected clock and
// are stored and returned in UTC, truncated to microseconds (PostgreSQL's
// precision) so that both databases give back exactly what was written.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/lectern/lectern"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialects returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is a handle on Lectern's database. It is safe for concurrent use.
type DB struct {
	db      *sqlx.DB
	dialect string
	clock   lectern.Clock
}

// Open opens url. "postgres://…" or "postgresql://…" is PostgreSQL through
// pgx's database/sql driver; "sqlite:PATH", "file:PATH" or a bare path is
// SQLite in WAL mode with a busy timeout, foreign keys on and
// synchronous=NORMAL. A nil clock is the system clock. Open pings the
// database before returning; it does not migrate it (see Migrate).
func Open(ctx context.Context, url string, clock lectern.Clock) (*DB, error) {
	if clock == nil {
		clock = lectern.SystemClock{}
	}
	var (
		x   *sqlx.DB
		d   string
		err error
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		x, err = openPostgres(url)
		d = DialectPostgres
	} else {
		x, err = openSQLite(url)
		d = DialectSQLite
	}
	if err != nil {
		return nil, err
	}
	db := &DB{db: x, dialect: d, clock: clock}
	if err := db.Ping(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(url string) (*sqlx.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: parse url: %w", err)
	}
	// pgx returns TIMESTAMPTZ values in time.Local; ask for UTC so that
	// every time the package returns is in UTC, as on SQLite.
	utc := stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	})
	sqlDB := stdlib.OpenDB(*cfg, utc)
	// Several api and worker processes share one server: stay well under
	// PostgreSQL's default max_connections of 100.
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(10)
	return sqlx.NewDb(sqlDB, "pgx"), nil
}

// sqliteParams returns the settings every SQLite connection gets.
// _txlock=immediate makes read-write transactions take the write lock at
// BEGIN, so two read-then-write transactions cannot both hold a read
// snapshot and then fail to upgrade (SQLITE_BUSY despite busy_timeout);
// read-only transactions (sql.TxOptions.ReadOnly) still begin deferred.
// _time_format=sqlite with _timezone=UTC stores times as
// "2006-01-02 15:04:05.999999999+00:00" and reads them back in time.UTC
// (columns must be declared TIMESTAMP for the driver to parse them).
func sqliteParams() [][2]string {
	return [][2]string{
		{"_busy_timeout", "10000"},
		{"_journal_mode", "WAL"},
		{"_foreign_keys", "1"},
		{"_synchronous", "NORMAL"},
		{"_txlock", "immediate"},
		{"_time_format", "sqlite"},
		{"_timezone", "UTC"},
	}
}

func openSQLite(rawURL string) (*sqlx.DB, error) {
	dsn := rawURL
	if p, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		dsn = p
	} else if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dsn = p
	}
	if dsn == "" {
		return nil, lectern.Errorf(lectern.EINVALID, "database url %q names no sqlite file", rawURL)
	}
	path, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: parse %q: %w", rawURL, err)
	}
	for _, kv := range sqliteParams() {
		if !q.Has(kv[0]) {
			q.Set(kv[0], kv[1])
		}
	}
	sqlDB, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if path == ":memory:" || path == "file::memory:" || q.Get("mode") == "memory" {
		// Each connection to an in-memory database is its own database.
		sqlDB.SetMaxOpenConns(1)
	} else {
		// Writers take turns anyway; readers run side by side in WAL mode.
		// Idle connections are kept because opening one re-runs the pragmas.
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
	}
	// sqlx knows modernc's "sqlite" driver name by no bind type; "sqlite3"
	// selects the same "?" placeholders without registering anything.
	return sqlx.NewDb(sqlDB, "sqlite3"), nil
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, markLost(err))
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// now returns the clock's time in UTC at the precision both databases keep.
func (db *DB) now() time.Time { return db.clock.Now().UTC().Truncate(time.Microsecond) }

// normTime brings a caller-supplied time to what the database will return.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tx is one transaction, with helpers that rebind "?" placeholders for
// the dialect.
type tx struct {
	*sqlx.Tx
}

func (t tx) get(ctx context.Context, dest any, query string, args ...any) error {
	return t.GetContext(ctx, dest, t.Rebind(query), args...)
}

func (t tx) sel(ctx context.Context, dest any, query string, args ...any) error {
	return t.SelectContext(ctx, dest, t.Rebind(query), args...)
}

func (t tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.ExecContext(ctx, t.Rebind(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// named runs a query with :name parameters taken from arg's db tags.
func (t tx) named(ctx context.Context, query string, arg any) (int64, error) {
	res, err := t.NamedExecContext(ctx, query, arg)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// read runs fn in a read-only transaction.
func (db *DB) read(ctx context.Context, fn func(tx) error) error {
	return db.inTx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

// write runs fn in a read-write transaction.
func (db *DB) write(ctx context.Context, fn func(tx) error) error {
	return db.inTx(ctx, nil, fn)
}

func (db *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx) error) error {
	t, err := db.db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", markLost(err))
	}
	if err := fn(tx{t}); err != nil {
		_ = t.Rollback()
		return markLost(err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", markLost(err))
	}
	return nil
}

// newID returns a random opaque id: 16 random bytes as lowercase base32
// without padding (26 characters, safe in URLs, storage keys and file names).
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// notFound reports whether err is sql.ErrNoRows.
func notFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
