package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPrepareWorkDirRemovesOnlyStaleDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	now := time.Now()
	for name, age := range map[string]time.Duration{"crashed": 25 * time.Hour, "running": time.Hour} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(d, "out"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "source"), []byte("recording"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	if err := prepareWorkDir(dir, now, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if diff := cmp.Diff([]string{"running"}, left); diff != "" {
		t.Errorf("work directories left (-want +got):\n%s", diff)
	}
}
