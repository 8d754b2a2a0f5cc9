package disk_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/disk"
)

// TestPutOnAFullDisk fills a real (small) filesystem: the Put that runs
// out of room fails with ENOSPACE and a message that names no path,
// leaves no object and no temp file behind, and once room is made the
// next Put succeeds.
func TestPutOnAFullDisk(t *testing.T) {
	const size = 4 << 20
	root := testenv.SmallDisk(t, size)
	s := newStore(t, root)
	ctx := t.Context()
	if _, err := s.Put(ctx, "lessons/a/first", bytes.NewReader(make([]byte, 3<<20))); err != nil {
		t.Fatalf("Put of 3 MiB on a 4 MiB disk: %v", err)
	}
	_, err := s.Put(ctx, "lessons/a/second", bytes.NewReader(make([]byte, 2<<20)))
	if code := lectern.ErrorCode(err); code != lectern.ENOSPACE {
		t.Fatalf("Put past the end of the disk: code %q (%v), want %q", code, err, lectern.ENOSPACE)
	}
	if msg := lectern.ErrorMessage(err); strings.Contains(msg, root) || strings.Contains(msg, "/") {
		t.Errorf("message %q shows a path", msg)
	}
	if _, err := s.Stat(ctx, "lessons/a/second"); lectern.ErrorCode(err) != lectern.ENOTFOUND {
		t.Errorf("Stat of the failed Put: %v, want not found", err)
	}
	free, err := disk.FreeSpace(root)
	if err != nil {
		t.Fatal(err)
	}
	if free < 900<<10 {
		t.Errorf("%d bytes free after the failed Put, want its temp file gone (about 1 MiB free)", free)
	}
	if err := s.Delete(ctx, "lessons/a/first"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Put(ctx, "lessons/a/second", bytes.NewReader(make([]byte, 2<<20))); err != nil {
		t.Errorf("Put once room is made: %v", err)
	}
}

// TestCheckFreeSpace reports a disk with less than the minimum free as
// ENOSPACE with a message that says how much is free, and no path.
func TestCheckFreeSpace(t *testing.T) {
	root := testenv.SmallDisk(t, 8<<20)
	if err := disk.CheckFreeSpace(root, 1<<20); err != nil {
		t.Fatalf("CheckFreeSpace(1 MiB) on an empty 8 MiB disk: %v", err)
	}
	err := disk.CheckFreeSpace(root, 16<<20)
	if lectern.ErrorCode(err) != lectern.ENOSPACE {
		t.Fatalf("CheckFreeSpace(16 MiB) on an 8 MiB disk: %v, want ENOSPACE", err)
	}
	msg := lectern.ErrorMessage(err)
	if !strings.Contains(msg, "free") || strings.Contains(msg, root) {
		t.Errorf("message %q: want how much is free, without the path", msg)
	}
	if err := disk.CheckFreeSpace(root, 0); err != nil {
		t.Errorf("CheckFreeSpace(0) (check off): %v", err)
	}
}

// TestRemoveStaleUploads removes the temp files of Puts that stopped
// writing before the cut-off (a crash mid-Put) and keeps younger ones.
func TestRemoveStaleUploads(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	old := filepath.Join(root, "tmp", "put-crashed")
	young := filepath.Join(root, "tmp", "put-running")
	for _, name := range []string{old, young} {
		if err := os.WriteFile(name, make([]byte, 1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveStaleUploads(t.Context(), time.Now().Add(-time.Hour), "")
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleUploads = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temp file: %v", err)
	}
}
