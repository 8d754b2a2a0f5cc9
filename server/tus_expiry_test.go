package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// newAPIServer is newServer that also returns the *server.Server, for
// tests that call its methods.
func newAPIServer(t *testing.T, fx *fixture, edit func(*server.Options)) (*server.Server, *testServer) {
	t.Helper()
	opts := server.Options{DB: fx.DB, Storage: fx.Store, Clock: fx.Clock, Secret: []byte("0123456789abcdef0123456789abcdef")}
	edit(&opts)
	s, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, &testServer{fixture: fx, URL: hs.URL}
}

// TestExpireUploads leaves one resumable upload half-finished and keeps
// writing another: ExpireUploads removes the abandoned one with all it
// stored, on disk and in S3, and the one in use can still be resumed.
func TestExpireUploads(t *testing.T) {
	run := func(t *testing.T, srv *server.Server, ts *testServer, stored func(t *testing.T) []string) {
		teacher, lessonID := newLessonFor(t, ts)
		c := tusClient{teacher}
		body := append([]byte(mp4Head), make([]byte, 100<<10)...)
		_, abandoned := c.create(t, lessonID, 1<<20)
		if r := c.rawPatch(t, abandoned, 0, body); r.Status != http.StatusNoContent {
			t.Fatalf("PATCH: %d %s", r.Status, r.Body)
		}
		// S3 stamps times to the second.
		time.Sleep(1500 * time.Millisecond)
		cutoff := time.Now()
		time.Sleep(1500 * time.Millisecond)
		_, active := c.create(t, lessonID, 1<<20)
		if r := c.rawPatch(t, active, 0, body); r.Status != http.StatusNoContent {
			t.Fatalf("PATCH: %d %s", r.Status, r.Body)
		}
		before := stored(t)
		n, err := srv.ExpireUploads(context.Background(), cutoff)
		if err != nil || n != 1 {
			t.Fatalf("ExpireUploads = %d, %v; want 1", n, err)
		}
		if r := c.rawDo(t, "HEAD", abandoned, nil); r.Status != http.StatusNotFound {
			t.Errorf("HEAD of the expired upload: %d, want 404", r.Status)
		}
		if got := c.offset(t, active); got != int64(len(body)) {
			t.Errorf("offset of the upload in use = %d, want %d", got, len(body))
		}
		abandonedID := abandoned[strings.LastIndex(abandoned, "/")+1:]
		abandonedID, _, _ = strings.Cut(abandonedID, "+") // S3 IDs are object+multipart
		after := stored(t)
		for _, name := range after {
			if strings.Contains(name, abandonedID) {
				t.Errorf("left behind by the expired upload: %s (before: %q)", name, before)
			}
		}
		if len(after) == 0 {
			t.Errorf("the upload in use lost its files too")
		}
	}
	t.Run("Disk", func(t *testing.T) {
		dir := t.TempDir()
		srv, ts := newAPIServer(t, openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db")),
			func(o *server.Options) { o.Uploads.Dir = dir })
		run(t, srv, ts, func(t *testing.T) []string {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return names
		})
	})
	t.Run("S3", func(t *testing.T) {
		b := testenv.S3Bucket(t)
		fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
		store, err := s3.New(context.Background(), s3.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey,
			SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL})
		if err != nil {
			t.Fatal(err)
		}
		fx.Store = store
		srv, ts := newAPIServer(t, fx, func(o *server.Options) {
			o.Uploads.S3 = server.UploadS3{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
				Bucket: b.Bucket, UseSSL: b.UseSSL}
		})
		mc, err := minio.New(b.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: b.UseSSL})
		if err != nil {
			t.Fatal(err)
		}
		run(t, srv, ts, func(t *testing.T) []string {
			var names []string
			for obj := range mc.ListObjects(context.Background(), b.Bucket, minio.ListObjectsOptions{Prefix: "uploads/", Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				names = append(names, obj.Key)
			}
			for up := range mc.ListIncompleteUploads(context.Background(), b.Bucket, "uploads/", true) {
				if up.Err != nil {
					t.Fatal(up.Err)
				}
				names = append(names, "multipart upload of "+up.Key)
			}
			return names
		})
	})
}
