package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
)

// A player loads the master playlist first, every time it starts a
// lesson; a class starting together loads the same one hundreds of times.
// Serving it meant reading the stored playlist and the lesson's published
// caption tracks from the database, then writing the subtitles group in
// (media_captions.go). The answer depends on nothing but the output and
// its lesson's tracks, so it is kept in the auth cache (authcache.go),
// per output, with its ETag: a warm load costs no storage read and no
// query, and a revalidation is a 304.
//
// What changes it invalidates it, in every API process, as access is:
// the lesson's captions saved, changed, restored or deleted ("m:" with the
// lesson's ID), the lesson deleted, trashed, or put back to a draft
// ("l:"). An output published while its later chunks are still encoded
// (media_pending.go) gets its final playlists when they are done, under
// the same prefix: its master is kept only once no plan encodes it. A
// new transcode is a new attempt, so a new output and a new key:
// links issued after it never see the old playlist. An entry also lives
// at most authCacheTTL, which bounds how long a change made outside the
// API process is missed, such as the worker deleting a replaced output
// (an old link's master then stays for that long; its segments are gone
// at once). Like every entry, masters are kept only while the process
// hears invalidations. The answer is still private, no-cache: every load
// checks the token and its holder first (handleMedia).

// masterCacheBytes bounds the master playlists kept, by their sizes; past
// it they are all dropped (as authCacheMax does for the other entries).
// A transcoder's master is well under a kilobyte: this holds thousands.
const masterCacheBytes = 8 << 20

// outputKey names one published output: a lesson's transcode attempt.
type outputKey struct {
	lesson  string
	attempt int
}

// cachedMaster is a master playlist as served, and its ETag.
type cachedMaster struct {
	body    []byte
	etag    string
	expires time.Time
}

// master returns the kept master playlist of an output.
func (a *authCache) master(k outputKey) (cachedMaster, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.masters[k]
	if !ok || !a.live {
		return cachedMaster{}, false
	}
	if !a.now().Before(m.expires) {
		a.dropMaster(k)
		return cachedMaster{}, false
	}
	return m, true
}

// putMaster keeps m for k if nothing was invalidated since gen.
func (a *authCache) putMaster(gen uint64, k outputKey, m cachedMaster) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.live || gen != a.gen || len(m.body) > masterCacheBytes {
		return
	}
	a.dropMaster(k)
	if a.masterBytes+len(m.body) > masterCacheBytes {
		a.clearMasters()
	}
	m.expires = a.now().Add(authCacheTTL)
	a.masters[k] = m
	a.masterBytes += len(m.body)
}

// dropMaster forgets k's master; a.mu is held.
func (a *authCache) dropMaster(k outputKey) {
	if m, ok := a.masters[k]; ok {
		a.masterBytes -= len(m.body)
		delete(a.masters, k)
	}
}

// dropMasters forgets every master of a lesson; a.mu is held.
func (a *authCache) dropMasters(lessonID string) {
	for k := range a.masters {
		if k.lesson == lessonID {
			a.dropMaster(k)
		}
	}
}

// clearMasters forgets every master; a.mu is held.
func (a *authCache) clearMasters() {
	clear(a.masters)
	a.masterBytes = 0
}

// captionsChanged tells every API process that the published captions of
// a lesson may have changed, so its master playlists must be written
// again.
func (s *Server) captionsChanged(ctx context.Context, lessonID string) {
	s.invalidateAuth(ctx, "m:"+lessonID)
}

// serveMaster answers the master playlist of tok's output, stored at key,
// from the cache or written afresh.
func (s *Server) serveMaster(c echo.Context, tok mediaToken, key string) error {
	k := outputKey{tok.LessonID, tok.Attempt}
	m, ok := s.auth.master(k)
	if !ok {
		gen, _ := s.auth.generation()
		// Before the read: once no plan encodes the output, its
		// playlists are the final ones.
		final, err := s.outputFinished(c.Request().Context(), lectern.OutputPrefix(tok.LessonID, tok.Attempt))
		if err != nil {
			return err
		}
		body, err := s.writeMaster(c, tok.LessonID, key)
		if err != nil {
			return err
		}
		m = cachedMaster{body: body, etag: contentETag(body)}
		if final {
			s.auth.putMaster(gen, k, m)
		}
	}
	serveBytes(c, masterPlaylist, m.body, m.etag)
	return nil
}

// writeMaster reads the stored master playlist at key and adds the
// lesson's published caption tracks, if it has any.
func (s *Server) writeMaster(c echo.Context, lessonID, key string) ([]byte, error) {
	ctx := c.Request().Context()
	tracks, err := s.db.FindCaptionTracks(ctx, lessonID, false)
	if err != nil {
		return nil, err
	}
	readCtx, cancel := context.WithTimeout(ctx, s.storageTimeout)
	defer cancel()
	master, err := s.readMediaObject(readCtx, key, maxMasterPlaylistBytes)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil, lectern.Errorf(lectern.ENOTFOUND, "media file not found")
	}
	if err != nil {
		return nil, storageUnavailable(c, err)
	}
	if len(tracks) == 0 {
		return master, nil
	}
	return withSubtitles(master, tracks), nil
}

// contentETag is a strong ETag of body's bytes.
func contentETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}
