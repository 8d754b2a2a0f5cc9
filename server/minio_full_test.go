package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
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

// minioOnSmallDisk runs a MinIO server of the test's own over a small real
// filesystem and returns its address (access key lectern, secret
// lectern-secret).
func minioOnSmallDisk(t *testing.T, size int64) string {
	t.Helper()
	bin := filepath.Join(os.Getenv("HOME"), "go", "bin", "minio")
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		bin = filepath.Join(strings.TrimSpace(string(out)), "bin", "minio")
	}
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("minio"); err != nil {
			if testenv.Required() {
				t.Fatal("no minio server binary found (LECTERN_TEST_REQUIRE_SERVICES=1)")
			}
			t.Skip("no minio server binary found; skipping test that runs its own")
		}
	}
	dir := testenv.SmallDisk(t, size)
	var addrs [2]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addrs[0], "--console-address", addrs[1], dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=lectern", "MINIO_ROOT_PASSWORD=lectern-secret", "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := minio.New(addrs[0], &minio.Options{Creds: credentials.NewStaticV4("lectern", "lectern-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ListBuckets(ctx)
		cancel()
		if err == nil {
			return addrs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio on %s did not come up: %v", addrs[0], err)
		}
	}
}

// TestUploadsWhenMinIOIsFull fills a real MinIO whose drive is a small
// filesystem with resumable uploads (tusd's S3 store) and a streaming
// upload: what MinIO refuses for want of space is answered 507 with a
// clear message that names no address, bucket or path.
func TestUploadsWhenMinIOIsFull(t *testing.T) {
	addr := minioOnSmallDisk(t, 48<<20)
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	store, err := s3.New(context.Background(), s3.Config{Endpoint: addr, AccessKey: "lectern", SecretKey: "lectern-secret", Bucket: "lectern"})
	if err != nil {
		t.Fatal(err)
	}
	fx.Store = store
	ts := newServer(t, fx, func(o *server.Options) {
		o.Uploads.S3 = server.UploadS3{Endpoint: addr, AccessKey: "lectern", SecretKey: "lectern-secret", Bucket: "lectern"}
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
