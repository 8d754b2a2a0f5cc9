package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/jobs"
)

// embeddedEnv is the environment of "lectern serve" on a fresh data dir,
// listening on a port the system picks.
func embeddedEnv(dataDir string) map[string]string {
	return map[string]string{
		"LECTERN_DATA_DIR":   dataDir,
		"LECTERN_ADDR":       "127.0.0.1:0",
		"LECTERN_LOG_FORMAT": "json",
	}
}

// login posts credentials to /api/v1/session and, on success, checks that
// the session cookie works by asking /api/v1/me. It returns the status of
// the login and the role /me reports.
func login(t *testing.T, base, email, password string) (status int, role string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	resp, err := client.Post(base+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /api/v1/session: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	resp, err = client.Get(base + "/api/v1/me")
	if err != nil {
		t.Fatalf("GET /api/v1/me: %v", err)
	}
	defer resp.Body.Close()
	var me struct{ Role string }
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me after logging in: %s, %v", resp.Status, err)
	}
	return http.StatusOK, me.Role
}

func TestServeLogsInAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	env := embeddedEnv(t.TempDir())
	env["LECTERN_ADMIN_EMAIL"] = "boss@example.org"
	env["LECTERN_ADMIN_PASSWORD"] = "correct horse battery"
	p := startLectern(t, env, "serve")
	base := p.ready()

	start := p.waitLog("lectern starting")
	want := map[string]string{"mode": "embedded", "queue": "in-process",
		"database": "sqlite:" + filepath.Join(env["LECTERN_DATA_DIR"], "lectern.db"),
		"storage":  "disk:" + filepath.Join(env["LECTERN_DATA_DIR"], "objects")}
	got := map[string]string{}
	for k := range want {
		got[k] = start.str(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("start-up log line (-want +got):\n%s", diff)
	}
	if status, role := login(t, base, "boss@example.org", "correct horse battery"); status != http.StatusOK || role != "admin" {
		t.Fatalf("logging in as LECTERN_ADMIN_EMAIL: status %d, role %q; want 200, admin", status, role)
	}

	// A login whose body trickles in is in flight when SIGTERM arrives.
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"boss@example.org","password":"correct horse battery"}`
	fmt.Fprintf(conn, "POST /api/v1/session HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body[:10])
	waitAccepted(t, addr)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog("shutting down")
	waitRefused(t, addr)

	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatalf("sending the rest of the request during shutdown: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response to the in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
		t.Errorf("in-flight login answered %s with %d cookies; want 200 with the session cookie", resp.Status, len(resp.Cookies()))
	}
	if code := p.wait(); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
	if strings.Contains(p.stdout.String(), "password:") {
		t.Error("a first-admin banner was printed although LECTERN_ADMIN_* created the admin")
	}
	if strings.Contains(p.stderr.String()+p.stdout.String(), "correct horse battery") {
		t.Error("the admin password appears in the output")
	}
}

// waitAccepted returns once the server at addr has accepted every
// connection made to it so far: it answers a request on a new connection,
// and connections are accepted in the order they were made. A connection
// still waiting in the listen queue would be reset by the listener's close
// at shutdown, rather than be an in-flight request.
func waitAccepted(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET /healthz on a new connection: %v", err)
	}
	resp.Body.Close()
}

// waitRefused waits until addr refuses new connections: the server has
// closed its listener and is draining.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server kept accepting connections after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeFirstStartPrintsAdminOnce(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	first := startLectern(t, embeddedEnv(dataDir), "serve")
	base := first.ready()
	m := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(first.waitStdout("password:"))
	if m == nil {
		t.Fatalf("no password in the banner:\n%s", first.stdout)
	}
	first.waitStdout("admin@localhost")
	if status, role := login(t, base, "admin@localhost", m[1]); status != http.StatusOK || role != "admin" {
		t.Fatalf("logging in with the banner's password: status %d, role %q; want 200, admin", status, role)
	}
	first.stop()

	secretPath := filepath.Join(dataDir, "secret")
	secret, err := os.ReadFile(secretPath)
	if err != nil {
		t.Fatalf("the first start left no secret file: %v", err)
	}
	if fi, _ := os.Stat(secretPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode = %v, want 0600", fi.Mode().Perm())
	}

	second := startLectern(t, embeddedEnv(dataDir), "serve")
	base = second.ready()
	if status, _ := login(t, base, "admin@localhost", m[1]); status != http.StatusOK {
		t.Errorf("logging in as the generated admin after a restart: status %d, want 200", status)
	}
	second.stop()
	if strings.Contains(second.stdout.String(), "password:") {
		t.Errorf("the second start printed a banner again:\n%s", second.stdout)
	}
	if again, _ := os.ReadFile(secretPath); string(again) != string(secret) {
		t.Error("the second start replaced the secret file")
	}
	if strings.Contains(first.stderr.String()+second.stderr.String(), strings.TrimSpace(string(secret))) {
		t.Error("the secret appears in the logs")
	}
}

func TestScaledMigrateUserCreateAPIAndWorker(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresURL(t)
	redisURL := testenv.RedisURL(t)
	s3 := testenv.S3Bucket(t)
	env := map[string]string{
		"LECTERN_DATABASE_URL": pg,
		"LECTERN_DATA_DIR":     t.TempDir(),
		"LECTERN_LOG_FORMAT":   "json",
	}

	out, errOut, code := runLectern(t, env, "", "migrate")
	if code != 0 || !strings.Contains(out, "migrated") {
		t.Fatalf("migrate: status %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	create := []string{"user", "create", "--email", "Teacher@Example.org", "--name", "Ada", "--role", "teacher", "--password-stdin"}
	out, errOut, code = runLectern(t, env, "teacher pass 1\n", create...)
	if id := strings.TrimSpace(out); code != 0 || id == "" || strings.Contains(id, "\n") {
		t.Fatalf("user create: status %d, stdout %q (want the id alone), stderr %s", code, out, errOut)
	}
	_, errOut, code = runLectern(t, env, "another pass\n", create...)
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("user create with a taken email: status %d, stderr %q; want 1 and a message saying it exists", code, errOut)
	}

	env["LECTERN_REDIS_URL"] = redisURL
	env["LECTERN_S3_ENDPOINT"] = s3.Endpoint
	env["LECTERN_S3_ACCESS_KEY"] = s3.AccessKey
	env["LECTERN_S3_SECRET_KEY"] = s3.SecretKey
	env["LECTERN_S3_BUCKET"] = s3.Bucket
	env["LECTERN_SECRET"] = strings.Repeat("0123456789abcdef", 4)
	env["LECTERN_WORKER_CONCURRENCY"] = "3"
	env["LECTERN_ADDR"] = "127.0.0.1:0"
	api := startLectern(t, env, "api")
	worker := startLectern(t, env, "worker")
	base := api.ready()
	worker.waitLog("worker started")

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Checks map[string]string }
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %s, checks %v; want 200", resp.Status, ready.Checks)
	}
	if diff := cmp.Diff(map[string]string{"db": "ok", "redis": "ok", "storage": "ok"}, ready.Checks); diff != "" {
		t.Errorf("/readyz checks (-want +got):\n%s", diff)
	}
	if status, role := login(t, base, "teacher@example.org", "teacher pass 1"); status != http.StatusOK || role != "teacher" {
		t.Errorf("logging in as the created user via the api: status %d, role %q; want 200, teacher", status, role)
	}
	checkWorkerRegistered(t, redisURL, 3)

	worker.stop()
	api.stop()
	logs := api.stderr.String() + worker.stderr.String()
	for name, secret := range map[string]string{"S3 secret key": s3.SecretKey, "LECTERN_SECRET": env["LECTERN_SECRET"]} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}

// checkWorkerRegistered checks that a worker serving the transcode queue
// with the given concurrency is registered in Redis, as asynqmon shows it,
// with its audio lane (one slot on the audio queue) beside it.
func checkWorkerRegistered(t *testing.T, redisURL string, concurrency int) {
	t.Helper()
	q := openQueue(t, redisURL)
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		servers, err := q.Workers()
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) == 2 {
			// The worker first, its audio lane last.
			slices.SortFunc(servers, func(a, b jobs.WorkerInfo) int { return a.Queues[jobs.QueueAudio] - b.Queues[jobs.QueueAudio] })
			main, lane := servers[0], servers[1]
			if main.Concurrency != concurrency || main.Queues[jobs.QueueTranscode] == 0 || main.Queues[jobs.QueueAudio] != 0 {
				t.Errorf("worker registered with concurrency %d and queues %v; want %d and %q",
					main.Concurrency, main.Queues, concurrency, jobs.QueueTranscode)
			}
			if lane.Concurrency != 1 || len(lane.Queues) != 1 || lane.PID != main.PID {
				t.Errorf("the worker's audio lane registered with concurrency %d and queues %v (pid %d, worker's %d); want 1 and %q alone",
					lane.Concurrency, lane.Queues, lane.PID, main.PID, jobs.QueueAudio)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d servers registered, want 2 (the worker and its audio lane)", len(servers))
		}
	}
}

func TestInvalidConfigExitsWithOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"Concurrency", map[string]string{"LECTERN_WORKER_CONCURRENCY": "abc"}, []string{"serve"}, "LECTERN_WORKER_CONCURRENCY"},
		{"ConcurrencyFlag", nil, []string{"serve", "--worker-concurrency", "many"}, "--worker-concurrency"},
		{"TrustedProxies", map[string]string{"LECTERN_TRUSTED_PROXIES": "10.0.0.0/40"}, []string{"serve"}, "LECTERN_TRUSTED_PROXIES"},
		{"APIWithoutRedis", nil, []string{"api"}, "LECTERN_REDIS_URL"},
		{"WorkerWithoutRedis", nil, []string{"worker"}, "LECTERN_REDIS_URL"},
		{"MigrateDatabaseScheme", map[string]string{"LECTERN_DATABASE_URL": "mysql://db/lectern"}, []string{"migrate"}, "LECTERN_DATABASE_URL"},
		{"UserCreateWithoutPasswordStdin", nil, []string{"user", "create", "--email", "a@example.org", "--name", "A", "--role", "student"}, "--password-stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"LECTERN_DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			out, errOut, code := runLectern(t, env, "", tt.args...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr = %q, want one line naming %s", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
}
