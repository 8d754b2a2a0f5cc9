package main

import (
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// loadTestConfig loads and validates the configuration from env and args
// the way the serve command does.
func loadTestConfig(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %q: %v", args, err)
	}
	cfg, err := LoadConfig(fs, func(k string) string { return env[k] })
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadTestConfig(t, nil)
	if err != nil {
		t.Fatalf("empty environment: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr:              ":8080",
		DataDir:           filepath.Join(wd, "lectern-data"),
		DatabaseURL:       "sqlite:" + filepath.Join(wd, "lectern-data", "lectern.db"),
		S3:                S3Config{Bucket: "lectern"},
		FFmpeg:            "ffmpeg",
		FFprobe:           "ffprobe",
		WorkerConcurrency: 1,
		MaxUploadBytes:    4 << 30,
		LogFormat:         "text",
		ShutdownTimeout:   30 * time.Second,
		ReconcileInterval: 30 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		JobDeadline:       time.Minute,
		StallTimeout:      5 * time.Minute,
		ChunkSeconds:      32,
		// Storage limits.
		UploadExpiry:   24 * time.Hour,
		TrashRetention: 30 * 24 * time.Hour,
		MinFreeDisk:    512 << 20,
		StorageTimeout: 8 * time.Second,
		// Mail: off; the digest at 7 when it is on.
		Mail: MailConfig{DigestHour: 7},
		// Automatic captions: off, English when turned on.
		ASRLang:        "en",
		ASRConcurrency: 1,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got := cfg.publicURL(&net.TCPAddr{Port: 8080}); got != "http://localhost:8080" {
		t.Errorf("default public URL = %q, want http://localhost:8080", got)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	env := map[string]string{
		"LECTERN_ADDR":               "127.0.0.1:9090",
		"LECTERN_DATA_DIR":           "/var/lib/lectern",
		"LECTERN_REDIS_URL":          "redis://queue:6379/2",
		"LECTERN_S3_ENDPOINT":        "minio:9000",
		"LECTERN_S3_ACCESS_KEY":      "ak",
		"LECTERN_S3_SECRET_KEY":      "sk",
		"LECTERN_S3_BUCKET":          "videos",
		"LECTERN_S3_REGION":          "eu-west-1",
		"LECTERN_S3_USE_SSL":         "true",
		"LECTERN_SECRET":             strings.Repeat("x", 32),
		"LECTERN_FFMPEG":             "/opt/ffmpeg",
		"LECTERN_FFPROBE":            "/opt/ffprobe",
		"LECTERN_WORKER_CONCURRENCY": "3",
		"LECTERN_WORKER_NAME":        "gpu-box-2",
		"LECTERN_MAX_UPLOAD_BYTES":   "500MB",
		"LECTERN_ADMIN_EMAIL":        "root@example.org",
		"LECTERN_ADMIN_PASSWORD":     "long enough",
		"LECTERN_PUBLIC_URL":         "https://lectern.example.org/",
		"LECTERN_TRUSTED_PROXIES":    "10.0.0.0/8, 192.168.1.7",
		"LECTERN_LOG_FORMAT":         "json",
		"LECTERN_SHUTDOWN_TIMEOUT":   "2m",
		"LECTERN_RECONCILE_INTERVAL": "10s",
		"LECTERN_JOB_DEADLINE":       "15m",
		"LECTERN_HEARTBEAT_INTERVAL": "2s",
		"LECTERN_STALL_TIMEOUT":      "90s",
		"LECTERN_CHUNK_SECONDS":      "0",
		"LECTERN_METRICS_ADDR":       "0.0.0.0:9100",
		// Storage limits.
		"LECTERN_UPLOAD_EXPIRY":   "6h",
		"LECTERN_TRASH_RETENTION": "7d",
		"LECTERN_MIN_FREE_DISK":   "0",
		"LECTERN_STORAGE_QUOTA":   "10GB",
		"LECTERN_STORAGE_TIMEOUT": "5s",
		// Automatic captions.
		"LECTERN_ASR_COMMAND":     "/opt/asr/run --model '/opt/asr/my model.bin' {audio} {output} {lang}",
		"LECTERN_ASR_LANG":        "pt-br",
		"LECTERN_ASR_CONCURRENCY": "2",
	}
	cfg, err := loadTestConfig(t, env)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr:              "127.0.0.1:9090",
		DataDir:           "/var/lib/lectern",
		DatabaseURL:       "sqlite:/var/lib/lectern/lectern.db",
		RedisURL:          "redis://queue:6379/2",
		S3:                S3Config{Endpoint: "minio:9000", AccessKey: "ak", SecretKey: "sk", Bucket: "videos", Region: "eu-west-1", UseSSL: true},
		Secret:            strings.Repeat("x", 32),
		FFmpeg:            "/opt/ffmpeg",
		FFprobe:           "/opt/ffprobe",
		WorkerConcurrency: 3,
		WorkerName:        "gpu-box-2",
		MaxUploadBytes:    500_000_000,
		AdminEmail:        "root@example.org",
		AdminPassword:     "long enough",
		PublicURL:         "https://lectern.example.org",
		TrustedProxies:    []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")},
		LogFormat:         "json",
		ShutdownTimeout:   2 * time.Minute,
		ReconcileInterval: 10 * time.Second,
		HeartbeatInterval: 2 * time.Second,
		JobDeadline:       15 * time.Minute,
		StallTimeout:      90 * time.Second,
		MetricsAddr:       "0.0.0.0:9100",
		// Storage limits.
		UploadExpiry:   6 * time.Hour,
		TrashRetention: 7 * 24 * time.Hour,
		MinFreeDisk:    0,
		StorageQuota:   10_000_000_000,
		StorageTimeout: 5 * time.Second,
		Mail:           MailConfig{DigestHour: 7},
		ASRCommand:     "/opt/asr/run --model '/opt/asr/my model.bin' {audio} {output} {lang}",
		ASRLang:        "pt-br",
		ASRConcurrency: 2,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(Config{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestConfigResolvesPaths checks that every path setting is made absolute
// against the working directory at start-up, so that nothing downstream
// (ffmpeg's output paths, the SQLite file, the secret) depends on it.
func TestConfigResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd() // dir with any symbolic link resolved as Getwd sees it
	if err != nil {
		t.Fatal(err)
	}
	abs := func(rel string) string { return filepath.Join(wd, rel) }
	tests := []struct {
		name string
		env  map[string]string
		// want is DataDir, DatabaseURL, FFmpeg, FFprobe.
		want []string
	}{
		{"Defaults", nil,
			[]string{abs("lectern-data"), "sqlite:" + abs("lectern-data/lectern.db"), "ffmpeg", "ffprobe"}},
		{"RelativeDataDir", map[string]string{"LECTERN_DATA_DIR": "var/../data"},
			[]string{abs("data"), "sqlite:" + abs("data/lectern.db"), "ffmpeg", "ffprobe"}},
		{"AbsoluteDataDir", map[string]string{"LECTERN_DATA_DIR": "/srv/lectern"},
			[]string{"/srv/lectern", "sqlite:/srv/lectern/lectern.db", "ffmpeg", "ffprobe"}},
		{"RelativeSQLiteWithQuery", map[string]string{"LECTERN_DATABASE_URL": "sqlite:db/lectern.db?_busy_timeout=500"},
			[]string{abs("lectern-data"), "sqlite:" + abs("db/lectern.db") + "?_busy_timeout=500", "ffmpeg", "ffprobe"}},
		{"SQLiteSlashes", map[string]string{"LECTERN_DATABASE_URL": "sqlite://lectern.db"},
			[]string{abs("lectern-data"), "sqlite:" + abs("lectern.db"), "ffmpeg", "ffprobe"}},
		{"FileScheme", map[string]string{"LECTERN_DATABASE_URL": "file:./x.db"},
			[]string{abs("lectern-data"), "file:" + abs("x.db"), "ffmpeg", "ffprobe"}},
		{"AbsoluteSQLite", map[string]string{"LECTERN_DATABASE_URL": "sqlite:/var/lib/l.db"},
			[]string{abs("lectern-data"), "sqlite:/var/lib/l.db", "ffmpeg", "ffprobe"}},
		{"InMemory", map[string]string{"LECTERN_DATABASE_URL": "sqlite::memory:"},
			[]string{abs("lectern-data"), "sqlite::memory:", "ffmpeg", "ffprobe"}},
		{"PostgresUntouched", map[string]string{"LECTERN_DATABASE_URL": "postgres://u@db:5432/lectern"},
			[]string{abs("lectern-data"), "postgres://u@db:5432/lectern", "ffmpeg", "ffprobe"}},
		{"ToolPaths", map[string]string{"LECTERN_FFMPEG": "./bin/ffmpeg", "LECTERN_FFPROBE": "tools/ffprobe"},
			[]string{abs("lectern-data"), "sqlite:" + abs("lectern-data/lectern.db"), abs("bin/ffmpeg"), abs("tools/ffprobe")}},
		{"ToolNamesStayOnPATH", map[string]string{"LECTERN_FFMPEG": "ffmpeg7", "LECTERN_FFPROBE": "/opt/ff/ffprobe"},
			[]string{abs("lectern-data"), "sqlite:" + abs("lectern-data/lectern.db"), "ffmpeg7", "/opt/ff/ffprobe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadTestConfig(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{cfg.DataDir, cfg.DatabaseURL, cfg.FFmpeg, cfg.FFprobe}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("data dir, database url, ffmpeg, ffprobe (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("FlagToo", func(t *testing.T) {
		cfg, err := loadTestConfig(t, nil, "--data-dir=here")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DataDir != abs("here") {
			t.Errorf("--data-dir=here gave %q, want %q", cfg.DataDir, abs("here"))
		}
	})
}

func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{
		"LECTERN_ADDR":               ":1111",
		"LECTERN_WORKER_CONCURRENCY": "abc", // bad, but overridden
		"LECTERN_REDIS_URL":          "redis://queue:6379/0",
	}
	cfg, err := loadTestConfig(t, env, "--addr", ":2222", "--worker-concurrency=4", "--redis-url=")
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.Addr, cfg.WorkerConcurrency, cfg.RedisURL}
	want := []any{":2222", 4, ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addr, concurrency, redis url (-want +got):\n%s", diff)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		// want is the start of the one-line error: the variable at fault.
		want string
	}{
		{"Concurrency", map[string]string{"LECTERN_WORKER_CONCURRENCY": "abc"}, nil, `LECTERN_WORKER_CONCURRENCY: must be a positive integer, got "abc"`},
		{"ConcurrencyZero", map[string]string{"LECTERN_WORKER_CONCURRENCY": "0"}, nil, "LECTERN_WORKER_CONCURRENCY: "},
		{"ConcurrencyFlag", nil, []string{"--worker-concurrency", "-2"}, "--worker-concurrency: "},
		{"Size", map[string]string{"LECTERN_MAX_UPLOAD_BYTES": "lots"}, nil, "LECTERN_MAX_UPLOAD_BYTES: "},
		{"SizeUnit", map[string]string{"LECTERN_MAX_UPLOAD_BYTES": "5XB"}, nil, "LECTERN_MAX_UPLOAD_BYTES: "},
		{"SizeOverflow", map[string]string{"LECTERN_MAX_UPLOAD_BYTES": "9000000000TiB"}, nil, "LECTERN_MAX_UPLOAD_BYTES: "},
		{"ShutdownTimeout", map[string]string{"LECTERN_SHUTDOWN_TIMEOUT": "30"}, nil, "LECTERN_SHUTDOWN_TIMEOUT: "},
		// Storage limits.
		{"UploadExpiry", map[string]string{"LECTERN_UPLOAD_EXPIRY": "1 day"}, nil, "LECTERN_UPLOAD_EXPIRY: "},
		{"TrashRetention", map[string]string{"LECTERN_TRASH_RETENTION": "a month"}, nil, "LECTERN_TRASH_RETENTION: must be a number of days like 30d"},
		{"TrashRetentionDays", map[string]string{"LECTERN_TRASH_RETENTION": "0d"}, nil, "LECTERN_TRASH_RETENTION: "},
		{"MinFreeDisk", map[string]string{"LECTERN_MIN_FREE_DISK": "-1GB"}, nil, "LECTERN_MIN_FREE_DISK: must be 0 or a size"},
		{"StorageQuota", map[string]string{"LECTERN_STORAGE_QUOTA": "plenty"}, nil, "LECTERN_STORAGE_QUOTA: must be 0 or a size"},
		{"StorageTimeout", map[string]string{"LECTERN_STORAGE_TIMEOUT": "30s"}, nil, "LECTERN_STORAGE_TIMEOUT: must be a duration from 1s to 10s"},
		{"UseSSL", map[string]string{"LECTERN_S3_USE_SSL": "yes please"}, nil, "LECTERN_S3_USE_SSL: "},
		{"Addr", map[string]string{"LECTERN_ADDR": "8080"}, nil, "LECTERN_ADDR: "},
		{"AddrPort", map[string]string{"LECTERN_ADDR": ":http-alt"}, nil, "LECTERN_ADDR: "},
		{"DatabaseScheme", map[string]string{"LECTERN_DATABASE_URL": "mysql://db/lectern"}, nil, `LECTERN_DATABASE_URL: unsupported scheme "mysql"`},
		{"DatabaseNoScheme", map[string]string{"LECTERN_DATABASE_URL": "lectern.db"}, nil, "LECTERN_DATABASE_URL: "},
		{"DatabaseEmptySQLitePath", map[string]string{"LECTERN_DATABASE_URL": "sqlite:"}, nil, "LECTERN_DATABASE_URL: "},
		{"RedisScheme", map[string]string{"LECTERN_REDIS_URL": "http://queue:6379"}, nil, "LECTERN_REDIS_URL: "},
		{"RedisDB", map[string]string{"LECTERN_REDIS_URL": "redis://queue:6379/jobs"}, nil, "LECTERN_REDIS_URL: "},
		{"S3WithoutAccessKey", map[string]string{"LECTERN_S3_ENDPOINT": "minio:9000", "LECTERN_S3_SECRET_KEY": "sk"}, nil, "LECTERN_S3_ACCESS_KEY: required when LECTERN_S3_ENDPOINT is set"},
		{"S3WithoutSecretKey", map[string]string{"LECTERN_S3_ENDPOINT": "minio:9000", "LECTERN_S3_ACCESS_KEY": "ak"}, nil, "LECTERN_S3_SECRET_KEY: required when LECTERN_S3_ENDPOINT is set"},
		{"S3KeysWithoutEndpoint", map[string]string{"LECTERN_S3_ACCESS_KEY": "ak", "LECTERN_S3_SECRET_KEY": "sk"}, nil, "LECTERN_S3_ENDPOINT: required when LECTERN_S3_ACCESS_KEY is set"},
		{"S3EndpointWithScheme", map[string]string{"LECTERN_S3_ENDPOINT": "https://s3.example.org", "LECTERN_S3_ACCESS_KEY": "ak", "LECTERN_S3_SECRET_KEY": "sk"}, nil, "LECTERN_S3_ENDPOINT: "},
		{"S3Bucket", map[string]string{"LECTERN_S3_ENDPOINT": "minio:9000", "LECTERN_S3_ACCESS_KEY": "ak", "LECTERN_S3_SECRET_KEY": "sk", "LECTERN_S3_BUCKET": "My_Bucket"}, nil, "LECTERN_S3_BUCKET: "},
		{"S3Media", map[string]string{"LECTERN_S3_ENDPOINT": "minio:9000", "LECTERN_S3_ACCESS_KEY": "ak", "LECTERN_S3_SECRET_KEY": "sk", "LECTERN_S3_MEDIA": "teleport"}, nil, "LECTERN_S3_MEDIA: "},
		{"S3RedirectOnDisk", map[string]string{"LECTERN_S3_MEDIA": "redirect"}, nil, "LECTERN_S3_MEDIA: "},
		{"S3PublicURL", map[string]string{"LECTERN_S3_ENDPOINT": "minio:9000", "LECTERN_S3_ACCESS_KEY": "ak", "LECTERN_S3_SECRET_KEY": "sk", "LECTERN_S3_PUBLIC_URL": "media.example.org"}, nil, "LECTERN_S3_PUBLIC_URL: "},
		{"ShortSecret", map[string]string{"LECTERN_SECRET": "hunter2"}, nil, "LECTERN_SECRET: must be at least 32 characters"},
		{"ShortSecretFlag", nil, []string{"--secret=hunter2"}, "--secret: "},
		{"AdminWithoutPassword", map[string]string{"LECTERN_ADMIN_EMAIL": "a@example.org"}, nil, "LECTERN_ADMIN_PASSWORD: required when LECTERN_ADMIN_EMAIL is set"},
		{"AdminWithoutEmail", map[string]string{"LECTERN_ADMIN_PASSWORD": "long enough"}, nil, "LECTERN_ADMIN_EMAIL: required when LECTERN_ADMIN_PASSWORD is set"},
		{"AdminShortPassword", map[string]string{"LECTERN_ADMIN_EMAIL": "a@example.org", "LECTERN_ADMIN_PASSWORD": "short"}, nil, "LECTERN_ADMIN_PASSWORD: must be at least 8 characters"},
		{"AdminEmail", map[string]string{"LECTERN_ADMIN_EMAIL": "Admin <a@example.org>", "LECTERN_ADMIN_PASSWORD": "long enough"}, nil, "LECTERN_ADMIN_EMAIL: "},
		{"PublicURLRelative", map[string]string{"LECTERN_PUBLIC_URL": "lectern.example.org"}, nil, "LECTERN_PUBLIC_URL: "},
		{"PublicURLScheme", map[string]string{"LECTERN_PUBLIC_URL": "ftp://lectern.example.org"}, nil, "LECTERN_PUBLIC_URL: "},
		{"DeadlineUnderThreeBeats", map[string]string{"LECTERN_HEARTBEAT_INTERVAL": "30s", "LECTERN_JOB_DEADLINE": "1m"}, nil, "LECTERN_JOB_DEADLINE: must be at least 3 × LECTERN_HEARTBEAT_INTERVAL"},
		{"PublicURLQuery", map[string]string{"LECTERN_PUBLIC_URL": "https://lectern.example.org/?x=1"}, nil, "LECTERN_PUBLIC_URL: "},
		{"TrustedProxiesCIDR", map[string]string{"LECTERN_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/33"}, nil, `LECTERN_TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR`},
		{"TrustedProxiesHost", map[string]string{"LECTERN_TRUSTED_PROXIES": "proxy.internal"}, nil, "LECTERN_TRUSTED_PROXIES: "},
		{"LogFormat", map[string]string{"LECTERN_LOG_FORMAT": "xml"}, nil, `LECTERN_LOG_FORMAT: must be text or json, got "xml"`},
		{"MetricsAddr", map[string]string{"LECTERN_METRICS_ADDR": "9100"}, nil, `LECTERN_METRICS_ADDR: must be host:port or :port, got "9100"`},
		{"MetricsAddrPort", nil, []string{"--metrics-addr=:prometheus"}, "--metrics-addr: port must be a number"},
		{"DataDirFlagEmpty", nil, []string{"--data-dir="}, "--data-dir: "},
		{"FFmpegEmptyFlag", nil, []string{"--ffmpeg="}, "--ffmpeg: "},
		// Automatic captions.
		{"ASRNoOutput", map[string]string{"LECTERN_ASR_COMMAND": "whisper -f {audio}"}, nil, "LECTERN_ASR_COMMAND: the command must contain {output}"},
		{"ASRPlaceholder", map[string]string{"LECTERN_ASR_COMMAND": "whisper -f {audio} -of {output} -m {model}"}, nil, "LECTERN_ASR_COMMAND: unknown placeholder {model}"},
		{"ASRQuote", map[string]string{"LECTERN_ASR_COMMAND": `whisper "{audio} {output}`}, nil, "LECTERN_ASR_COMMAND: unclosed \" quote"},
		{"ASRLang", map[string]string{"LECTERN_ASR_COMMAND": "whisper {audio} {output}", "LECTERN_ASR_LANG": "english"}, nil, "LECTERN_ASR_LANG: must be a BCP 47 language tag"},
		{"ASRConcurrency", map[string]string{"LECTERN_ASR_CONCURRENCY": "0"}, nil, "LECTERN_ASR_CONCURRENCY: must be a positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadTestConfig(t, tt.env, tt.args...)
			if err == nil {
				t.Fatalf("no error; want one starting %q", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error = %q, want it to start with %q", msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
		})
	}
}

func TestConfigRequireRedis(t *testing.T) {
	cfg, err := loadTestConfig(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.RequireRedis("worker")
	if err == nil || !strings.HasPrefix(err.Error(), "LECTERN_REDIS_URL: required by \"lectern worker\"") {
		t.Errorf("RequireRedis without a Redis URL = %v, want an error naming LECTERN_REDIS_URL", err)
	}
	cfg, err = loadTestConfig(t, map[string]string{"LECTERN_REDIS_URL": "redis://queue:6379/0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.RequireRedis("worker"); err != nil {
		t.Errorf("RequireRedis with a Redis URL: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20},
		{"500MB", 500_000_000},
		{"500 mb", 500_000_000},
		{"2GiB", 2 << 30},
		{"4gib", 4 << 30},
		{"10KiB", 10 << 10},
		{"1TB", 1e12},
		{"7B", 7},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1.5GB", "GB", "12 parsecs", "99999999999999999999"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestSecret(t *testing.T) {
	t.Run("GeneratedOnceThenReused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		cfg := DefaultConfig()
		cfg.DataDir = dir
		first, created, err := cfg.signingSecret()
		if err != nil || !created {
			t.Fatalf("first start: created=%v err=%v, want a new secret", created, err)
		}
		if len(first) != 64 {
			t.Errorf("generated secret has %d characters, want 64 (32 bytes hex)", len(first))
		}
		fi, err := os.Stat(filepath.Join(dir, "secret"))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("secret file mode = %v, want 0600", perm)
		}
		second, created, err := cfg.signingSecret()
		if err != nil || created {
			t.Fatalf("second start: created=%v err=%v, want the existing secret", created, err)
		}
		if string(second) != string(first) {
			t.Error("second start got a different secret")
		}
	})
	t.Run("ConfiguredSecretWins", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.DataDir = t.TempDir()
		cfg.Secret = strings.Repeat("k", 40)
		got, created, err := cfg.signingSecret()
		if err != nil || created || string(got) != cfg.Secret {
			t.Errorf("signingSecret = %q, %v, %v; want LECTERN_SECRET", got, created, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret")); !os.IsNotExist(err) {
			t.Errorf("a secret file was written although LECTERN_SECRET is set (stat: %v)", err)
		}
	})
	t.Run("TruncatedFileIsAnError", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.DataDir = t.TempDir()
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "secret"), []byte("short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cfg.signingSecret(); err == nil {
			t.Error("a secret file with 5 characters was accepted")
		}
	})
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"postgres://lectern:s3cret@db:5432/lectern?sslmode=disable&password=x": "postgres://lectern@db:5432/lectern",
		"redis://:hunter2@queue:6379/0":                                        "redis://queue:6379/0",
		"redis://queue:6379/0":                                                 "redis://queue:6379/0",
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two workers on one host get different names unless they are given one.
func TestWorkerName(t *testing.T) {
	host, _ := os.Hostname()
	if got, want := (&Config{}).workerName(), host+":"+strconv.Itoa(os.Getpid()); got != want {
		t.Errorf("default worker name = %q, want %q (host:pid)", got, want)
	}
	if got := (&Config{WorkerName: "gpu-box-2"}).workerName(); got != "gpu-box-2" {
		t.Errorf("worker name = %q, want LECTERN_WORKER_NAME's gpu-box-2", got)
	}
}
