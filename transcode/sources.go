package transcode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lectern/lectern"
)

// keepSources is how many recordings no chunk is using a worker keeps,
// newest first: the chunks of a plan reach a worker one after another.
const keepSources = 2

// SourceCache keeps the recordings of the plans a worker works on, so
// that each of its chunks does not download the whole recording again.
type SourceCache struct {
	dir  string
	keep int
	mu   sync.Mutex
	m    map[string]*cachedSource
}

type cachedSource struct {
	path  string
	refs  int
	used  time.Time
	ready chan struct{}
	err   error
}

// NewSourceCache returns a cache of recordings in a directory of its own
// under dir ("" is os.TempDir()), named for the process: two workers may
// share a work directory.
func NewSourceCache(dir string) *SourceCache {
	if dir == "" {
		dir = os.TempDir()
	}
	name := "lectern-sources-" + strconv.Itoa(os.Getpid())
	return &SourceCache{dir: filepath.Join(dir, name), keep: keepSources, m: map[string]*cachedSource{}}
}

func (h *Handler) sources() *SourceCache {
	if h.Sources != nil {
		return h.Sources
	}
	c := NewSourceCache(h.TempDir)
	c.keep = 0 // used once: nothing is kept
	return c
}

func (c *SourceCache) file(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:12]))
}

// adopt moves the downloaded recording at path into the cache as key's.
func (c *SourceCache) adopt(key, path string) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	dst := c.file(key)
	if err := os.Rename(path, dst); err != nil {
		return
	}
	ready := make(chan struct{})
	close(ready)
	c.m[key] = &cachedSource{path: dst, used: time.Now(), ready: ready}
	c.evictLocked()
}

// get returns the local copy of the recording under key, downloading it
// from st once; release must be called when done with it.
func (c *SourceCache) get(ctx context.Context, st lectern.Storage, key string) (string, func(), error) {
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		e = &cachedSource{path: c.file(key), ready: make(chan struct{})}
		c.m[key] = e
		go c.fill(context.WithoutCancel(ctx), st, key, e)
	}
	e.refs++
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		e.refs--
		e.used = time.Now()
		c.evictLocked()
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		release()
		return "", nil, context.Cause(ctx)
	}
	if e.err != nil {
		release()
		return "", nil, e.err
	}
	return e.path, release, nil
}

func (c *SourceCache) fill(ctx context.Context, st lectern.Storage, key string, e *cachedSource) {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	err := os.MkdirAll(c.dir, 0o700)
	if err == nil {
		tmp := e.path + ".part"
		os.Remove(tmp)
		if err = downloadObject(ctx, st, key, tmp); err == nil {
			err = os.Rename(tmp, e.path)
		} else {
			os.Remove(tmp)
		}
	}
	c.mu.Lock()
	if err != nil {
		e.err = err
		delete(c.m, key) // the next chunk tries again
	}
	close(e.ready)
	c.mu.Unlock()
}

// evictLocked removes the least recently used recordings no chunk uses,
// beyond keepSources.
func (c *SourceCache) evictLocked() {
	for {
		var idle []string
		for k, e := range c.m {
			if e.refs == 0 && isClosed(e.ready) {
				idle = append(idle, k)
			}
		}
		if len(idle) <= c.keep {
			return
		}
		oldest := idle[0]
		for _, k := range idle[1:] {
			if c.m[k].used.Before(c.m[oldest].used) {
				oldest = k
			}
		}
		os.Remove(c.m[oldest].path)
		delete(c.m, oldest)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
	}
	return false
}
