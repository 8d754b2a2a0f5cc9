// Package disk stores Lectern's objects as files in a local directory: the
// storage of the embedded, one-machine setup.
package disk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lectern/lectern"
)

const (
	// objectsDir and tmpDir are siblings under the root, so that no key can
	// name a temp file and a rename between them never crosses a filesystem.
	objectsDir = "objects"
	tmpDir     = "tmp"
	// staleTemp is the age past which New removes temp files: what a crash
	// in the middle of a Put leaves behind. Far longer than any upload.
	// RemoveStaleUploads does the same with the age it is given.
	staleTemp = 24 * time.Hour
	dirPerm   = 0o750
	filePerm  = 0o640
)

// Store is a lectern.Storage backed by a directory. The object under key
// lives in the file root/objects/<key>; Put writes root/tmp/ first and
// renames, so readers never see a partial object.
//
// Unlike S3, a name cannot be both an object and a prefix on disk: with
// "a" stored, Put("a/b") fails with ECONFLICT, and the other way round.
type Store struct {
	dir string
	// root stays open for OpenFile, the media path: opening the root
	// directory once per request was a measurable share of a segment's
	// cost. The other operations open their own, as they always have.
	root *os.Root
	// dirFile is the same directory, open for openBeneath (Linux's
	// openat2): one system call per media file where os.Root makes an
	// openat and a close per path component.
	dirFile *os.File
}

var _ lectern.Storage = (*Store)(nil)

// New returns a Store rooted at root, creating the directory when missing,
// and removes temp files left by Puts that were interrupted more than a day
// ago.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("disk: root directory is empty")
	}
	dir, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("disk: root %s: %w", root, err)
	}
	for _, d := range []string{objectsDir, tmpDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), dirPerm); err != nil {
			return nil, fmt.Errorf("disk: create %s: %w", d, err)
		}
	}
	s := &Store{dir: dir}
	if s.root, err = s.open(); err != nil {
		return nil, err
	}
	if s.dirFile, err = os.Open(dir); err != nil {
		return nil, fmt.Errorf("disk: open root: %w", err)
	}
	if _, err := s.RemoveStaleUploads(context.Background(), time.Now().Add(-staleTemp), ""); err != nil {
		return nil, err
	}
	return s, nil
}

// Ping reports whether the store's directory can be written, for readiness
// checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Stat(objectsDir)
	if err != nil {
		return fmt.Errorf("disk: ping: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("disk: ping: %s is not a directory", filepath.Join(s.dir, objectsDir))
	}
	name, f, err := createTemp(root)
	if err != nil {
		return fmt.Errorf("disk: ping: %w", err)
	}
	f.Close()
	if err := root.Remove(name); err != nil {
		return fmt.Errorf("disk: ping: %w", err)
	}
	return nil
}

// Put implements lectern.Storage. The bytes go to a temp file that is
// synced, then renamed over the object, so a failed or canceled Put leaves
// the previous object untouched. A full disk is an ENOSPACE error, and the
// temp file is removed so that the failed Put holds no space.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (lectern.ObjectInfo, error) {
	name, err := objectName(key)
	if err != nil {
		return lectern.ObjectInfo{}, err
	}
	root, err := s.open()
	if err != nil {
		return lectern.ObjectInfo{}, err
	}
	defer root.Close()
	tmp, size, err := writeTemp(ctx, root, r)
	if isNoSpace(err) {
		return lectern.ObjectInfo{}, fmt.Errorf("disk: put %s: %w", key, noSpace(err))
	}
	if err != nil {
		return lectern.ObjectInfo{}, fmt.Errorf("disk: put %s: %w", key, err)
	}
	if err := commit(ctx, root, tmp, name); err != nil {
		_ = root.Remove(tmp)
		if isConflict(err) {
			return lectern.ObjectInfo{}, lectern.Errorf(lectern.ECONFLICT,
				"storage key %q conflicts with an existing key (on disk an object cannot also be a prefix)", key)
		}
		if isNoSpace(err) { // a new directory needs a block too
			err = noSpace(err)
		}
		return lectern.ObjectInfo{}, fmt.Errorf("disk: put %s: %w", key, err)
	}
	info := lectern.ObjectInfo{Key: key, Size: size, ContentType: lectern.ContentTypeFor(key)}
	if fi, err := root.Stat(name); err == nil {
		info.ModTime = fi.ModTime().UTC()
	}
	return info, nil
}

// Open implements lectern.Storage. The returned reader is also an
// io.ReadSeeker and io.ReaderAt over the requested range.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	name, err := objectName(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, lectern.Errorf(lectern.EINVALID, "negative offset %d", offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := s.open()
	if err != nil {
		return nil, err
	}
	defer root.Close() // files opened through a Root outlive it
	f, err := root.Open(name)
	if err != nil {
		return nil, objectError("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, objectError("open", key, err)
	}
	offset = min(offset, fi.Size())
	n := fi.Size() - offset
	if length >= 0 {
		n = min(n, length)
	}
	return section{io.NewSectionReader(f, offset, n), f}, nil
}

// OpenFile opens the object under key for reading and describes it from
// the open file. The caller closes the file. It is what media delivery
// uses: handed an *os.File, net/http sends the bytes with sendfile, never
// copying them through user space.
func (s *Store) OpenFile(ctx context.Context, key string) (*os.File, lectern.ObjectInfo, error) {
	name, err := objectName(key)
	if err != nil {
		return nil, lectern.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, lectern.ObjectInfo{}, err
	}
	f, ok, err := openBeneath(s.dirFile, name)
	if !ok {
		f, err = s.root.Open(name)
	}
	if err != nil {
		return nil, lectern.ObjectInfo{}, objectError("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, lectern.ObjectInfo{}, objectError("open", key, err)
	}
	return f, objectInfo(key, fi), nil
}

// section is an open byte range of a file.
type section struct {
	*io.SectionReader
	f *os.File
}

// Close closes the underlying file.
func (s section) Close() error { return s.f.Close() }

// Stat implements lectern.Storage.
func (s *Store) Stat(ctx context.Context, key string) (lectern.ObjectInfo, error) {
	name, err := objectName(key)
	if err != nil {
		return lectern.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return lectern.ObjectInfo{}, err
	}
	root, err := s.open()
	if err != nil {
		return lectern.ObjectInfo{}, err
	}
	defer root.Close()
	fi, err := root.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return lectern.ObjectInfo{}, objectError("stat", key, err)
	}
	return objectInfo(key, fi), nil
}

// Delete implements lectern.Storage. Directories left empty are removed.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := objectName(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	if isNotFound(err) || (err == nil && fi.IsDir()) {
		return nil // a directory is a prefix, not an object
	}
	if err := root.Remove(name); err != nil && !isNotFound(err) {
		return fmt.Errorf("disk: delete %s: %w", key, err)
	}
	pruneParents(root, filepath.Dir(name))
	return nil
}

func (s *Store) open() (*os.Root, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("disk: open root: %w", err)
	}
	return root, nil
}

// RemoveStaleUploads deletes the temp files of Puts last written before
// before, and returns how many it deleted: what a crash in the middle of a
// Put leaves behind. Younger ones may belong to a Put in progress, in this
// process or another sharing the directory. skip is unused (the S3 store's
// signature: temp files are not objects).
func (s *Store) RemoveStaleUploads(ctx context.Context, before time.Time, skip string) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		return 0, fmt.Errorf("disk: read temp directory: %w", err)
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, tmpDir, e.Name())); err != nil && !isNotFound(err) {
			return n, fmt.Errorf("disk: remove stale temp file: %w", err)
		}
		n++
	}
	return n, nil
}

// objectName validates key and returns its file name relative to the root.
func objectName(key string) (string, error) {
	if err := lectern.ValidateKey(key); err != nil {
		return "", err
	}
	rel := filepath.FromSlash(key)
	// Belt and braces: ValidateKey already refuses what could escape; this
	// checks the resolved name too (and os.Root refuses symlinks out).
	if !filepath.IsLocal(rel) {
		return "", lectern.Errorf(lectern.EINVALID, "storage key %q leaves the storage root", key)
	}
	return filepath.Join(objectsDir, rel), nil
}

func createTemp(root *os.Root) (string, *os.File, error) {
	name := path.Join(tmpDir, "put-"+rand.Text())
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return "", nil, err
	}
	return name, f, nil
}

// writeTemp copies r into a new synced temp file and returns its name.
func writeTemp(ctx context.Context, root *os.Root, r io.Reader) (string, int64, error) {
	name, f, err := createTemp(root)
	if err != nil {
		return "", 0, err
	}
	size, err := io.Copy(f, ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(name)
		return "", 0, err
	}
	return name, size, nil
}

// commit renames the temp file tmp to name and syncs the directory so the
// rename survives a crash.
func commit(ctx context.Context, root *os.Root, tmp, name string) error {
	dir := filepath.Dir(name)
	var err error
	// A concurrent Delete may prune a directory between MkdirAll and Rename;
	// the retries cover that race.
	for range 3 {
		if err = ctx.Err(); err != nil {
			return err
		}
		if err = root.MkdirAll(dir, dirPerm); err != nil {
			return err
		}
		if err = root.Rename(tmp, name); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pruneParents removes dir and its parents while they are empty, stopping
// at the objects directory. Removal of a non-empty directory fails, which
// is what stops it, so errors are not reported.
func pruneParents(root *os.Root, dir string) {
	for dir != objectsDir && dir != "." && dir != string(filepath.Separator) {
		if root.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func objectInfo(key string, fi fs.FileInfo) lectern.ObjectInfo {
	return lectern.ObjectInfo{
		Key:         key,
		Size:        fi.Size(),
		ContentType: lectern.ContentTypeFor(key),
		ModTime:     fi.ModTime().UTC(),
	}
}

// objectError turns a failed lookup (or err == nil for a directory) into
// ENOTFOUND, and anything else into a wrapped error.
func objectError(op, key string, err error) error {
	if err == nil || isNotFound(err) {
		return lectern.Errorf(lectern.ENOTFOUND, "object %q not found", key)
	}
	return fmt.Errorf("disk: %s %s: %w", op, key, err)
}

// isNotFound reports a missing file, or a path through a file ("a/b" where
// "a" is an object).
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// isConflict reports a rename onto a directory or through a file.
func isConflict(err error) bool {
	return errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY)
}
