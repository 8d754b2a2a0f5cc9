package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/transcode"
)

func TestConfigLimits(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := loadTestConfig(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Zero: the server's own defaults.
		if diff := cmp.Diff(server.Limits{}, cfg.serverLimits()); diff != "" {
			t.Errorf("limits (-want +got):\n%s", diff)
		}
	})
	t.Run("FromEnvironment", func(t *testing.T) {
		cfg, err := loadTestConfig(t, map[string]string{
			"LECTERN_EVENT_STREAMS_PER_USER":    "3",
			"LECTERN_MAX_EVENT_STREAMS":         "500",
			"LECTERN_PASSWORD_HASH_CONCURRENCY": "4",
			"LECTERN_MEDIA_STALL_TIMEOUT":       "45s",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := server.Limits{EventStreamsPerUser: 3, MaxEventStreams: 500, PasswordHashes: 4, MediaStallTimeout: 45 * time.Second}
		if diff := cmp.Diff(want, cfg.serverLimits()); diff != "" {
			t.Errorf("limits (-want +got):\n%s", diff)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tt := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{map[string]string{"LECTERN_EVENT_STREAMS_PER_USER": "0"}, nil, `LECTERN_EVENT_STREAMS_PER_USER: must be a positive integer, got "0"`},
			{map[string]string{"LECTERN_MAX_EVENT_STREAMS": "lots"}, nil, `LECTERN_MAX_EVENT_STREAMS: must be a positive integer, got "lots"`},
			{map[string]string{"LECTERN_PASSWORD_HASH_CONCURRENCY": "-2"}, nil, `LECTERN_PASSWORD_HASH_CONCURRENCY: must be a positive integer`},
			{nil, []string{"--event-streams-per-user=1.5"}, `--event-streams-per-user: must be a positive integer`},
			{map[string]string{"LECTERN_MEDIA_STALL_TIMEOUT": "0s"}, nil, `LECTERN_MEDIA_STALL_TIMEOUT: must be a positive duration`},
		} {
			_, err := loadTestConfig(t, tt.env, tt.args...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("env %v args %v: error %v, want one starting %q", tt.env, tt.args, err, tt.want)
			}
		}
	})
}

// TestServeCapsEventStreams: LECTERN_EVENT_STREAMS_PER_USER reaches the
// running server, whose streams go through the embedded Redis.
func TestServeCapsEventStreams(t *testing.T) {
	t.Parallel()
	env := embeddedEnv(t.TempDir())
	env["LECTERN_ADMIN_EMAIL"], env["LECTERN_ADMIN_PASSWORD"] = e2eAdminEmail, e2eAdminPassword
	env["LECTERN_EVENT_STREAMS_PER_USER"] = "2"
	base := startLectern(t, env, "serve").ready()
	admin := newSession(t, base, e2eAdminEmail, e2eAdminPassword)
	var course, lesson struct{ ID string }
	admin.call(t, "POST", "/api/v1/courses", map[string]string{"title": "Capped"}, http.StatusCreated, &course)
	admin.call(t, "POST", "/api/v1/courses/"+course.ID+"/lessons", map[string]string{"publish_at": "now", "title": "Live"}, http.StatusCreated, &lesson)
	stream := func() *http.Response {
		resp, err := admin.hc.Get(base + "/api/v1/lessons/" + lesson.ID + "/events")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range 2 {
		resp := stream()
		if line, err := bufio.NewReader(resp.Body).ReadString('\n'); resp.StatusCode != http.StatusOK || err != nil || !strings.HasPrefix(line, "retry:") {
			t.Fatalf("stream %d: %s, first line %q (%v)", i+1, resp.Status, line, err)
		}
	}
	if resp := stream(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: %s, Retry-After %q; want 429 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
}

func TestConfigFFmpegConfinement(t *testing.T) {
	cfg, err := loadTestConfig(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ffmpegSandbox(); got != transcode.SandboxAuto {
		t.Errorf("default sandbox %q, want auto", got)
	}
	if diff := cmp.Diff(transcode.Resources{}, cfg.transcodeResources()); diff != "" {
		t.Errorf("default resources: zero for transcode's defaults (-want +got):\n%s", diff)
	}
	cfg, err = loadTestConfig(t, map[string]string{
		"LECTERN_FFMPEG_SANDBOX": "bwrap",
		"LECTERN_FFMPEG_MEMORY":  "6GiB",
		"LECTERN_FFPROBE_MEMORY": "1GiB",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ffmpegSandbox(); got != transcode.SandboxRequired {
		t.Errorf("sandbox %q, want bwrap", got)
	}
	if diff := cmp.Diff(transcode.Resources{FFmpegMemory: 6 << 30, ProbeMemory: 1 << 30}, cfg.transcodeResources()); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	for env, want := range map[string]string{
		"LECTERN_FFMPEG_SANDBOX": `LECTERN_FFMPEG_SANDBOX: must be auto, bwrap or off, got "docker"`,
		"LECTERN_FFPROBE_MEMORY": `LECTERN_FFPROBE_MEMORY: must be at least 384MiB, got "100MB"`,
	} {
		value := map[string]string{"LECTERN_FFMPEG_SANDBOX": "docker", "LECTERN_FFPROBE_MEMORY": "100MB"}[env]
		if _, err := loadTestConfig(t, map[string]string{env: value}); err == nil || err.Error() != want {
			t.Errorf("%s=%s: error %v, want %q", env, value, err, want)
		}
	}
}
