package lectern_test

import (
	"testing"

	"github.com/lectern/lectern"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key  string
		want string // error code, "" for valid
	}{
		{"source.mp4", ""},
		{"lessons/l1/source.mp4", ""},
		{"lessons/l1/attempt-2/hls/720p/seg-00001.m4s", ""},
		{".hidden", ""},
		{"a..b/c", ""},
		{"dir/", lectern.EINVALID},   // prefix-shaped: no object can live there
		{"a/\xff", lectern.EINVALID}, // not UTF-8, which S3 refuses
		{"", lectern.EINVALID},
		{"/abs", lectern.EINVALID},
		{"/", lectern.EINVALID},
		{"..", lectern.EINVALID},
		{"../x", lectern.EINVALID},
		{"a/../b", lectern.EINVALID},
		{"a/..", lectern.EINVALID},
		{".", lectern.EINVALID},
		{"./a", lectern.EINVALID},
		{"a/./b", lectern.EINVALID},
		{"a\x00b", lectern.EINVALID},
		{`a\b`, lectern.EINVALID},
		{`..\x`, lectern.EINVALID},
		{"a//b", lectern.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := lectern.ErrorCode(lectern.ValidateKey(tt.key)); got != tt.want {
				t.Errorf("ValidateKey(%q) code %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"", ""},
		{"lessons/", ""},
		{"lessons/l1/hls/", ""},
		{"lessons/l1", ""},
		{"lessons/\xff/", lectern.EINVALID},
		{"/", lectern.EINVALID},
		{"/lessons/", lectern.EINVALID},
		{"../", lectern.EINVALID},
		{"lessons/../", lectern.EINVALID},
		{"a\x00", lectern.EINVALID},
		{`a\`, lectern.EINVALID},
		{"a//b/", lectern.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			if got := lectern.ErrorCode(lectern.ValidatePrefix(tt.prefix)); got != tt.want {
				t.Errorf("ValidatePrefix(%q) code %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestContentTypeFor(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"hls/master.m3u8", "application/vnd.apple.mpegurl"},
		{"hls/720p/index.M3U8", "application/vnd.apple.mpegurl"},
		{"hls/720p/seg-1.m4s", "video/iso.segment"},
		{"hls/720p/init.mp4", "video/mp4"},
		{"hls/audio/init.m4a", "audio/mp4"},
		{"legacy/seg-1.ts", "video/mp2t"},
		{"captions/en.vtt", "text/vtt; charset=utf-8"},
		{"thumbs/sprite.jpg", "image/jpeg"},
		{"poster.JPEG", "image/jpeg"},
		{"meta/probe.json", "application/json"},
		{"thumbs/sprite.png", "image/png"}, // from the system's table
		{"lessons/l1/source", "application/octet-stream"},
		{"odd.d/source", "application/octet-stream"},
		{"upload.xyz-unknown", "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := lectern.ContentTypeFor(tt.key); got != tt.want {
				t.Errorf("ContentTypeFor(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestOutputAttempt(t *testing.T) {
	tests := []struct {
		lesson, prefix string
		want           int
		ok             bool
	}{
		{"abc", lectern.OutputPrefix("abc", 3), 3, true},
		{"abc", lectern.OutputPrefix("abc", 0), 0, true},
		{"abc", lectern.OutputPrefix("other", 3), 0, false},
		{"abc", "lessons/abc/hls/x/", 0, false},
		{"abc", "lessons/abc/hls/-1/", 0, false},
		{"abc", "lessons/abc/hls/03/", 0, false},
		{"abc", "", 0, false},
	}
	for _, tt := range tests {
		got, ok := lectern.OutputAttempt(tt.lesson, tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("OutputAttempt(%q, %q) = %d, %v; want %d, %v", tt.lesson, tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}
