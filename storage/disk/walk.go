package disk

import (
	"context"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lectern/lectern"
)

// List implements lectern.Storage. Keys come in byte order of the key
// string, as S3 lists them; directories and temp files are never listed.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[lectern.ObjectInfo, error] {
	return func(yield func(lectern.ObjectInfo, error) bool) {
		if err := lectern.ValidatePrefix(prefix); err != nil {
			yield(lectern.ObjectInfo{}, err)
			return
		}
		root, err := s.open()
		if err != nil {
			yield(lectern.ObjectInfo{}, err)
			return
		}
		defer root.Close()
		w := walker{ctx: ctx, root: root, prefix: prefix}
		w.visit = func(key string, fi fs.FileInfo) bool {
			return yield(objectInfo(key, fi), nil)
		}
		if _, err := w.dir(startDir(prefix)); err != nil {
			yield(lectern.ObjectInfo{}, fmt.Errorf("disk: list %q: %w", prefix, err))
		}
	}
}

// DeletePrefix implements lectern.Storage. Directories left empty are
// removed.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := lectern.ValidatePrefix(prefix); err != nil {
		return err
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer root.Close()
	var removeErr error
	w := walker{ctx: ctx, root: root, prefix: prefix, prune: true}
	w.visit = func(key string, _ fs.FileInfo) bool {
		if err := root.Remove(physical(key)); err != nil && !isNotFound(err) {
			removeErr = err
			return false
		}
		return true
	}
	start := startDir(prefix)
	_, err = w.dir(start)
	if err == nil {
		err = removeErr
	}
	if err != nil {
		return fmt.Errorf("disk: delete prefix %q: %w", prefix, err)
	}
	pruneParents(root, physical(start))
	return nil
}

// walker visits, in key order, the objects whose keys start with prefix.
type walker struct {
	ctx    context.Context
	root   *os.Root
	prefix string
	// prune removes each directory once visited, when it is left empty.
	prune bool
	// visit is called for each object; returning false stops the walk.
	visit func(key string, fi fs.FileInfo) bool
}

// dir walks the directory holding the keys that start with rel + "/" ("" is
// the top). It reports false when visit asked to stop.
func (w *walker) dir(rel string) (bool, error) {
	if err := w.ctx.Err(); err != nil {
		return false, err
	}
	entries, err := w.readDir(rel)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		key := path.Join(rel, e.Name())
		switch {
		case e.IsDir():
			if !strings.HasPrefix(key+"/", w.prefix) && !strings.HasPrefix(w.prefix, key+"/") {
				continue
			}
			if more, err := w.dir(key); !more || err != nil {
				return more, err
			}
			if w.prune {
				_ = w.root.Remove(physical(key)) // fails, as it should, when not empty
			}
		case e.Type().IsRegular() && strings.HasPrefix(key, w.prefix):
			fi, err := e.Info()
			if isNotFound(err) {
				continue // deleted while we walked
			}
			if err != nil {
				return false, err
			}
			if !w.visit(key, fi) {
				return false, nil
			}
		}
	}
	return true, nil
}

// readDir returns the entries of the directory for rel, sorted so that a
// depth-first walk yields keys in key order: a directory sorts as its name
// plus "/", since all its keys continue that way ("a-b" < "a/x" < "a0").
// A missing directory is empty.
func (w *walker) readDir(rel string) ([]fs.DirEntry, error) {
	f, err := w.root.Open(physical(rel))
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		if isNotFound(err) {
			return nil, nil // a file where a directory was expected
		}
		return nil, err
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int {
		return strings.Compare(sortName(a), sortName(b))
	})
	return entries, nil
}

func sortName(e fs.DirEntry) string {
	if e.IsDir() {
		return e.Name() + "/"
	}
	return e.Name()
}

// startDir is the deepest directory holding every key that starts with
// prefix: "a/b/" and "a/b/c" start at "a/b", "a" at the top.
func startDir(prefix string) string {
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		return prefix[:i]
	}
	return ""
}

// physical returns the file name, relative to the root, of a key or of a
// directory of keys ("" for the top).
func physical(rel string) string {
	return filepath.Join(objectsDir, filepath.FromSlash(rel))
}
