package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// forEachMediaStore runs fn with the fixture's disk storage and again with
// a fresh MinIO bucket (same database), as subtests Disk and MinIO.
func forEachMediaStore(t *testing.T, fx *fixture, fn func(t *testing.T, fx *fixture)) {
	t.Helper()
	t.Run("Disk", func(t *testing.T) { fn(t, fx) })
	t.Run("MinIO", func(t *testing.T) {
		b := testenv.S3Bucket(t)
		store, err := s3.New(context.Background(), s3.Config{
			Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL,
		})
		if err != nil {
			t.Fatalf("s3.New: %v", err)
		}
		f := *fx
		f.Store = store
		fn(t, &f)
	})
}

// mediaOutput is a published output: each file's path relative to the
// output prefix, and its bytes.
type mediaOutput map[string][]byte

// testBytes returns n bytes that differ from position to position and
// from seed to seed, so a wrong range or a wrong file shows.
func testBytes(seed string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+len(seed)*13) ^ seed[i%len(seed)]
	}
	return b
}

// publishMediaOutput stores a small HLS output (master and media playlist,
// init segment, segments, poster, thumbnails) for attempt n of a lesson
// and publishes it as the transcoder would. marker makes every file's
// bytes unique to this lesson and attempt.
func publishMediaOutput(t *testing.T, fx *fixture, lessonID string, attempt int) mediaOutput {
	t.Helper()
	marker := fmt.Sprintf("%s-attempt-%d", lessonID, attempt)
	out := mediaOutput{
		"master.m3u8": []byte("#EXTM3U\n#EXT-X-VERSION:7\n# " + marker + "\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=1200000,AVERAGE-BANDWIDTH=1000000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\n" +
			"v0/index.m3u8\n"),
		"v0/index.m3u8": []byte("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
			"#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.0,\nseg_00000.m4s\n#EXTINF:2.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n"),
		"v0/init.mp4":           testBytes(marker+"init", 700),
		"v0/seg_00000.m4s":      testBytes(marker+"seg0", 3000),
		"v0/seg_00001.m4s":      testBytes(marker+"seg1", 1500),
		"poster.jpg":            testBytes(marker+"poster", 900),
		"thumbs/thumbs.vtt":     []byte("WEBVTT\n\n00:00.000 --> 00:05.000\nsheet_0001.jpg#xywh=0,0,160,90\n"),
		"thumbs/sheet_0001.jpg": testBytes(marker+"sheet", 800),
	}
	ctx := context.Background()
	prefix := lectern.OutputPrefix(lessonID, attempt)
	for rel, body := range out {
		if _, err := fx.Store.Put(ctx, prefix+rel, bytes.NewReader(body)); err != nil {
			t.Fatalf("put %s: %v", rel, err)
		}
	}
	ready, dur, poster, thumbs := lectern.LessonReady, int64(6000), "poster.jpg", "thumbs/thumbs.vtt"
	if _, err := fx.DB.UpdateLesson(ctx, lessonID, lectern.LessonUpdate{
		Status: &ready, DurationMS: &dur, OutputPrefix: &prefix, Renditions: &testRenditions,
		Poster: &poster, Thumbnails: &thumbs,
	}); err != nil {
		t.Fatalf("publish lesson: %v", err)
	}
	return out
}

// testRenditions are the renditions publishMediaOutput records.
var testRenditions = lectern.Renditions{
	{Name: "360p", Kind: lectern.RenditionVideo, Width: 640, Height: 360, FrameRate: 30, Codecs: "avc1.64001e,mp4a.40.2",
		Bandwidth: 1200000, AverageBandwidth: 1000000},
}

// mediaClass is a course with a published lesson and the people around it.
type mediaClass struct {
	ts                  *testServer
	course              courseJSON
	teacher             *client
	student, classmate  *client
	outsider, anonymous *client
	lessonID            string
	files               mediaOutput
}

func newMediaClass(t *testing.T, fx *fixture, edit ...func(*server.Options)) *mediaClass {
	t.Helper()
	return mediaClassOn(t, newServer(t, fx, edit...))
}

// mediaClassOn is newMediaClass on a running server.
func mediaClassOn(t *testing.T, ts *testServer) *mediaClass {
	t.Helper()
	fx := ts.fixture
	m := &mediaClass{ts: ts, anonymous: ts.client(t)}
	_, m.teacher = ts.loginNew(t, lectern.RoleTeacher)
	_, m.student = ts.loginNew(t, lectern.RoleStudent)
	_, m.classmate = ts.loginNew(t, lectern.RoleStudent)
	_, m.outsider = ts.loginNew(t, lectern.RoleStudent)
	m.course = createCourse(t, m.teacher, "Acoustics")
	for _, c := range []*client{m.student, m.classmate} {
		c.do(t, "POST", "/api/v1/courses/join", map[string]string{"code": *m.course.JoinCode}).want(http.StatusOK)
	}
	m.lessonID = m.newLesson(t, "Week 1")
	m.files = publishMediaOutput(t, fx, m.lessonID, 1)
	return m
}

// newLesson creates a lesson awaiting its upload and returns its ID.
func (m *mediaClass) newLesson(t *testing.T, title string) string {
	t.Helper()
	var l struct{ ID string }
	m.teacher.do(t, "POST", "/api/v1/courses/"+m.course.ID+"/lessons", map[string]string{"publish_at": "now", "title": title}).
		want(http.StatusCreated).decode(&l)
	return l.ID
}

// playbackJSON is the answer of the playback endpoint.
type playbackJSON struct {
	HLSURL        string    `json:"hls_url"`
	ExpiresAt     time.Time `json:"expires_at"`
	PosterURL     *string   `json:"poster_url"`
	ThumbnailsVTT *string   `json:"thumbnails_vtt"`
	Captions      []any     `json:"captions"`
}

// playback asks for a lesson's playback URLs as c.
func playback(t *testing.T, c *client, lessonID string) playbackJSON {
	t.Helper()
	var p playbackJSON
	c.do(t, "GET", "/api/v1/lessons/"+lessonID+"/playback", nil).want(http.StatusOK).decode(&p)
	return p
}

// mediaBase is the URL path of a token's directory: "/media/<token>/".
func mediaBase(t *testing.T, p playbackJSON) string {
	t.Helper()
	base, ok := strings.CutSuffix(p.HLSURL, "master.m3u8")
	if !ok || !strings.HasPrefix(base, "/media/") || strings.Count(base, "/") != 3 {
		t.Fatalf("hls_url = %q, want /media/<token>/master.m3u8", p.HLSURL)
	}
	return base
}

// wantForbiddenNoBytes checks a refused media request: 403 with the JSON
// error (no body at all for HEAD) and none of the file's bytes.
func wantForbiddenNoBytes(t *testing.T, r *response, method string, file []byte) {
	t.Helper()
	if method == http.MethodHead {
		r.want(http.StatusForbidden)
		if len(r.Body) != 0 {
			t.Errorf("HEAD body = %q, want none", r.Body)
		}
	} else {
		r.wantError(http.StatusForbidden, lectern.EFORBIDDEN)
	}
	if len(file) > 0 && bytes.Contains(r.Body, file[:min(len(file), 64)]) {
		t.Errorf("refused response carries the file's bytes")
	}
}

func TestMediaDelivery(t *testing.T) {
	forEachDB(t, func(t *testing.T, fx *fixture) {
		forEachMediaStore(t, fx, func(t *testing.T, fx *fixture) {
			m := newMediaClass(t, fx)
			t.Run("EveryFileOfThePlaylists", func(t *testing.T) { testEveryFile(t, m) })
			t.Run("Ranges", func(t *testing.T) { testRanges(t, m) })
			t.Run("Conditional", func(t *testing.T) { testConditional(t, m) })
			t.Run("BadTokens", func(t *testing.T) { testBadTokens(t, m) })
			t.Run("Traversal", func(t *testing.T) { testTraversal(t, m) })
			t.Run("OtherLesson", func(t *testing.T) { testOtherLesson(t, m) })
			t.Run("Republish", func(t *testing.T) { testRepublish(t, m) })
			t.Run("DeletedLesson", func(t *testing.T) {
				id := m.newLesson(t, "Soon gone")
				publishMediaOutput(t, m.ts.fixture, id, 1)
				base := mediaBase(t, playback(t, m.student, id))
				m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
				m.teacher.do(t, "DELETE", "/api/v1/lessons/"+id, nil).want(http.StatusNoContent)
				m.anonymous.do(t, "GET", base+"master.m3u8", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			})
		})
	})
}

// testEveryFile follows the master playlist to every variant, init
// segment and segment, as a player without credentials would, and checks
// each answer's bytes and headers.
func testEveryFile(t *testing.T, m *mediaClass) {
	p := playback(t, m.student, m.lessonID)
	base := mediaBase(t, p)
	seen := map[string]bool{}
	queue := []string{"master.m3u8", "thumbs/thumbs.vtt", "poster.jpg"}
	for len(queue) > 0 {
		rel := queue[0]
		queue = queue[1:]
		if seen[rel] {
			continue
		}
		seen[rel] = true
		r := m.anonymous.do(t, "GET", base+rel, nil).want(http.StatusOK)
		if !bytes.Equal(r.Body, m.files[rel]) {
			t.Errorf("%s: body differs from the stored file (%d bytes, want %d)", rel, len(r.Body), len(m.files[rel]))
		}
		wantMediaHeaders(t, rel, r)
		for _, ref := range playlistRefs(rel, r.Body) {
			queue = append(queue, ref)
		}
	}
	var missed []string
	for rel := range m.files {
		if !seen[rel] {
			missed = append(missed, rel)
		}
	}
	if len(missed) > 0 {
		t.Errorf("files not reached from the playlists: %q", missed)
	}

	t.Run("Head", func(t *testing.T) {
		r := m.anonymous.do(t, "HEAD", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		if len(r.Body) != 0 {
			t.Errorf("HEAD body has %d bytes, want none", len(r.Body))
		}
		if got := r.Header.Get("Content-Length"); got != "3000" {
			t.Errorf("HEAD Content-Length = %q, want 3000", got)
		}
		wantMediaHeaders(t, "v0/seg_00000.m4s", r)
	})
}

// playlistRefs returns the files a playlist or WebVTT track refers to,
// relative to the output root.
func playlistRefs(rel string, body []byte) []string {
	if !strings.HasSuffix(rel, ".m3u8") && !strings.HasSuffix(rel, ".vtt") {
		return nil
	}
	dir := (&url.URL{Path: "/" + rel}).ResolveReference(&url.URL{Path: "."})
	var refs []string
	for _, line := range strings.Split(string(body), "\n") {
		ref := ""
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:URI=\""):
			ref = strings.TrimSuffix(strings.TrimPrefix(line, "#EXT-X-MAP:URI=\""), "\"")
		case strings.HasSuffix(rel, ".vtt") && strings.Contains(line, "#xywh="):
			ref, _, _ = strings.Cut(line, "#")
		case strings.HasSuffix(rel, ".m3u8") && line != "" && !strings.HasPrefix(line, "#"):
			ref = line
		}
		if ref != "" {
			refs = append(refs, strings.TrimPrefix(dir.ResolveReference(&url.URL{Path: ref}).Path, "/"))
		}
	}
	return refs
}

// wantMediaHeaders checks the content type and caching of a media file.
func wantMediaHeaders(t *testing.T, rel string, r *response) {
	t.Helper()
	want := map[string]string{
		"Content-Type":           lectern.ContentTypeFor(rel),
		"Cache-Control":          "private, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
	}
	if strings.HasSuffix(rel, ".m3u8") || strings.HasSuffix(rel, ".vtt") {
		want["Cache-Control"] = "private, no-cache"
	}
	got := map[string]string{}
	for k := range want {
		got[k] = r.Header.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s headers (-want +got):\n%s", rel, diff)
	}
	if etag := r.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Errorf("%s: ETag = %q, want a strong validator", rel, etag)
	}
}

func testRanges(t *testing.T, m *mediaClass) {
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	seg := m.files["v0/seg_00000.m4s"]
	tests := []struct {
		name, rng, contentRange string
		want                    []byte
	}{
		{"Middle", "bytes=10-19", "bytes 10-19/3000", seg[10:20]},
		{"OpenEnded", "bytes=2990-", "bytes 2990-2999/3000", seg[2990:]},
		{"Suffix", "bytes=-5", "bytes 2995-2999/3000", seg[2995:]},
		{"PastTheEndIsClipped", "bytes=2999-5000", "bytes 2999-2999/3000", seg[2999:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", tt.rng).want(http.StatusPartialContent)
			if got := r.Header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range = %q, want %q", got, tt.contentRange)
			}
			if !bytes.Equal(r.Body, tt.want) {
				t.Errorf("body = %x, want %x", r.Body, tt.want)
			}
		})
	}
	t.Run("TwoRanges", func(t *testing.T) {
		r := m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", "bytes=0-3,100-103").want(http.StatusPartialContent)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges") {
			t.Errorf("Content-Type = %q, want multipart/byteranges", ct)
		}
		if !bytes.Contains(r.Body, seg[0:4]) || !bytes.Contains(r.Body, seg[100:104]) {
			t.Errorf("multipart body lacks one of the ranges")
		}
	})
	t.Run("Unsatisfiable", func(t *testing.T) {
		r := m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", "bytes=3000-4000").
			want(http.StatusRequestedRangeNotSatisfiable)
		if got := r.Header.Get("Content-Range"); got != "bytes */3000" {
			t.Errorf("Content-Range = %q, want bytes */3000", got)
		}
		if bytes.Contains(r.Body, seg[:64]) {
			t.Errorf("416 carries the segment's bytes")
		}
	})
}

func testConditional(t *testing.T, m *mediaClass) {
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	seg := m.files["v0/seg_00001.m4s"]
	etag := m.anonymous.do(t, "GET", base+"v0/seg_00001.m4s", nil).want(http.StatusOK).Header.Get("ETag")

	t.Run("IfNoneMatch", func(t *testing.T) {
		r := m.anonymous.do(t, "GET", base+"v0/seg_00001.m4s", nil, "If-None-Match", etag).want(http.StatusNotModified)
		if len(r.Body) != 0 {
			t.Errorf("304 has a %d-byte body", len(r.Body))
		}
		m.anonymous.do(t, "GET", base+"v0/seg_00001.m4s", nil, "If-None-Match", `"something-else"`).want(http.StatusOK)
	})
	t.Run("SameETagForANewToken", func(t *testing.T) {
		// The ETag names the bytes, not the URL: a player with a fresh
		// token revalidates instead of downloading again.
		other := mediaBase(t, playback(t, m.classmate, m.lessonID))
		if got := m.anonymous.do(t, "HEAD", other+"v0/seg_00001.m4s", nil).want(http.StatusOK).Header.Get("ETag"); got != etag {
			t.Errorf("ETag through another token = %q, want %q", got, etag)
		}
	})
	t.Run("IfRange", func(t *testing.T) {
		r := m.anonymous.do(t, "GET", base+"v0/seg_00001.m4s", nil, "Range", "bytes=0-9", "If-Range", etag).
			want(http.StatusPartialContent)
		if !bytes.Equal(r.Body, seg[:10]) {
			t.Errorf("If-Range with the current ETag: body = %x, want %x", r.Body, seg[:10])
		}
		r = m.anonymous.do(t, "GET", base+"v0/seg_00001.m4s", nil, "Range", "bytes=0-9", "If-Range", `"stale"`).
			want(http.StatusOK)
		if !bytes.Equal(r.Body, seg) {
			t.Errorf("If-Range with a stale ETag: got %d bytes, want the whole %d", len(r.Body), len(seg))
		}
	})
}

func testBadTokens(t *testing.T, m *mediaClass) {
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	token := strings.TrimSuffix(strings.TrimPrefix(base, "/media/"), "/")
	payload, mac, _ := strings.Cut(token, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	master := m.files["master.m3u8"]
	for name, tok := range map[string]string{
		"TamperedPayload": flip(payload, len(payload)/2) + "." + mac,
		"TamperedMAC":     payload + "." + flip(mac, 3),
		"NoMAC":           payload,
		"Garbage":         "not-a-token",
		"EmptyParts":      ".",
	} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				r := m.anonymous.do(t, method, "/media/"+tok+"/master.m3u8", nil)
				wantForbiddenNoBytes(t, r, method, master)
			}
		})
	}
	t.Run("Expired", func(t *testing.T) {
		m.anonymous.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
		m.ts.Clock.Advance(server.DefaultMediaTokenTTL)
		for _, method := range []string{"GET", "HEAD"} {
			r := m.anonymous.do(t, method, base+"master.m3u8", nil)
			wantForbiddenNoBytes(t, r, method, master)
		}
		// Even for a range or a path that does not exist: nothing leaks
		// before the token is checked.
		wantForbiddenNoBytes(t, m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", "bytes=0-9"), "GET", nil)
		wantForbiddenNoBytes(t, m.anonymous.do(t, "GET", base+"nosuchfile", nil), "GET", nil)
	})
}

// testTraversal tries to climb out of the token's output prefix towards the
// lesson's source recording, which is never served.
func testTraversal(t *testing.T, m *mediaClass) {
	secret := []byte("SECRET SOURCE RECORDING " + m.lessonID)
	ctx := context.Background()
	if _, err := m.ts.Store.Put(ctx, lectern.SourceKey(m.lessonID, "up1"), bytes.NewReader(secret)); err != nil {
		t.Fatal(err)
	}
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	for _, p := range []string{
		"..%2f..%2fsource%2fup1",
		"../../source/up1",
		"%2e%2e/%2e%2e/source/up1",
		"v0/%2e%2e/%2e%2e/%2e%2e/source/up1",
		"..%5c..%5csource%5cup1",
		"master.m3u8%00",
		"master.m3u8%00.jpg",
		"%00",
		"",
		"/etc/passwd",
		"v0//seg_00000.m4s",
		"./master.m3u8",
	} {
		t.Run(p, func(t *testing.T) {
			r := m.anonymous.do(t, "GET", base+p, nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
				t.Errorf("status = %d, want 404 or 400; body %q", r.Status, r.Body)
			}
			if bytes.Contains(r.Body, secret) {
				t.Errorf("response carries the source recording")
			}
		})
	}
}

func testOtherLesson(t *testing.T, m *mediaClass) {
	otherID := m.newLesson(t, "Week 2")
	other := publishMediaOutput(t, m.ts.fixture, otherID, 1)
	baseA := mediaBase(t, playback(t, m.student, m.lessonID))
	baseB := mediaBase(t, playback(t, m.student, otherID))
	if r := m.anonymous.do(t, "GET", baseB+"master.m3u8", nil).want(http.StatusOK); !bytes.Equal(r.Body, other["master.m3u8"]) {
		t.Fatalf("lesson B's token serves %q, want B's master", r.Body)
	}
	for _, p := range []string{
		"../../../" + otherID + "/hls/1/master.m3u8",
		"..%2f..%2f..%2f" + otherID + "%2fhls%2f1%2fmaster.m3u8",
	} {
		r := m.anonymous.do(t, "GET", baseA+p, nil)
		if r.Status == http.StatusOK || bytes.Equal(r.Body, other["master.m3u8"]) {
			t.Errorf("lesson A's token reached B's master through %q: %d %q", p, r.Status, r.Body)
		}
	}
	// The same file name through A's token is A's file.
	if r := m.anonymous.do(t, "GET", baseA+"master.m3u8", nil).want(http.StatusOK); !bytes.Equal(r.Body, m.files["master.m3u8"]) {
		t.Errorf("lesson A's token serves %q, want A's master", r.Body)
	}
}

// testRepublish checks that a token keeps serving the output it was issued
// for after a newer transcode is published, until that output is deleted.
func testRepublish(t *testing.T, m *mediaClass) {
	id := m.newLesson(t, "Re-recorded")
	first := publishMediaOutput(t, m.ts.fixture, id, 1)
	oldBase := mediaBase(t, playback(t, m.student, id))
	second := publishMediaOutput(t, m.ts.fixture, id, 2)
	newBase := mediaBase(t, playback(t, m.student, id))

	for _, tc := range []struct {
		name string
		base string
		want mediaOutput
	}{{"OldToken", oldBase, first}, {"NewToken", newBase, second}} {
		r := m.anonymous.do(t, "GET", tc.base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
		if !bytes.Equal(r.Body, tc.want["v0/seg_00000.m4s"]) {
			t.Errorf("%s serves the wrong attempt's segment", tc.name)
		}
	}
	if err := m.ts.Store.DeletePrefix(context.Background(), lectern.OutputPrefix(id, 1)); err != nil {
		t.Fatal(err)
	}
	m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
	m.anonymous.do(t, "GET", newBase+"master.m3u8", nil).want(http.StatusOK)
}
