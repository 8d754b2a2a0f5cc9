package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultMediaTokenTTL is how long a playback URL works when
// Options.MediaTokenTTL is zero. The token is a prefix of every playlist
// and segment URL the player derives from the master playlist, so it must
// outlast a whole viewing: a three-hour lecture watched with pauses must not
// break half-way. It also bounds how long a leaked URL keeps working; a
// student removed from the course loses theirs at once, because media
// delivery checks the holder's membership on every request.
const DefaultMediaTokenTTL = 6 * time.Hour

// mediaTokenVersion is the first byte of every token payload, so that the
// format can change without old tokens being misread.
const mediaTokenVersion = 1

// maxMediaTokenLen refuses absurd tokens before decoding them.
const maxMediaTokenLen = 512

// mediaToken is what a playback URL grants: reading the output of one
// transcode attempt of a lesson, on behalf of a user, until Expires.
type mediaToken struct {
	LessonID string
	UserID   string
	Attempt  int
	Expires  time.Time
}

// errBadMediaToken is the error of every token that does not verify. One
// message for all causes tells a prober nothing.
var errBadMediaToken = errors.New("media token is malformed, tampered with or expired")

// deriveMediaKey derives the key that signs media tokens from the server
// secret, so that a MAC made for another purpose with the same secret can
// never pass as a media token.
func deriveMediaKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("lectern media token key"))
	return m.Sum(nil)
}

// mediaTokenTTL applies the default to a configured TTL.
func mediaTokenTTL(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl < 0:
		return 0, fmt.Errorf("server: Options.MediaTokenTTL %v is negative", ttl)
	case ttl == 0:
		return DefaultMediaTokenTTL, nil
	}
	return ttl, nil
}

// signMediaToken encodes t as base64url(payload) "." base64url(MAC); both
// parts use only URL-safe characters, so the token can be a path segment.
// The payload is binary (version, expiry in Unix seconds, attempt, lesson
// ID, user ID) to keep the token, repeated in every segment URL, short.
func signMediaToken(key []byte, t mediaToken) string {
	p := []byte{mediaTokenVersion}
	p = binary.BigEndian.AppendUint64(p, uint64(t.Expires.Unix()))
	p = binary.AppendUvarint(p, uint64(t.Attempt))
	p = appendString(p, t.LessonID)
	p = appendString(p, t.UserID)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(p) + "." + enc.EncodeToString(mediaMAC(key, p))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func mediaMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}

// verifyMediaToken checks the MAC of s in constant time, then decodes it
// and checks that it has not expired at now (a token is valid strictly
// before its expiry). Every failure is errBadMediaToken.
func verifyMediaToken(key []byte, s string, now time.Time) (mediaToken, error) {
	if len(s) > maxMediaTokenLen {
		return mediaToken{}, errBadMediaToken
	}
	ps, ms, ok := strings.Cut(s, ".")
	if !ok {
		return mediaToken{}, errBadMediaToken
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(ps)
	mac, err2 := enc.DecodeString(ms)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, mediaMAC(key, payload)) {
		return mediaToken{}, errBadMediaToken
	}
	t, ok := decodeMediaToken(payload)
	if !ok || !now.Before(t.Expires) {
		return mediaToken{}, errBadMediaToken
	}
	return t, nil
}

// decodeMediaToken parses a payload whose MAC has been checked; it still
// refuses anything signMediaToken would not have written.
func decodeMediaToken(p []byte) (mediaToken, bool) {
	if len(p) < 9 || p[0] != mediaTokenVersion {
		return mediaToken{}, false
	}
	var t mediaToken
	t.Expires = time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0).UTC()
	p = p[9:]
	attempt, n := binary.Uvarint(p)
	if n <= 0 || attempt > 1<<31 {
		return mediaToken{}, false
	}
	t.Attempt = int(attempt)
	p = p[n:]
	var ok bool
	if t.LessonID, p, ok = readString(p); !ok {
		return mediaToken{}, false
	}
	if t.UserID, p, ok = readString(p); !ok || len(p) != 0 || t.LessonID == "" || t.UserID == "" {
		return mediaToken{}, false
	}
	return t, true
}

func readString(p []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return "", nil, false
	}
	p = p[k:]
	return string(p[:n]), p[n:], true
}
