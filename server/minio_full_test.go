package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// TestUploadsWhenMinIOIsFull fills a real MinIO whose drive is a small
// filesystem with resumable uploads (tusd's S3 store) and a streaming
// upload: what MinIO refuses for want of space is answered 507 with a
// clear message that names no address, bucket or path.
func TestUploadsWhenMinIOIsFull(t *testing.T) {
	addr := testenv.MinIOOnSmallDisk(t, 48<<20)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	store, err := s3.New(context.Background(), s3.Config{Endpoint: addr, AccessKey: testenv.MinIOAccessKey, SecretKey: testenv.MinIOSecretKey, Bucket: "lectern"})
	if err != nil {
		t.Fatal(err)
	}
	fx.Store = store
	ts := newServer(t, fx, func(o *server.Options) {
		o.Uploads.S3 = server.UploadS3{Endpoint: addr, AccessKey: testenv.MinIOAccessKey, SecretKey: testenv.MinIOSecretKey, Bucket: "lectern"}
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	})
	teacher, lessonID := newLessonFor(t, ts)
	c := tusClient{teacher}
	// Uploads of 80 MiB, in parts of 8 MiB, until MinIO has no room. A
	// MinIO drive that fills up mid-part sometimes loses the multipart
	// upload: that answers 404 (a tus client starts again), and the next
	// upload meets the full drive.
	part := append([]byte(mp4Head), make([]byte, 8<<20-len(mp4Head))...)
	url := ""
	var off int64
	for i := 0; ; i++ {
		if i > 20 {
			t.Fatal("160 MiB sent to a 48 MiB drive without a 507")
		}
		if url == "" {
			r := c.rawCreate(t, lessonID, 80<<20)
			if r.Status != http.StatusCreated {
				wantStorageFull(t, "tus creation on a full MinIO", r, addr, "lectern/", "uploads/")
				break
			}
			url, off = r.Header.Get("Location"), 0
		}
		r := c.rawPatch(t, url, off, part)
		switch r.Status {
		case http.StatusNoContent:
			off = c.offset(t, url)
			continue
		case http.StatusNotFound:
			t.Logf("MinIO lost the multipart upload: %s", r.Body)
			url = ""
			continue
		case http.StatusServiceUnavailable:
			// MinIO reset the connection mid-part: the client asks where
			// to resume and sends the part again.
			t.Logf("MinIO dropped the part: %s", r.Body)
			off = c.offset(t, url)
			continue
		}
		wantStorageFull(t, "tus PATCH onto a full MinIO", r, addr, "lectern/", "uploads/")
		break
	}
	t.Run("Streaming", func(t *testing.T) {
		other, otherLesson := newLessonFor(t, ts)
		r := other.do(t, "PUT", "/api/v1/lessons/"+otherLesson+"/source", bytes.NewReader(append([]byte(mp4Head), make([]byte, 20<<20)...)))
		wantStorageFull(t, "streaming PUT onto a full MinIO", r, addr, "lectern/")
	})
}
