package s3_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
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
	addr, console := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=lectern", "MINIO_ROOT_PASSWORD=lectern-secret", "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("lectern", "lectern-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ListBuckets(ctx)
		cancel()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio on %s did not come up: %v", addr, err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPutWhenMinIOIsFull fills a real MinIO whose drive is a small
// filesystem: the Put it refuses for want of space is an ENOSPACE error
// whose message names no endpoint, bucket or path.
func TestPutWhenMinIOIsFull(t *testing.T) {
	addr := minioOnSmallDisk(t, 48<<20)
	s, err := s3.New(t.Context(), s3.Config{Endpoint: addr, AccessKey: "lectern", SecretKey: "lectern-secret", Bucket: "lectern"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		_, err := s.Put(t.Context(), "lessons/l/source/"+string(rune('a'+i)), bytes.NewReader(make([]byte, 4<<20)))
		if err == nil {
			if i > 20 {
				t.Fatal("80 MiB stored on a 48 MiB drive")
			}
			continue
		}
		if lectern.ErrorCode(err) != lectern.ENOSPACE {
			t.Fatalf("Put on a full MinIO: %v, want ENOSPACE", err)
		}
		if msg := lectern.ErrorMessage(err); strings.Contains(msg, addr) || strings.Contains(msg, "lectern/") || strings.Contains(msg, "/") {
			t.Errorf("message %q shows an address or path", msg)
		}
		break
	}
}
