package server

import (
	"context"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// A lesson encoded in chunks (transcode/chunks.go) is published while its
// later chunks are still being encoded: its playlists list every segment
// of the whole lesson, so the player shows the full timeline and can seek
// anywhere, but a segment of a chunk not yet encoded is not stored yet.
// Such a request is held while the chunk is encoded (it was moved to the
// front of the line by the request itself), up to pendingHold; a segment
// still missing then gets a 503 with Retry-After, which hls.js retries
// (the player allows it many retries, see player.js). See
// docs/operations.md, "Progressive publishing".

const (
	// pendingHold is how long a request for a segment not yet encoded
	// waits; below hls.js's time-to-first-byte limit (the player's
	// fragLoadPolicy), so that the player never counts it as a timeout.
	pendingHold = 8 * time.Second
	// pendingPoll is how often a held request checks its chunk.
	pendingPoll = 250 * time.Millisecond
	// pendingRetryAfter is the Retry-After, in seconds, of a segment
	// still being encoded after pendingHold.
	pendingRetryAfter = 1
	// finishedOutputsMax bounds outputSet.
	finishedOutputsMax = 10000
)

// holdPendingSegment waits while the segment rel of the output under
// prefix, video or audio, is still to be encoded, moving a video segment's
// chunk to the front of the line (the audio is encoded from the start,
// far faster than anyone plays it); it returns a 503 error when the wait
// ends before the segment is stored. Outputs known finished cost nothing.
func (s *Server) holdPendingSegment(c echo.Context, prefix, rel string) error {
	kind, seg, ok := segmentNumber(rel)
	if !ok || s.finished.has(prefix) {
		return nil
	}
	ctx := c.Request().Context()
	pending, inProgress, err := s.db.SegmentPending(ctx, prefix, kind, seg, true)
	if err != nil {
		return err
	}
	if !inProgress {
		s.finished.add(prefix)
		return nil
	}
	if !pending {
		return nil
	}
	hold, cancel := context.WithTimeout(ctx, pendingHold)
	defer cancel()
	t := time.NewTicker(pendingPoll)
	defer t.Stop()
	for {
		select {
		case <-hold.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			setRetryAfter(c, pendingRetryAfter)
			return lectern.Errorf(lectern.EUNAVAILABLE, "this part of the lesson is still being prepared; it plays in a moment")
		case <-t.C:
		}
		pending, _, err := s.db.SegmentPending(ctx, prefix, kind, seg, false)
		if err != nil {
			return err
		}
		if !pending {
			return nil
		}
	}
}

// outputFinished reports whether no plan is still encoding the output
// under prefix. Outputs known finished cost nothing.
func (s *Server) outputFinished(ctx context.Context, prefix string) (bool, error) {
	if s.finished.has(prefix) {
		return true, nil
	}
	_, inProgress, err := s.db.SegmentPending(ctx, prefix, db.ChunkVideo, 0, false)
	if err != nil {
		return false, err
	}
	if !inProgress {
		s.finished.add(prefix)
	}
	return !inProgress, nil
}

// segmentNumber returns the kind (db.ChunkVideo or db.ChunkAudio) and the
// number of a segment's path in an output ("v0/seg_00012.m4s" is video
// 12, "a/seg_00003.m4s" audio 3, as transcode names them), and false for
// any other file.
func segmentNumber(rel string) (kind string, n int, ok bool) {
	dir, name := path.Split(rel)
	switch {
	case dir == "a/":
		kind = db.ChunkAudio
	case strings.HasPrefix(dir, "v"):
		kind = db.ChunkVideo
	default:
		return "", 0, false
	}
	if !strings.HasPrefix(name, "seg_") || !strings.HasSuffix(name, ".m4s") {
		return "", 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "seg_"), ".m4s"))
	return kind, n, err == nil && n >= 0
}

// outputSet is a bounded set of output prefixes.
type outputSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func newOutputSet() *outputSet { return &outputSet{m: map[string]struct{}{}} }

func (o *outputSet) has(prefix string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.m[prefix]
	return ok
}

func (o *outputSet) add(prefix string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.m) >= finishedOutputsMax {
		clear(o.m) // a forgotten prefix costs one more query
	}
	o.m[prefix] = struct{}{}
}
