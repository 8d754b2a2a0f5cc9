package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// tusClient speaks the tus 1.0 protocol with a logged-in client's cookies.
type tusClient struct {
	*client
}

func (c tusClient) req(t *testing.T, method, url string, body io.Reader, headers ...string) (*http.Response, error) {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = c.base + url
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// create starts an upload of size bytes for lessonID and returns its URL.
func (c tusClient) create(t *testing.T, lessonID string, size int64) (*http.Response, string) {
	t.Helper()
	meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lessonID)) +
		",filename " + base64.StdEncoding.EncodeToString([]byte("lesson.mp4"))
	resp, err := c.req(t, "POST", "/api/v1/uploads", nil, "Upload-Length", strconv.FormatInt(size, 10), "Upload-Metadata", meta)
	if err != nil {
		t.Fatalf("create upload: %v", err)
	}
	return resp, resp.Header.Get("Location")
}

func (c tusClient) offset(t *testing.T, url string) int64 {
	t.Helper()
	resp, err := c.req(t, "HEAD", url, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s: %v %v", url, resp.Status, err)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		t.Fatalf("Upload-Offset %q: %v", resp.Header.Get("Upload-Offset"), err)
	}
	return n
}

func (c tusClient) patch(t *testing.T, url string, offset int64, body io.Reader) (*http.Response, error) {
	t.Helper()
	return c.req(t, "PATCH", url, body, "Upload-Offset", strconv.FormatInt(offset, 10),
		"Content-Type", "application/offset+octet-stream")
}

// brokenReader yields n bytes of data and then fails, like a network that
// drops mid-request.
type brokenReader struct {
	r io.Reader
	n int
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errors.New("network dropped")
	}
	if len(p) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= n
	return n, err
}

// tusServer is a server with resumable uploads.
type tusServer struct {
	*testServer
	// partials lists what partial uploads have left: files in the uploads
	// directory, or objects and unfinished multipart uploads in the bucket.
	partials func(t *testing.T) []string
}

// tusStores runs fn with a server whose partial uploads are on disk and
// with one whose partial uploads are S3 multipart uploads in MinIO.
func tusStores(t *testing.T, maxBytes int64, fn func(t *testing.T, ts *tusServer)) {
	t.Helper()
	t.Run("Disk", func(t *testing.T) {
		fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		dir := t.TempDir()
		ts := newServer(t, fx, func(o *server.Options) {
			o.Uploads.Dir = dir
			o.MaxUploadBytes = maxBytes
		})
		fn(t, &tusServer{testServer: ts, partials: func(t *testing.T) []string {
			t.Helper()
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return names
		}})
	})
	t.Run("S3", func(t *testing.T) {
		b := testenv.S3Bucket(t)
		fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		store, err := s3.New(context.Background(), s3.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey,
			SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL})
		if err != nil {
			t.Fatalf("s3 storage: %v", err)
		}
		fx.Store = store
		ts := newServer(t, fx, func(o *server.Options) {
			o.Uploads.S3 = server.UploadS3{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
				Bucket: b.Bucket, UseSSL: b.UseSSL}
			o.MaxUploadBytes = maxBytes
			o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		})
		mc, err := minio.New(b.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: b.UseSSL})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, &tusServer{testServer: ts, partials: func(t *testing.T) []string {
			t.Helper()
			ctx := context.Background()
			names := []string{}
			for obj := range mc.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Prefix: "uploads/", Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				names = append(names, obj.Key)
			}
			for up := range mc.ListIncompleteUploads(ctx, b.Bucket, "uploads/", true) {
				if up.Err != nil {
					t.Fatal(up.Err)
				}
				names = append(names, "multipart upload of "+up.Key)
			}
			return names
		}})
	})
}

// newLessonFor creates a course taught by a new teacher with one lesson.
func newLessonFor(t *testing.T, ts *testServer) (teacher *client, lessonID string) {
	t.Helper()
	_, teacher = ts.loginNew(t, lectern.RoleTeacher)
	var course lectern.Course
	teacher.do(t, "POST", "/api/v1/courses", map[string]string{"title": "Course"}).want(http.StatusCreated).decode(&course)
	var lesson struct{ ID string }
	teacher.do(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Lesson"}).
		want(http.StatusCreated).decode(&lesson)
	return teacher, lesson.ID
}

// sourceOf reads the lesson's stored source back.
func sourceOf(t *testing.T, ts *testServer, lessonID string) []byte {
	t.Helper()
	ctx := context.Background()
	l, err := ts.DB.FindLessonByID(ctx, lessonID)
	if err != nil {
		t.Fatalf("find lesson: %v", err)
	}
	if l.Status != lectern.LessonQueued {
		t.Fatalf("lesson status = %q after the upload, want queued", l.Status)
	}
	rc, err := ts.Store.Open(ctx, l.SourceKey, 0, -1)
	if err != nil {
		t.Fatalf("open source %q: %v", l.SourceKey, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTusUploadResumesAfterANetworkDrop(t *testing.T) {
	// Over S3's 5 MiB minimum part, so that the S3 store really writes
	// parts and resumes between them.
	const size = 7<<20 + 12345
	data := make([]byte, size)
	rand.Read(data)
	copy(data, mp4Head)
	tusStores(t, 0, func(t *testing.T, ts *tusServer) {
		teacher, lessonID := newLessonFor(t, ts.testServer)
		c := tusClient{teacher}
		resp, url := c.create(t, lessonID, size)
		if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(url, "/api/v1/uploads/") {
			t.Fatalf("create: %s, Location %q; want 201 and a path under /api/v1/uploads/", resp.Status, url)
		}
		if got := c.offset(t, url); got != 0 {
			t.Fatalf("offset of a new upload = %d", got)
		}
		// The network drops after 6 MiB of the body.
		_, err := c.patch(t, url, 0, &brokenReader{r: bytes.NewReader(data), n: 6 << 20})
		if err == nil {
			t.Fatalf("PATCH with a dropped body succeeded")
		}
		off := c.offset(t, url)
		if off <= 0 || off > 6<<20 {
			t.Fatalf("offset after the drop = %d, want in (0, %d]", off, 6<<20)
		}
		if l, _ := ts.DB.FindLessonByID(context.Background(), lessonID); l.Status != lectern.LessonAwaitingUpload {
			t.Errorf("lesson status = %q before the upload completes", l.Status)
		}
		resp, err = c.patch(t, url, off, bytes.NewReader(data[off:]))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("resume PATCH: %v %v", resp, err)
		}
		if !bytes.Equal(sourceOf(t, ts.testServer, lessonID), data) {
			t.Errorf("stored source differs from the uploaded bytes")
		}
		// The partial upload is gone once committed.
		if resp, err := c.req(t, "HEAD", url, nil); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD of a committed upload: %v %v, want 404", resp.Status, err)
		}
	})
}

func TestTusUploadRules(t *testing.T) {
	tusStores(t, 1<<20, func(t *testing.T, ts *tusServer) {
		teacher, lessonID := newLessonFor(t, ts.testServer)
		c := tusClient{teacher}
		t.Run("TooLargeBeforeAnyByte", func(t *testing.T) {
			resp, url := c.create(t, lessonID, 1<<20+1)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || url != "" {
				t.Errorf("create over the limit: %s, Location %q; want 413 and no upload", resp.Status, url)
			}
		})
		t.Run("NeedsLessonID", func(t *testing.T) {
			resp, err := c.req(t, "POST", "/api/v1/uploads", nil, "Upload-Length", "10")
			if err != nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("create without lesson_id: %v %v, want 400", resp.Status, err)
			}
		})
		t.Run("StudentIsForbidden", func(t *testing.T) {
			_, student := ts.loginNew(t, lectern.RoleStudent)
			resp, _ := tusClient{student}.create(t, lessonID, 10)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("outsider creating an upload: %s, want 404", resp.Status)
			}
		})
		t.Run("AnonymousIsRefused", func(t *testing.T) {
			resp, _ := tusClient{ts.client(t)}.create(t, lessonID, 10)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous create: %s, want 401", resp.Status)
			}
		})
		t.Run("OtherUsersCannotTouchIt", func(t *testing.T) {
			resp, url := c.create(t, lessonID, 10)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %s", resp.Status)
			}
			other, _ := newLessonFor(t, ts.testServer)
			oc := tusClient{other}
			if resp, _ := oc.req(t, "HEAD", url, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("HEAD of another's upload: %s, want 404", resp.Status)
			}
			if resp, _ := oc.patch(t, url, 0, strings.NewReader("0123456789")); resp.StatusCode != http.StatusNotFound {
				t.Errorf("PATCH of another's upload: %s, want 404", resp.Status)
			}
			if got := c.offset(t, url); got != 0 {
				t.Errorf("offset after another user's PATCH = %d, want 0", got)
			}
		})
	})
}
