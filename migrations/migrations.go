// Package migrations holds Lectern's database schema: numbered goose SQL
// files, one directory per dialect, embedded into the binary. Migrations
// are forward-only and never edited once they have landed; a change is a
// new numbered file in both directories.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql
var sqliteFiles embed.FS

//go:embed postgres/*.sql
var postgresFiles embed.FS

// SQLite returns the SQLite migrations, with the files at the root.
func SQLite() fs.FS { return sub(sqliteFiles, "sqlite") }

// Postgres returns the PostgreSQL migrations, with the files at the root.
func Postgres() fs.FS { return sub(postgresFiles, "postgres") }

func sub(fsys embed.FS, dir string) fs.FS {
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		// fs.Sub fails only for an invalid path; dir is a constant that
		// the go:embed pattern above guarantees exists.
		return fsys
	}
	return s
}
