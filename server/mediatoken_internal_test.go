package server

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMediaToken(t *testing.T) {
	key := deriveMediaKey([]byte("0123456789abcdef0123456789abcdef"))
	otherKey := deriveMediaKey([]byte("another secret, same length....."))
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	valid := mediaToken{LessonID: "lesson1", UserID: "user1", Attempt: 3, Expires: now.Add(time.Hour)}
	good := signMediaToken(key, valid)
	enc := base64.RawURLEncoding
	payloadPart, macPart, _ := strings.Cut(good, ".")
	payload, _ := enc.DecodeString(payloadPart)
	mac, _ := enc.DecodeString(macPart)

	// signed is a token whose MAC is right but whose payload is raw bytes:
	// it checks that decoding refuses what signMediaToken never writes.
	signed := func(p []byte) string { return enc.EncodeToString(p) + "." + enc.EncodeToString(mediaMAC(key, p)) }
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		return c
	}
	header := binary.BigEndian.AppendUint64([]byte{mediaTokenVersion}, uint64(valid.Expires.Unix()))
	withIDs := func(h []byte, ids ...string) []byte {
		p := binary.AppendUvarint(append([]byte(nil), h...), 3)
		for _, id := range ids {
			p = appendString(p, id)
		}
		return p
	}
	otherLesson := signMediaToken(key, mediaToken{LessonID: "lesson2", UserID: "user1", Attempt: 3, Expires: valid.Expires})
	otherPayload, _, _ := strings.Cut(otherLesson, ".")

	tests := []struct {
		name  string
		token string
		key   []byte
		now   time.Time
		ok    bool
	}{
		{"Valid", good, key, now, true},
		{"ValidUntilTheLastSecond", good, key, valid.Expires.Add(-time.Nanosecond), true},
		{"ExpiredAtExpiry", good, key, valid.Expires, false},
		{"Expired", good, key, valid.Expires.Add(time.Hour), false},
		{"WrongSecret", good, otherKey, now, false},
		{"TamperedPayload", enc.EncodeToString(flip(payload, len(payload)-1)) + "." + macPart, key, now, false},
		{"PayloadOfAnotherLesson", otherPayload + "." + macPart, key, now, false},
		{"TamperedMAC", payloadPart + "." + enc.EncodeToString(flip(mac, 0)), key, now, false},
		{"TruncatedMAC", payloadPart + "." + enc.EncodeToString(mac[:16]), key, now, false},
		{"MACOfRawSecret", payloadPart + "." + enc.EncodeToString(mediaMAC([]byte("0123456789abcdef0123456789abcdef"), payload)), key, now, false},
		{"Empty", "", key, now, false},
		{"NoDot", payloadPart + macPart, key, now, false},
		{"TwoDots", good + ".x", key, now, false},
		{"NotBase64", "!!!." + macPart, key, now, false},
		{"Padded", payloadPart + "=." + macPart, key, now, false},
		{"TooLong", strings.Repeat("a", 600) + "." + macPart, key, now, false},
		{"SignedButShort", signed(header[:5]), key, now, false},
		{"SignedOtherVersion", signed(withIDs(append([]byte{2}, header[1:]...), "lesson1", "user1")), key, now, false},
		{"SignedTrailingBytes", signed(append(withIDs(header, "lesson1", "user1"), 0)), key, now, false},
		{"SignedMissingUser", signed(withIDs(header, "lesson1")), key, now, false},
		{"SignedEmptyUser", signed(withIDs(header, "lesson1", "")), key, now, false},
		{"SignedLengthPastEnd", signed(append(withIDs(header, "lesson1"), 50, 'u')), key, now, false},
		{"SignedValidLayout", signed(withIDs(header, "lesson1", "user1")), key, now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyMediaToken(tt.key, tt.token, tt.now)
			if !tt.ok {
				if err == nil {
					t.Fatalf("verify(%q) = %+v, want an error", tt.token, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("verify(%q): %v", tt.token, err)
			}
			if diff := cmp.Diff(valid, got); diff != "" {
				t.Errorf("verified token (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("URLSafe", func(t *testing.T) {
		long := signMediaToken(key, mediaToken{LessonID: strings.Repeat("l", 26), UserID: strings.Repeat("u", 26),
			Attempt: 1 << 20, Expires: now.Add(DefaultMediaTokenTTL)})
		if i := strings.IndexFunc(long, func(r rune) bool {
			return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", r)
		}); i >= 0 {
			t.Errorf("token %q has %q, which is not URL-safe", long, long[i])
		}
		if len(long) > 160 {
			t.Errorf("token is %d characters; every segment URL repeats it", len(long))
		}
	})
}

func TestMediaTokenTTL(t *testing.T) {
	if got, err := mediaTokenTTL(0); err != nil || got != DefaultMediaTokenTTL {
		t.Errorf("mediaTokenTTL(0) = %v, %v; want the default %v", got, err, DefaultMediaTokenTTL)
	}
	if got, err := mediaTokenTTL(time.Minute); err != nil || got != time.Minute {
		t.Errorf("mediaTokenTTL(1m) = %v, %v; want 1m", got, err)
	}
	if _, err := mediaTokenTTL(-time.Second); err == nil {
		t.Error("mediaTokenTTL(-1s) succeeded; want an error")
	}
}
