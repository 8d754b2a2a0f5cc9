package disk_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/storage/disk"
	"github.com/lectern/lectern/storage/storagetest"
)

func newStore(t testing.TB, root string) *disk.Store {
	t.Helper()
	s, err := disk.New(root)
	if err != nil {
		t.Fatalf("New(%q): %v", root, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) lectern.Storage {
		return newStore(t, t.TempDir())
	})
}

func TestNewCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data", "storage")
	s := newStore(t, root)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping on a new store: %v", err)
	}
	if _, err := s.Put(t.Context(), "a.txt", strings.NewReader("a")); err != nil {
		t.Errorf("Put: %v", err)
	}
}

func TestPingFailsWhenRootIsGone(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	s := newStore(t, root)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping succeeded with the storage directory removed")
	}
}

func TestDeleteRemovesEmptyDirectories(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	ctx := t.Context()
	for _, k := range []string{"l/1/hls/a.m4s", "l/1/hls/b.m4s", "l/1/source.mp4", "l/2/x"} {
		if _, err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePrefix(ctx, "l/1/hls/"); err != nil {
		t.Fatal(err)
	}
	wantDirs(t, root, "objects", "objects/l", "objects/l/1", "objects/l/2")
	if err := s.Delete(ctx, "l/1/source.mp4"); err != nil {
		t.Fatal(err)
	}
	wantDirs(t, root, "objects", "objects/l", "objects/l/2")
	if err := s.DeletePrefix(ctx, "l/"); err != nil {
		t.Fatal(err)
	}
	wantDirs(t, root, "objects")
}

// wantDirs checks the directories under root (temp directory aside).
func wantDirs(t *testing.T, root string, want ...string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(filepath.Join(root, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("directories %q, want %q", got, want)
	}
}

func TestFailedPutLeavesNoTempFile(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	r := &brokenReader{}
	if _, err := s.Put(t.Context(), "a.mp4", r); err == nil {
		t.Fatal("Put with a broken reader succeeded")
	}
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("temp directory holds %d files after a failed Put", len(entries))
	}
}

type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n > 3 {
		return 0, os.ErrClosed
	}
	b.n++
	return copy(p, "some bytes"), nil
}

func TestNewRemovesStaleTempFiles(t *testing.T) {
	root := t.TempDir()
	newStore(t, root)
	stale := filepath.Join(root, "tmp", "put-stale")
	fresh := filepath.Join(root, "tmp", "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	newStore(t, root)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there (err %v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (maybe a Put in progress) was removed: %v", err)
	}
}

func TestObjectAndPrefixConflict(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "a/b/c"} {
		_, err := s.Put(ctx, key, strings.NewReader("y"))
		if code := lectern.ErrorCode(err); code != lectern.ECONFLICT {
			t.Errorf("Put(%q) with a/b stored: code %q (%v), want %q", key, code, err, lectern.ECONFLICT)
		}
	}
}

// A symlink planted inside the root must not lead reads or writes outside.
func TestSymlinkOutOfRootRefused(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	s := newStore(t, root)
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "objects", "evil")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.Put(ctx, "evil/planted", strings.NewReader("x")); err == nil {
		t.Errorf("Put through a symlink out of the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !os.IsNotExist(err) {
		t.Errorf("Put wrote outside the root (stat err %v)", err)
	}
	if rc, err := s.Open(ctx, "evil/secret", 0, -1); err == nil {
		rc.Close()
		t.Errorf("Open through a symlink out of the root succeeded")
	}
	if _, err := s.Stat(ctx, "evil/secret"); err == nil {
		t.Errorf("Stat through a symlink out of the root succeeded")
	}
	if f, _, err := s.OpenFile(ctx, "evil/secret"); err == nil {
		f.Close()
		t.Errorf("OpenFile (media) through a symlink out of the root succeeded")
	}
	for info, err := range s.List(ctx, "") {
		if err == nil {
			t.Errorf("List shows %q through a symlink", info.Key)
		}
	}
}

func BenchmarkPutLarge(b *testing.B) {
	storagetest.BenchmarkPut(b, newStore(b, b.TempDir()), 256<<20)
}
