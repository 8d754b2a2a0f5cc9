package storagetest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lectern/lectern"
)

func testRoundTrip(t *testing.T, s lectern.Storage) {
	const key = "lessons/l1/hls/master.m3u8"
	const body = "#EXTM3U\n#EXT-X-VERSION:7\n"
	want := lectern.ObjectInfo{Key: key, Size: int64(len(body)), ContentType: lectern.ContentTypeFor(key)}

	got := put(t, s, key, body)
	if diff := cmp.Diff(want, got, ignoreModTime()); diff != "" {
		t.Errorf("Put info (-want +got):\n%s", diff)
	}
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if diff := cmp.Diff(want, st, ignoreModTime()); diff != "" {
		t.Errorf("Stat info (-want +got):\n%s", diff)
	}
	if st.ModTime.IsZero() {
		t.Errorf("Stat ModTime is zero")
	}
	if got := read(t, s, key, 0, -1); got != body {
		t.Errorf("Open read %q, want %q", got, body)
	}
}

func testEmptyObject(t *testing.T, s lectern.Storage) {
	const key = "lessons/l1/empty.vtt"
	if got := put(t, s, key, ""); got.Size != 0 {
		t.Errorf("Put size %d, want 0", got.Size)
	}
	if st, err := s.Stat(t.Context(), key); err != nil || st.Size != 0 {
		t.Errorf("Stat = %+v, %v; want size 0", st, err)
	}
	for _, r := range [][2]int64{{0, -1}, {0, 10}, {3, -1}} {
		if got := read(t, s, key, r[0], r[1]); got != "" {
			t.Errorf("Open(%d, %d) read %q, want nothing", r[0], r[1], got)
		}
	}
}

func testRanges(t *testing.T, s lectern.Storage) {
	const key = "seg/0001.m4s"
	const body = "0123456789abcdef"
	put(t, s, key, body)
	tests := []struct {
		name           string
		offset, length int64
		want           string
	}{
		{"Whole", 0, -1, body},
		{"Start", 0, 4, "0123"},
		{"Middle", 5, 3, "567"},
		{"ToEnd", 10, -1, "abcdef"},
		{"ExactlyToEnd", 10, 6, "abcdef"},
		{"LengthPastEnd", 12, 100, "cdef"},
		{"ZeroLength", 3, 0, ""},
		{"AtEnd", 16, -1, ""},
		{"PastEnd", 20, 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(t, s, key, tt.offset, tt.length); got != tt.want {
				t.Errorf("Open(%d, %d) read %q, want %q", tt.offset, tt.length, got, tt.want)
			}
		})
	}
	t.Run("NegativeOffset", func(t *testing.T) {
		rc, err := s.Open(t.Context(), key, -1, 4)
		if err == nil {
			rc.Close()
		}
		wantCode(t, err, lectern.EINVALID, "Open(-1, 4)")
	})
}

func testOverwrite(t *testing.T, s lectern.Storage) {
	const key = "lessons/l1/poster.jpg"
	put(t, s, key, "the first, longer version")
	put(t, s, key, "second")
	if got := read(t, s, key, 0, -1); got != "second" {
		t.Errorf("after overwrite read %q, want %q", got, "second")
	}
	want := []lectern.ObjectInfo{{Key: key, Size: 6, ContentType: lectern.ContentTypeFor(key)}}
	if diff := cmp.Diff(want, list(t, s, ""), ignoreModTime()); diff != "" {
		t.Errorf("List after overwrite (-want +got):\n%s", diff)
	}
}

func testMissing(t *testing.T, s lectern.Storage) {
	put(t, s, "dir/file.txt", "x")
	// "dir" and "dir/fil" are prefixes of an object, not objects.
	for _, key := range []string{"nothing.mp4", "dir", "dir/fil", "dir/file.txt/more"} {
		t.Run(key, func(t *testing.T) {
			_, err := s.Stat(t.Context(), key)
			wantCode(t, err, lectern.ENOTFOUND, "Stat")
			for _, r := range [][2]int64{{0, -1}, {2, 5}, {0, 0}} {
				rc, err := s.Open(t.Context(), key, r[0], r[1])
				if err == nil {
					rc.Close()
				}
				wantCode(t, err, lectern.ENOTFOUND, "Open")
			}
		})
	}
}

func testDelete(t *testing.T, s lectern.Storage) {
	ctx := t.Context()
	if err := s.Delete(ctx, "never/was.mp4"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	put(t, s, "a/1", "one")
	put(t, s, "a/2", "two")
	if err := s.Delete(ctx, "a/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Stat(ctx, "a/1")
	wantCode(t, err, lectern.ENOTFOUND, "Stat after Delete")
	if err := s.Delete(ctx, "a/1"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	// "a" is a prefix, not an object: deleting it removes nothing.
	if err := s.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete of a prefix: %v", err)
	}
	wantKeys(t, s, "", "a/2")
}

func testDeletePrefix(t *testing.T, s lectern.Storage) {
	ctx := t.Context()
	for _, k := range []string{"a/b/1", "a/b/c/2", "a/bc", "a/c", "b/1"} {
		put(t, s, k, k)
	}
	steps := []struct {
		prefix string
		want   []string
	}{
		{"a/b/", []string{"a/bc", "a/c", "b/1"}},
		{"nothing/", []string{"a/bc", "a/c", "b/1"}},
		{"a/b", []string{"a/c", "b/1"}},
	}
	for _, st := range steps {
		if err := s.DeletePrefix(ctx, st.prefix); err != nil {
			t.Fatalf("DeletePrefix(%q): %v", st.prefix, err)
		}
		wantKeys(t, s, "", st.want...)
	}
	// The emptied prefix takes new objects again.
	put(t, s, "a/b/1", "again")
	if got := read(t, s, "a/b/1", 0, -1); got != "again" {
		t.Errorf("read %q after re-put, want %q", got, "again")
	}
	if err := s.DeletePrefix(ctx, ""); err != nil {
		t.Fatalf(`DeletePrefix(""): %v`, err)
	}
	wantKeys(t, s, "")
}

func testList(t *testing.T, s lectern.Storage) {
	// Put out of order; '-' and '.' sort before '/', which sorts before '0'.
	for _, k := range []string{"b", "ab", "a/b", "a.txt", "a-c", "a/a/z.ts", "a/a0"} {
		put(t, s, k, strings.Repeat("x", len(k)))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a-c", "a.txt", "a/a/z.ts", "a/a0", "a/b", "ab", "b"}},
		{"a", []string{"a-c", "a.txt", "a/a/z.ts", "a/a0", "a/b", "ab"}},
		{"a/", []string{"a/a/z.ts", "a/a0", "a/b"}},
		{"a/a", []string{"a/a/z.ts", "a/a0"}},
		{"a/a/", []string{"a/a/z.ts"}},
		{"ab", []string{"ab"}},
		{"a/b/", nil},
		{"c", nil},
	}
	for _, tt := range tests {
		t.Run("Prefix="+tt.prefix, func(t *testing.T) {
			wantKeys(t, s, tt.prefix, tt.want...)
		})
	}
	want := []lectern.ObjectInfo{
		{Key: "a/a/z.ts", Size: 8, ContentType: lectern.ContentTypeFor("a/a/z.ts")},
		{Key: "a/a0", Size: 4, ContentType: lectern.ContentTypeFor("a/a0")},
	}
	if diff := cmp.Diff(want, list(t, s, "a/a"), ignoreModTime()); diff != "" {
		t.Errorf("List infos (-want +got):\n%s", diff)
	}
}

func testListStops(t *testing.T, s lectern.Storage) {
	for _, k := range []string{"x/1", "x/2", "x/3/4"} {
		put(t, s, k, k)
	}
	var got []string
	for info, err := range s.List(t.Context(), "x/") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
		if len(got) == 2 {
			break
		}
	}
	if diff := cmp.Diff([]string{"x/1", "x/2"}, got); diff != "" {
		t.Errorf("keys before break (-want +got):\n%s", diff)
	}
	wantKeys(t, s, "x/", "x/1", "x/2", "x/3/4")
}

func testBadKeys(t *testing.T, s lectern.Storage) {
	ctx := t.Context()
	put(t, s, "keep/me.txt", "kept")
	badPrefixes := []string{"../x", "/abs", "a/../b", "a/./b", "a\x00b", `a\b`, "a//b", "a\xffb"}
	// A key, unlike a prefix, may not be empty or end with "/".
	badKeys := append([]string{"", "a/", ".."}, badPrefixes...)
	for _, key := range badKeys {
		t.Run("Key="+key, func(t *testing.T) {
			_, err := s.Put(ctx, key, strings.NewReader("evil"))
			wantCode(t, err, lectern.EINVALID, "Put")
			rc, err := s.Open(ctx, key, 0, -1)
			if err == nil {
				rc.Close()
			}
			wantCode(t, err, lectern.EINVALID, "Open")
			_, err = s.Stat(ctx, key)
			wantCode(t, err, lectern.EINVALID, "Stat")
			wantCode(t, s.Delete(ctx, key), lectern.EINVALID, "Delete")
		})
	}
	for _, prefix := range badPrefixes {
		t.Run("Prefix="+prefix, func(t *testing.T) {
			wantCode(t, s.DeletePrefix(ctx, prefix), lectern.EINVALID, "DeletePrefix")
			var errs []error
			for _, err := range s.List(ctx, prefix) {
				errs = append(errs, err)
			}
			if len(errs) != 1 {
				t.Fatalf("List yielded %d items, want one error", len(errs))
			}
			wantCode(t, errs[0], lectern.EINVALID, "List")
		})
	}
	wantKeys(t, s, "", "keep/me.txt")
}
