package migrations_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern/migrations"
)

// TestDialectsInStep checks that every migration exists for both dialects,
// so neither database is left a version behind.
func TestDialectsInStep(t *testing.T) {
	names := func(fsys fs.FS) []string {
		t.Helper()
		matches, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			b, err := fs.ReadFile(fsys, m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "-- +goose Up") {
				t.Errorf("%s does not start with a goose Up annotation", m)
			}
		}
		return matches
	}
	sqlite, postgres := names(migrations.SQLite()), names(migrations.Postgres())
	if len(sqlite) == 0 {
		t.Fatal("no SQLite migrations embedded")
	}
	if diff := cmp.Diff(sqlite, postgres); diff != "" {
		t.Errorf("migration files differ between sqlite and postgres (-sqlite +postgres):\n%s", diff)
	}
}
