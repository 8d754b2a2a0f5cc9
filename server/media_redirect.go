package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// In S3 mode an operator chooses where segment bytes flow
// (docs/operations.md, "Media from S3: stream or redirect"). Streamed,
// they pass through Lectern: one origin, every byte checked, the API
// servers' bandwidth and CPU spent on them. Redirected, Lectern checks
// the token and its holder as always and answers 302 to a presigned URL on
// the bucket, and the browser fetches the bytes from there.
//
// The presigned URL is made for this request, after this user's check,
// and works for a short time only: a URL copied out of the browser stops
// working within DefaultMediaRedirectTTL, and the redirect carries
// Cache-Control "private, no-store" so that no shared cache keeps it and
// hands it to someone else. Deleting the lesson or removing the student
// stops new redirects at once; a URL already handed out keeps working for
// the rest of its short life. HEAD requests, playlists and captions are
// answered by Lectern itself: playlists' relative URLs must resolve under
// the token, and a presigned GET URL does not answer HEAD.

// DefaultMediaRedirectTTL is how long a presigned media URL works when
// Options.MediaRedirectTTL is zero: long enough for a player to follow
// the redirect and fetch a segment over a slow link, short enough that a
// copied URL is of little use.
const DefaultMediaRedirectTTL = 2 * time.Minute

// presigner is storage that can sign a URL on which an object is read
// without credentials (storage/s3).
type presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration, cacheControl, holder string) (*url.URL, error)
}

// cacheRedirect is the Cache-Control of a media redirect.
const cacheRedirect = "private, no-store"

// redirectMedia answers with a redirect to a presigned URL of key made
// for userID: the URL carries, signed, an opaque tag of the user (see
// holderTag), so that two users' URLs for the same segment at the same
// moment differ and no cache keyed on the URL serves one user's request
// with another's answer. A URL still works for whoever holds it until it
// expires: S3 cannot tell who asks, which is why it lives so briefly.
func (s *Server) redirectMedia(c echo.Context, key, userID string) error {
	// The bytes themselves may stay in the browser's own cache for as long
	// as the URL works; shared caches must not keep them.
	objectCache := "private, max-age=" + strconv.Itoa(int(s.presignTTL/time.Second))
	u, err := s.presign.PresignGet(c.Request().Context(), key, s.presignTTL, objectCache, holderTag(s.mediaKey, userID))
	if err != nil {
		return storageUnavailable(c, fmt.Errorf("presign media file: %w", err))
	}
	c.Response().Header().Set(echo.HeaderCacheControl, cacheRedirect)
	return c.Redirect(http.StatusFound, u.String())
}

// holderTag is the presigned URLs' tag of userID: stable per user, and
// opaque, so that the bucket's and any CDN's logs do not carry user IDs.
func holderTag(key []byte, userID string) string {
	return hex.EncodeToString(mediaMAC(key, []byte("presign-holder\x00"+userID))[:8])
}
