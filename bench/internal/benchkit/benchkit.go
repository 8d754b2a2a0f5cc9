// Package benchkit runs a real "lectern serve" for the load benchmarks in
// bench/ and watches it from outside: its HTTP API as people use it, its
// Prometheus series (Go heap, goroutines), its resident memory and its
// child processes, read from /proc (Linux).
package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Admin is the account every benchmark server is started with.
const (
	AdminEmail    = "bench-admin@example.org"
	AdminPassword = "bench admin password"
)

// Build compiles ./cmd/lectern of the module in moduleDir into dir.
func Build(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "lectern")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lectern")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lectern: %v\n%s", err, out)
	}
	return bin, nil
}

// ModuleDir is the root of the lectern module, found from the working
// directory upwards.
func ModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/lectern/lectern\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the lectern module")
		}
		dir = parent
	}
}

// Process is a running "lectern serve" with its data in DataDir (SQLite,
// disk storage).
type Process struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	log     bytes.Buffer
}

// Start runs "bin serve" on a loopback port with a fresh data directory
// under dir, the benchmark admin, and env on top (LECTERN_… settings),
// and returns once /readyz answers.
func Start(ctx context.Context, bin, dir string, env map[string]string) (*Process, error) {
	p := &Process{DataDir: filepath.Join(dir, "data"), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(os.Environ(),
		"LECTERN_DATA_DIR="+p.DataDir, "LECTERN_ADDR=127.0.0.1:0", "LECTERN_LOG_FORMAT=json",
		"LECTERN_ADMIN_EMAIL="+AdminEmail, "LECTERN_ADMIN_PASSWORD="+AdminPassword,
		"LECTERN_DATABASE_URL=", "LECTERN_REDIS_URL=", "LECTERN_S3_ENDPOINT=", "LECTERN_PUBLIC_URL=")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start lectern: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.log.Len() < 4<<20 {
				p.log.WriteString(line + "\n")
			}
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.done:
		return nil, fmt.Errorf("lectern exited before listening:\n%s", p.Log())
	case <-time.After(time.Minute):
		p.Stop()
		return nil, fmt.Errorf("lectern did not listen within a minute:\n%s", p.Log())
	case <-ctx.Done():
		p.Stop()
		return nil, ctx.Err()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("lectern at %s not ready within 30 s:\n%s", p.URL, p.Log())
		}
	}
}

// Log is what the server has logged.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop interrupts the server and waits for it to exit (killing it after
// 20 s).
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = p.cmd.Wait()
}

// Pid is the server's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Metrics reads the server's unlabelled Prometheus series named.
func (p *Process) Metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", p.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("metrics: no series %s", n)
		}
	}
	return out, sc.Err()
}

// RSS is the server's resident memory in bytes (VmRSS).
func (p *Process) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// Children counts the server's child processes whose command name is
// name (as /proc/PID/comm shows it: "ffmpeg", "ffprobe").
func (p *Process) Children(name string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	ppid := "PPid:\t" + strconv.Itoa(p.Pid()) + "\n"
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if status, err := os.ReadFile("/proc/" + e.Name() + "/status"); err == nil && bytes.Contains(status, []byte(ppid)) {
			n++
		}
	}
	return n
}

// Client is someone using the API with their session cookie.
type Client struct {
	Base string
	HC   *http.Client
}

// Login logs in through the API.
func Login(ctx context.Context, base, email, password string) (*Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &Client{Base: base, HC: &http.Client{Jar: jar, Timeout: 10 * time.Minute}}
	err := c.Call(ctx, "POST", "/api/v1/session", map[string]string{"email": email, "password": password}, nil, http.StatusOK)
	return c, err
}

// Call sends body (JSON, or an io.Reader sent as is) and decodes the
// answer into out, unless out is nil; any status but want is an error.
func (c *Client) Call(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd, ct = b, "video/mp4"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.HC.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %.300s, want %d", method, path, resp.Status, raw, want)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Course is a course a benchmark teacher created, with the teacher's client.
type Course struct {
	ID       string `json:"id"`
	JoinCode string `json:"join_code"`
	Teacher  *Client
}

// NewCourse creates a teacher (through the admin) and a course of theirs.
func NewCourse(ctx context.Context, base, title string) (*Course, error) {
	admin, err := Login(ctx, base, AdminEmail, AdminPassword)
	if err != nil {
		return nil, err
	}
	email, password := "teacher-"+RandomHex(4)+"@example.org", "bench teacher password"
	if err := admin.Call(ctx, "POST", "/api/v1/users", map[string]string{"email": email, "name": "Bench teacher",
		"password": password, "role": "teacher"}, nil, http.StatusCreated); err != nil {
		return nil, err
	}
	teacher, err := Login(ctx, base, email, password)
	if err != nil {
		return nil, err
	}
	c := &Course{Teacher: teacher}
	err = teacher.Call(ctx, "POST", "/api/v1/courses", map[string]string{"title": title}, c, http.StatusCreated)
	return c, err
}

// NewLesson creates a lesson awaiting its upload, published (so that the
// course's students see it once it is ready; a new lesson is otherwise a
// draft), and returns its ID.
func (c *Course) NewLesson(ctx context.Context, title string) (string, error) {
	var l struct{ ID string }
	err := c.Teacher.Call(ctx, "POST", "/api/v1/courses/"+c.ID+"/lessons",
		map[string]string{"title": title, "publish_at": "now"}, &l, http.StatusCreated)
	return l.ID, err
}

// Lesson is what the benchmarks read of a lesson.
type Lesson struct {
	Status    string `json:"status"`
	Transcode *struct {
		State string `json:"state"`
		Error string `json:"error"`
	} `json:"transcode"`
}

// WaitReady polls the lesson until it is ready, failing when its
// transcode fails or limit passes.
func (c *Course) WaitReady(ctx context.Context, lessonID string, limit time.Duration) error {
	for deadline := time.Now().Add(limit); ; time.Sleep(250 * time.Millisecond) {
		var l Lesson
		if err := c.Teacher.Call(ctx, "GET", "/api/v1/lessons/"+lessonID, nil, &l, http.StatusOK); err != nil {
			return err
		}
		switch {
		case l.Status == "ready":
			return nil
		case l.Status == "failed":
			return fmt.Errorf("lesson %s failed to transcode: %+v", lessonID, l.Transcode)
		case time.Now().After(deadline):
			return fmt.Errorf("lesson %s not ready within %v (status %s)", lessonID, limit, l.Status)
		}
	}
}

// Students enrols n students in the course with the given join code and
// returns a session cookie for each (see Sessions).
func Students(ctx context.Context, dataDir, joinCode string, n int) ([]*http.Cookie, error) {
	return Sessions(ctx, dataDir, lectern.RoleStudent, joinCode, n)
}

// Sessions creates n users with role, enrolled in the course with the
// given join code unless it is empty, and returns a session cookie for
// each. They are written straight into the server's SQLite database (the
// session token's hex SHA-256, as the server stores it), as
// bench/heartbeat does, so that dozens or hundreds of them do not trip the
// login rate limits, which are not what is measured.
func Sessions(ctx context.Context, dataDir string, role lectern.Role, joinCode string, n int) ([]*http.Cookie, error) {
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(dataDir, "lectern.db"), nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	run := RandomHex(4)
	cookies := make([]*http.Cookie, 0, n)
	for i := range n {
		u := &lectern.User{Email: fmt.Sprintf("%s-%s-%d@example.org", role, run, i), Name: fmt.Sprint("Bench ", role, " ", i),
			Role: role, PasswordHash: "-"}
		if err := d.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		if joinCode != "" {
			if _, err := d.JoinCourse(ctx, joinCode, u.ID); err != nil {
				return nil, err
			}
		}
		secret := RandomHex(32)
		sum := sha256.Sum256([]byte(secret))
		s := &lectern.Session{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, ExpiresAt: time.Now().Add(24 * time.Hour)}
		if err := d.CreateSession(ctx, s); err != nil {
			return nil, err
		}
		cookies = append(cookies, &http.Cookie{Name: "lectern_session", Value: secret})
	}
	return cookies, nil
}

// WithCookie is a client that sends cookie with every request.
func WithCookie(base string, cookie *http.Cookie, hc *http.Client) *Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{cookie})
	c := *hc
	c.Jar = jar
	return &Client{Base: base, HC: &c}
}

// MakeClip writes a recording of the given length and size (WxH) with a
// tone, as MP4, made by ffmpeg from its test sources.
func MakeClip(ctx context.Context, ffmpeg, path string, seconds int, size string, fps int) error {
	d := strconv.Itoa(seconds)
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d:duration=%s", size, fps, d),
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(2*fps),
		"-c:a", "aac", "-shortest", "-movflags", "+faststart", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("generate a clip: %v\n%s", err, out)
	}
	return nil
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Sample is one reading of the server's memory.
type Sample struct {
	At         time.Duration // since the watch began
	HeapInuse  float64       // go_memstats_heap_inuse_bytes
	RSS        float64       // resident memory
	Goroutines float64
	// Running is what the watcher's probe counted (running transcodes,
	// ffmpeg processes…), when it has one.
	Running, FFmpeg int
}

// Watch reads the server's memory every interval, and runs probe (when not
// nil) to fill the sample's counts, until the returned stop is called;
// stop returns the readings, whose At count from began.
func (p *Process) Watch(every time.Duration, probe func(*Sample)) (began time.Time, stop func() []Sample) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Sample)
	began = time.Now()
	go func() {
		var out []Sample
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s := Sample{At: time.Since(began)}
			if m, err := p.Metrics(ctx, "go_memstats_heap_inuse_bytes", "go_goroutines"); err == nil {
				s.HeapInuse, s.Goroutines = m["go_memstats_heap_inuse_bytes"], m["go_goroutines"]
			}
			if rss, err := p.RSS(); err == nil {
				s.RSS = float64(rss)
			}
			if probe != nil {
				probe(&s)
			}
			if ctx.Err() == nil {
				out = append(out, s)
			}
			select {
			case <-ctx.Done():
				done <- out
				return
			case <-t.C:
			}
		}
	}()
	return began, func() []Sample { cancel(); return <-done }
}

// MiB formats bytes in MiB.
func MiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
