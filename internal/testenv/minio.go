package testenv

import (
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
)

// Keys of the MinIO servers that tests start for themselves.
const (
	MinIOAccessKey = "lectern"
	MinIOSecretKey = "lectern-secret"
)

// MinIOBinary finds a MinIO server binary: in $GOPATH/bin, where .ci/run
// builds it, or on PATH. Without one the test is skipped, or fails when
// LECTERN_TEST_REQUIRE_SERVICES=1.
func MinIOBinary(tb testing.TB) string {
	tb.Helper()
	return goBinary(tb, "minio", "a minio server binary")
}

// goBinary finds a program .ci/run installs with go install: in
// $GOPATH/bin, or on PATH. Without one the test is skipped, or fails
// when LECTERN_TEST_REQUIRE_SERVICES=1.
func goBinary(tb testing.TB, name, need string) string {
	tb.Helper()
	bin := filepath.Join(os.Getenv("HOME"), "go", "bin", name)
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		bin = filepath.Join(strings.TrimSpace(string(out)), "bin", name)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		unavailable(tb, need, "testenv: no %s binary in $GOPATH/bin or on PATH", name)
	}
	return bin
}

// FreeAddr returns a loopback address with a port nothing listens on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// MinIOOnSmallDisk runs a MinIO server of the test's own over a small
// real filesystem (SmallDisk) and returns its address once it answers S3
// calls; its keys are MinIOAccessKey and MinIOSecretKey. It is stopped
// when the test ends.
func MinIOOnSmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	bin := MinIOBinary(tb)
	dir := SmallDisk(tb, size)
	addr, console := FreeAddr(tb), FreeAddr(tb)
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+MinIOAccessKey, "MINIO_ROOT_PASSWORD="+MinIOSecretKey, "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(MinIOAccessKey, MinIOSecretKey, "")})
	if err != nil {
		tb.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ListBuckets(ctx)
		cancel()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			tb.Fatalf("minio on %s did not come up: %v", addr, err)
		}
	}
}
