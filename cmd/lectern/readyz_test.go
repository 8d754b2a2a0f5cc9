package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lectern/lectern/internal/testenv"
)

// privateService is a server process of the test's own (Redis, MinIO)
// that the test stops and starts again on the same port and data.
type privateService struct {
	t     *testing.T
	name  string
	addr  string
	argv  []string
	env   []string
	ready func() bool
	cmd   *exec.Cmd
	exit  chan struct{}
}

// findService returns the path of a server binary, skipping the test when
// it is missing, or failing it with LECTERN_TEST_REQUIRE_SERVICES=1.
func findService(t *testing.T, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("none of %v found; skipping test that runs its own", candidates)
	if testenv.Required() {
		t.Fatalf("%s (LECTERN_TEST_REQUIRE_SERVICES=1)", msg)
	}
	t.Skip(msg)
	return ""
}

// start starts the service and waits until it answers.
func (s *privateService) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.argv[0], s.argv[1:]...)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.exit = make(chan struct{})
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exit) }()
	for deadline := time.Now().Add(hangGuard); !s.ready(); time.Sleep(50 * time.Millisecond) {
		select {
		case <-s.exit:
			s.t.Fatalf("%s exited at start-up", s.name)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not come up on %s", s.name, s.addr)
		}
	}
}

// stop kills the service, as a crash or a pulled cable would, and waits for it.
func (s *privateService) stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// startPrivateRedis runs redis-server without persistence on a free port.
func startPrivateRedis(t *testing.T) *privateService {
	t.Helper()
	bin := findService(t, "redis-server")
	addr := testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	s := &privateService{t: t, name: "redis-server", addr: addr,
		argv: []string{bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()},
		ready: func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return false
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 7)
			_, err = io.WriteString(c, "PING\r\n")
			if err == nil {
				_, err = io.ReadFull(c, buf)
			}
			return err == nil && string(buf) == "+PONG\r\n"
		}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// startPrivateMinIO runs MinIO (from $GOPATH/bin or PATH) on a free port
// over a temporary directory, with access key lectern.
func startPrivateMinIO(t *testing.T) *privateService {
	t.Helper()
	bin := testenv.MinIOBinary(t)
	addr, console := testenv.FreeAddr(t), testenv.FreeAddr(t)
	s := &privateService{t: t, name: "minio", addr: addr,
		argv: []string{bin, "server", "--quiet", "--address", addr, "--console-address", console, t.TempDir()},
		env:  []string{"MINIO_ROOT_USER=" + testenv.MinIOAccessKey, "MINIO_ROOT_PASSWORD=" + testenv.MinIOSecretKey, "MINIO_BROWSER=off"},
		// Ready when it answers S3 calls: its health endpoint says yes
		// a little before it stops answering "not initialized yet".
		ready: func() bool {
			c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("lectern", "lectern-secret", "")})
			if err != nil {
				return false
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err = c.ListBuckets(ctx)
			return err == nil
		}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// readyz is what GET /readyz answered.
type readyz struct {
	Status int
	Checks map[string]string
}

// waitReadyz polls /readyz until it answers want; the deadline only guards
// against a hang.
func waitReadyz(t *testing.T, base string, want readyz) {
	t.Helper()
	var got readyz
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(100 * time.Millisecond) {
		got = readyz{}
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		var body struct{ Checks map[string]string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("decode /readyz: %v", err)
		}
		got = readyz{Status: resp.StatusCode, Checks: body.Checks}
		if cmp.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz (-want +got):\n%s", cmp.Diff(want, got))
		}
	}
}

func TestReadyzFollowsRedisAndStorage(t *testing.T) {
	t.Parallel()
	rds := startPrivateRedis(t)
	minio := startPrivateMinIO(t)
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "lectern.db")
	cfg.RedisURL = "redis://" + rds.addr + "/0"
	cfg.S3 = S3Config{Endpoint: minio.addr, AccessKey: "lectern", SecretKey: "lectern-secret", Bucket: "lectern"}
	cfg.Secret = strings.Repeat("0123456789abcdef", 4)
	cfg.ShutdownTimeout = 5 * time.Second
	api := NewAPIMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	t.Cleanup(func() { api.Close() })
	if err := api.Run(context.Background()); err != nil {
		t.Fatalf("api Run: %v", err)
	}
	base := "http://" + api.Addr()
	// "disk": the SQLite database is in the data dir, whose free space
	// is checked too.
	allOK := readyz{Status: http.StatusOK, Checks: map[string]string{"db": "ok", "redis": "ok", "storage": "ok", "disk": "ok"}}
	waitReadyz(t, base, allOK)

	for _, svc := range []struct {
		check string
		s     *privateService
	}{{"redis", rds}, {"storage", minio}} {
		t.Run(svc.check, func(t *testing.T) {
			svc.s.stop()
			down := readyz{Status: http.StatusServiceUnavailable, Checks: map[string]string{"db": "ok", "redis": "ok", "storage": "ok", "disk": "ok"}}
			down.Checks[svc.check] = "failed"
			if svc.check == "redis" {
				// Named, but the API still serves without it: it stays
				// in the load balancer's rotation.
				down.Status = http.StatusOK
			}
			waitReadyz(t, base, down)
			// Back on the same address: ready again, without a restart.
			svc.s.start()
			waitReadyz(t, base, allOK)
		})
	}
}
