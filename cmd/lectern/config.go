package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/server"
)

// Config is everything a lectern process is told from outside: the fixed
// list of LECTERN_* environment variables, each overridable by a flag.
// LoadConfig fills it; Validate checks it.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	// RedisURL is empty when the queue runs in-process (serve only).
	RedisURL string
	S3       S3Config
	// Secret is the signing key; empty means "generate one into the data
	// dir on first start and reuse it" (see loadOrCreateSecret).
	Secret            string
	FFmpeg            string
	FFprobe           string
	WorkerConcurrency int
	// WorkerName names this worker process in the jobs it runs, the admin
	// jobs page and the chunk metrics; empty is host:pid, which tells two
	// workers on one host apart.
	WorkerName     string
	MaxUploadBytes int64
	AdminEmail     string
	AdminPassword  string
	// PublicURL is how users reach the server, without a trailing slash.
	// Empty means http://localhost with the port the server listens on.
	PublicURL       string
	TrustedProxies  []netip.Prefix
	LogFormat       string
	ShutdownTimeout time.Duration
	// ReconcileInterval is how often the reconciler compares the jobs
	// table with the queue; HeartbeatInterval is how often a running
	// transcode renews its lease; JobDeadline is how long a lease may go
	// unrenewed before the reconciler takes it back and another worker
	// runs the job; StallTimeout is how long ffmpeg may report no
	// progress before it is killed and retried.
	ReconcileInterval time.Duration
	HeartbeatInterval time.Duration
	JobDeadline       time.Duration
	StallTimeout      time.Duration
	// ChunkSeconds is the length of the chunks a long recording's encode
	// is split into, each its own task on any worker (transcode.Handler);
	// 0 encodes every recording in one run.
	ChunkSeconds int
	// MetricsAddr is where a separate listener serves /metrics and
	// /healthz; empty means none. It is how "lectern worker", which has
	// no HTTP server of its own, is scraped; serve and api also keep
	// /metrics on their main listener.
	MetricsAddr string
	// EventStreamsPerUser, MaxEventStreams, PasswordHashConcurrency and
	// MediaStallTimeout are the API's tunable limits (config_limits.go);
	// zero means the server's default.
	EventStreamsPerUser     int
	MaxEventStreams         int
	PasswordHashConcurrency int
	MediaStallTimeout       time.Duration

	// Storage limits (storage.go): UploadExpiry is the age past which
	// abandoned partial uploads are removed; MinFreeDisk the free space
	// the data dir's disk must keep (readiness fails below it, and
	// uploads stop short of it) in the embedded setup, 0 for no check;
	// StorageQuota the bytes each teacher's lessons may take, 0 for no
	// limit.
	UploadExpiry time.Duration
	// TrashRetention is how long a deleted course or lesson can be
	// restored before its media and data are removed (server/trash.go).
	TrashRetention time.Duration
	MinFreeDisk    int64
	StorageQuota   int64
	// StorageTimeout bounds each call a media request makes to storage.
	StorageTimeout time.Duration
	// Mail is how mail is sent (config_mail.go).
	Mail MailConfig
	// OIDC is single sign-on (config_oidc.go); an empty Issuer turns it
	// off.
	OIDC server.OIDCOptions

	// How ffmpeg is confined (config_limits.go): FFmpegSandbox is
	// transcode.SandboxAuto (also ""), SandboxRequired or SandboxOff;
	// FFmpegMemory and FFprobeMemory are address-space limits, zero for
	// transcode's defaults.
	FFmpegSandbox string
	FFmpegMemory  int64
	FFprobeMemory int64

	// Automatic captions (config_asr.go): ASRCommand is the speech
	// recognizer's command line template, empty for none; ASRLang the
	// language it recognises (canonical BCP 47); ASRConcurrency how many
	// recognitions a worker runs at once, beside its transcodes.
	ASRCommand     string
	ASRLang        string
	ASRConcurrency int
	// sweepEvery is how often abandoned uploads are looked for; zero
	// derives it from UploadExpiry. Not a setting: tests shorten it.
	sweepEvery time.Duration

	// names maps each variable to the name its value came from (the
	// variable itself, or the flag that overrode it), so that errors name
	// what the user actually wrote.
	names map[string]string
}

// S3Config locates S3-compatible object storage. An empty Endpoint means
// disk storage in the data dir.
type S3Config struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseSSL    bool
	// Media is how segments reach browsers: "stream" (through Lectern,
	// the default) or "redirect" (to presigned URLs on PublicURL).
	Media     string
	PublicURL string
}

// ConfigError is a configuration problem. Its text is one line that starts
// with the variable (or flag) at fault.
type ConfigError struct {
	Name    string
	Problem string
}

// Error implements the error interface.
func (e *ConfigError) Error() string { return e.Name + ": " + e.Problem }

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		DataDir:           "./lectern-data",
		S3:                S3Config{Bucket: "lectern"},
		Mail:              MailConfig{DigestHour: 7},
		FFmpeg:            "ffmpeg",
		FFprobe:           "ffprobe",
		WorkerConcurrency: 1,
		MaxUploadBytes:    4 << 30,
		LogFormat:         "text",
		ShutdownTimeout:   30 * time.Second,
		ReconcileInterval: 30 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		// Twelve missed beats: a killed worker's job is running again
		// elsewhere within about a minute and a half (deadline plus one
		// reconcile interval).
		JobDeadline:    time.Minute,
		StallTimeout:   5 * time.Minute,
		ChunkSeconds:   32, // transcode.DefaultChunkSeconds (config.go does not import transcode)
		UploadExpiry:   24 * time.Hour,
		TrashRetention: lectern.DefaultTrashRetention,
		MinFreeDisk:    512 << 20,
		StorageTimeout: 8 * time.Second,
		ASRLang:        "en",
		ASRConcurrency: 1,
	}
}

// configVar is one entry of the configuration list: its variable, its flag,
// and how its text is stored into a Config.
type configVar struct {
	env, flag, usage string
	set              func(c *Config, v string) error
}

func setString(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = strings.TrimSpace(v); return nil }
}

// configVars is the fixed configuration list, in documentation order.
func configVars() []configVar {
	return append([]configVar{
		{"LECTERN_ADDR", "addr", "HTTP listen address (default :8080)", setString(func(c *Config) *string { return &c.Addr })},
		{"LECTERN_DATA_DIR", "data-dir", "directory for the SQLite file, disk objects and generated secret (default ./lectern-data)", setString(func(c *Config) *string { return &c.DataDir })},
		{"LECTERN_DATABASE_URL", "database-url", "postgres://… or sqlite:PATH (default sqlite:<data dir>/lectern.db)", setString(func(c *Config) *string { return &c.DatabaseURL })},
		{"LECTERN_REDIS_URL", "redis-url", "redis://host:6379/0 (default: in-process queue, serve only)", setString(func(c *Config) *string { return &c.RedisURL })},
		{"LECTERN_S3_ENDPOINT", "s3-endpoint", "host:port of MinIO/S3 (default: disk storage in <data dir>/objects)", setString(func(c *Config) *string { return &c.S3.Endpoint })},
		{"LECTERN_S3_ACCESS_KEY", "s3-access-key", "S3 access key (required with an endpoint)", setString(func(c *Config) *string { return &c.S3.AccessKey })},
		{"LECTERN_S3_SECRET_KEY", "s3-secret-key", "S3 secret key (required with an endpoint)", setString(func(c *Config) *string { return &c.S3.SecretKey })},
		{"LECTERN_S3_BUCKET", "s3-bucket", "S3 bucket, created when missing (default lectern)", setString(func(c *Config) *string { return &c.S3.Bucket })},
		{"LECTERN_S3_REGION", "s3-region", "S3 region", setString(func(c *Config) *string { return &c.S3.Region })},
		{"LECTERN_S3_USE_SSL", "s3-use-ssl", "true to reach S3 over HTTPS (default false)", setS3UseSSL},
		{"LECTERN_S3_MEDIA", "s3-media", "how segments reach browsers: stream (through Lectern, default) or redirect (to short-lived presigned URLs on the bucket)", setString(func(c *Config) *string { return &c.S3.Media })},
		{"LECTERN_S3_PUBLIC_URL", "s3-public-url", "the bucket's endpoint as browsers reach it, for redirect mode (default: LECTERN_S3_ENDPOINT)", setString(func(c *Config) *string { return &c.S3.PublicURL })},
		{"LECTERN_SECRET", "secret", "signing key of at least 32 characters (default: generated into <data dir>/secret)", func(c *Config, v string) error { c.Secret = v; return nil }},
		{"LECTERN_FFMPEG", "ffmpeg", "ffmpeg path or name on PATH (default ffmpeg)", setString(func(c *Config) *string { return &c.FFmpeg })},
		{"LECTERN_FFPROBE", "ffprobe", "ffprobe path or name on PATH (default ffprobe)", setString(func(c *Config) *string { return &c.FFprobe })},
		{"LECTERN_WORKER_CONCURRENCY", "worker-concurrency", "transcodes at once per worker (default 1)", setWorkerConcurrency},
		{"LECTERN_WORKER_NAME", "worker-name", "this worker's name on the admin jobs page and in metrics (default host:pid)", setString(func(c *Config) *string { return &c.WorkerName })},
		{"LECTERN_MAX_UPLOAD_BYTES", "max-upload-bytes", "largest upload, in bytes or with a unit like 500MB or 2GiB (default 4GiB)", setMaxUploadBytes},
		{"LECTERN_ADMIN_EMAIL", "admin-email", "create this admin at start-up when no user exists", setString(func(c *Config) *string { return &c.AdminEmail })},
		{"LECTERN_ADMIN_PASSWORD", "admin-password", "password of that admin (at least 8 characters)", func(c *Config, v string) error { c.AdminPassword = v; return nil }},
		{"LECTERN_PUBLIC_URL", "public-url", "how users reach the server; https means Secure cookies (default http://localhost:<port>)", setString(func(c *Config) *string { return &c.PublicURL })},
		{"LECTERN_TRUSTED_PROXIES", "trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For is believed (default none)", setTrustedProxies},
		{"LECTERN_LOG_FORMAT", "log-format", "text or json (default text)", setString(func(c *Config) *string { return &c.LogFormat })},
		{"LECTERN_SHUTDOWN_TIMEOUT", "shutdown-timeout", "grace period for requests and running tasks on SIGTERM (default 30s)", setShutdownTimeout},
		{"LECTERN_RECONCILE_INTERVAL", "reconcile-interval", "how often expired transcode leases are taken back, jobs missing from the queue re-enqueued and dead outputs deleted (default 30s)", setDuration(func(c *Config) *time.Duration { return &c.ReconcileInterval })},
		{"LECTERN_HEARTBEAT_INTERVAL", "heartbeat-interval", "how often a running transcode renews its lease (default 5s)", setDuration(func(c *Config) *time.Duration { return &c.HeartbeatInterval })},
		{"LECTERN_JOB_DEADLINE", "job-deadline", "a transcode lease not renewed for this long is taken back and the job run on another worker (default 1m; at least 3 heartbeat intervals)", setDuration(func(c *Config) *time.Duration { return &c.JobDeadline })},
		{"LECTERN_CHUNK_SECONDS", "chunk-seconds", "seconds of video per chunk of a long recording's encode, each its own task on any worker; 0 encodes every recording in one run (default 32)", setChunkSeconds},
		{"LECTERN_STALL_TIMEOUT", "stall-timeout", "ffmpeg without progress for this long is killed and the transcode retried (default 5m)", setDuration(func(c *Config) *time.Duration { return &c.StallTimeout })},
		{"LECTERN_METRICS_ADDR", "metrics-addr", "host:port of a separate listener for /metrics and /healthz, the way to scrape a worker (default none; serve and api also answer /metrics on LECTERN_ADDR)", setString(func(c *Config) *string { return &c.MetricsAddr })},
		{"LECTERN_EVENT_STREAMS_PER_USER", "event-streams-per-user", "live update streams one user may have open at once (default 5)", setPositiveInt(func(c *Config) *int { return &c.EventStreamsPerUser })},
		{"LECTERN_MAX_EVENT_STREAMS", "max-event-streams", "live update streams one API process holds at most (default 2000)", setPositiveInt(func(c *Config) *int { return &c.MaxEventStreams })},
		{"LECTERN_PASSWORD_HASH_CONCURRENCY", "password-hash-concurrency", "password checks computed at once, 19 MiB each (default: the number of CPUs)", setPositiveInt(func(c *Config) *int { return &c.PasswordHashConcurrency })},
		{"LECTERN_MEDIA_STALL_TIMEOUT", "media-stall-timeout", "a client that takes longer than this to accept each 128 KiB of a segment has its connection closed (default 30s)", setDuration(func(c *Config) *time.Duration { return &c.MediaStallTimeout })},
		// Storage limits (storage.go).
		{"LECTERN_UPLOAD_EXPIRY", "upload-expiry", "abandoned partial uploads untouched for this long are removed (default 24h)", setDuration(func(c *Config) *time.Duration { return &c.UploadExpiry })},
		{"LECTERN_TRASH_RETENTION", "trash-retention", "deleted courses and lessons can be restored from the trash for this long, then their media and data are removed: days (30d) or a duration (default 30d)", setTrashRetention},
		{"LECTERN_MIN_FREE_DISK", "min-free-disk", "free space the data dir's disk must keep: below it /readyz fails and uploads are refused; 0 turns the check off (default 512MiB)", setMinFreeDisk},
		{"LECTERN_STORAGE_QUOTA", "storage-quota", "storage each teacher's lessons may take, like 10GB; 0 means no limit (default 0)", setStorageQuota},
		{"LECTERN_FFMPEG_SANDBOX", "ffmpeg-sandbox", "auto: run ffmpeg without network under bubblewrap when it is installed and works, else without (a warning says why); bwrap: refuse to start without it; off (default auto)", setFFmpegSandbox},
		{"LECTERN_FFMPEG_MEMORY", "ffmpeg-memory", "address space each ffmpeg may use, like 6GiB (default 3GiB plus 256MiB per CPU)", setMemory(func(c *Config) *int64 { return &c.FFmpegMemory })},
		{"LECTERN_FFPROBE_MEMORY", "ffprobe-memory", "address space each ffprobe may use, at least 384MiB (default 512MiB)", setMemory(func(c *Config) *int64 { return &c.FFprobeMemory })},
		// Automatic captions (config_asr.go).
		{"LECTERN_ASR_COMMAND", "asr-command", "speech recognizer that makes draft captions of every transcoded lesson: a command line with {audio} (16 kHz mono WAV), {output} (WebVTT or SRT it writes) and {lang}, run without a shell (default none: no automatic captions)", setString(func(c *Config) *string { return &c.ASRCommand })},
		{"LECTERN_ASR_LANG", "asr-lang", "language of the automatic captions, a BCP 47 tag such as en or de (default en)", setString(func(c *Config) *string { return &c.ASRLang })},
		{"LECTERN_ASR_CONCURRENCY", "asr-concurrency", "speech recognitions at once per worker, beside its transcodes (default 1)", setPositiveInt(func(c *Config) *int { return &c.ASRConcurrency })},
		{"LECTERN_STORAGE_TIMEOUT", "storage-timeout", "a playlist or segment request whose storage does not answer within this gets 503, at most 10s (default 8s)", setStorageTimeout},
	}, append(mailConfigVars(), oidcConfigVars()...)...)
}

// RegisterConfigFlags defines the configuration flags on fs. Every flag is
// a string so that LoadConfig reports bad values in its own one-line form.
func RegisterConfigFlags(fs *flag.FlagSet) {
	for _, v := range configVars() {
		fs.String(v.flag, "", v.usage+" [$"+v.env+"]")
	}
}

// LoadConfig builds the configuration from the environment (read through
// getenv) and the flags of fs, which must already be parsed and have had
// RegisterConfigFlags called on them. A flag given on the command line
// wins over its variable, even when empty. LoadConfig reports values that
// cannot be parsed; Validate checks the rest.
func LoadConfig(fs *flag.FlagSet, getenv func(string) string) (Config, error) {
	setFlags := map[string]string{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = f.Value.String() })

	c := DefaultConfig()
	c.names = map[string]string{}
	for _, v := range configVars() {
		value, name := getenv(v.env), v.env
		if fv, ok := setFlags[v.flag]; ok {
			value, name = fv, "--"+v.flag
		} else if value == "" {
			continue
		}
		c.names[v.env] = name
		if err := v.set(&c, value); err != nil {
			return Config{}, &ConfigError{Name: name, Problem: err.Error()}
		}
	}
	if err := c.resolvePaths(); err != nil {
		return Config{}, err
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "lectern.db")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, nil
}

// resolvePaths makes every path setting absolute, once, against the
// working directory at start-up: the data dir (and so the work, uploads,
// storage and secret paths under it), a relative SQLite file, and ffmpeg
// or ffprobe given as a path. Bare tool names stay as they are, to be
// looked up on PATH. Nothing downstream then depends on the working
// directory: ffmpeg, for one, refuses relative output paths, and a
// relative path means something else to a process started elsewhere.
// Empty values are left for Validate to report.
func (c *Config) resolvePaths() error {
	var err error
	if c.DataDir != "" {
		if c.DataDir, err = absPath(c.DataDir); err != nil {
			return c.errorf("LECTERN_DATA_DIR", "%v", err)
		}
	}
	if c.DatabaseURL, err = absSQLiteURL(c.DatabaseURL); err != nil {
		return c.errorf("LECTERN_DATABASE_URL", "%v", err)
	}
	for _, tool := range []struct {
		env string
		dst *string
	}{{"LECTERN_FFMPEG", &c.FFmpeg}, {"LECTERN_FFPROBE", &c.FFprobe}} {
		if !strings.ContainsRune(*tool.dst, filepath.Separator) && !strings.ContainsRune(*tool.dst, '/') {
			continue // a name looked up on PATH
		}
		if *tool.dst, err = absPath(*tool.dst); err != nil {
			return c.errorf(tool.env, "%v", err)
		}
	}
	return nil
}

// absPath is filepath.Abs with an error that names the path.
func absPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("cannot make %q absolute: %w", path, err)
	}
	return abs, nil
}

// absSQLiteURL makes the file of a "sqlite:PATH" or "file:PATH" URL
// absolute, keeping its query; any other URL (PostgreSQL, an in-memory
// or empty SQLite one) is returned as it is.
func absSQLiteURL(dbURL string) (string, error) {
	scheme, rest, ok := strings.Cut(dbURL, ":")
	if !ok || (scheme != "sqlite" && scheme != "file") {
		return dbURL, nil
	}
	path, query, hasQuery := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || filepath.IsAbs(path) {
		return dbURL, nil
	}
	abs, err := absPath(path)
	if err != nil {
		return "", err
	}
	if hasQuery {
		abs += "?" + query
	}
	return scheme + ":" + abs, nil
}

// name returns what the user called variable env: the flag when one
// overrode it, else the variable.
func (c *Config) name(env string) string {
	if n, ok := c.names[env]; ok {
		return n
	}
	return env
}

func (c *Config) errorf(env, format string, args ...any) error {
	return &ConfigError{Name: c.name(env), Problem: fmt.Sprintf(format, args...)}
}

func setS3UseSSL(c *Config, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be true or false, got %q", v)
	}
	c.S3.UseSSL = b
	return nil
}

func setWorkerConcurrency(c *Config, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return fmt.Errorf("must be a positive integer, got %q", v)
	}
	c.WorkerConcurrency = n
	return nil
}

func setMaxUploadBytes(c *Config, v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	c.MaxUploadBytes = n
	return nil
}

func setShutdownTimeout(c *Config, v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration like 30s or 2m, got %q", v)
	}
	c.ShutdownTimeout = d
	return nil
}

func setDuration(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration like 30s or 2m, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

// setTrashRetention reads a retention in days ("30d") or as a duration
// ("720h").
func setTrashRetention(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a number of days like 30d, or a duration like 720h, got %q", v)
		}
		c.TrashRetention = time.Duration(n) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a number of days like 30d, or a duration like 720h, got %q", v)
	}
	c.TrashRetention = d
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	prefixes, err := ParseCIDRs(v)
	if err != nil {
		return err
	}
	c.TrustedProxies = prefixes
	return nil
}

// ParseCIDRs parses a comma-separated list of CIDRs ("10.0.0.0/8,
// fd00::/8"). A bare address stands for itself alone. Blank items are
// ignored, so the empty string is the empty list.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// sizeUnits are the units ParseSize understands, lowercased: decimal
// (KB = 1000) and binary (KiB = 1024).
func sizeUnit(u string) (int64, bool) {
	switch strings.ToLower(u) {
	case "", "b":
		return 1, true
	case "k", "kb":
		return 1e3, true
	case "m", "mb":
		return 1e6, true
	case "g", "gb":
		return 1e9, true
	case "t", "tb":
		return 1e12, true
	case "ki", "kib":
		return 1 << 10, true
	case "mi", "mib":
		return 1 << 20, true
	case "gi", "gib":
		return 1 << 30, true
	case "ti", "tib":
		return 1 << 40, true
	}
	return 0, false
}

// ParseSize parses a positive byte count, bare ("1048576") or with a unit:
// KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.
// Units are case-insensitive and may follow a space.
func ParseSize(s string) (int64, error) {
	bad := fmt.Errorf("must be a positive size in bytes or with a unit like 500MB or 2GiB, got %q", s)
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, bad
	}
	unit, ok := sizeUnit(strings.TrimSpace(t[i:]))
	if !ok || n <= 0 {
		return 0, bad
	}
	if n > (1<<63-1)/unit {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * unit, nil
}

// RequireRedis reports an error naming LECTERN_REDIS_URL when it is unset:
// the scaled modes (api, worker) share a queue, which only Redis can hold.
func (c *Config) RequireRedis(mode string) error {
	if c.RedisURL == "" {
		return c.errorf("LECTERN_REDIS_URL", "required by %q (only \"lectern serve\" runs an in-process queue)", "lectern "+mode)
	}
	return nil
}

// publicURL returns the configured public URL, or http://localhost with
// the port of addr (the address actually listened on).
func (c *Config) publicURL(addr net.Addr) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	return "http://localhost"
}

func setChunkSeconds(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 3600 {
		return fmt.Errorf("must be a whole number of seconds from 0 to 3600, got %q", v)
	}
	c.ChunkSeconds = n
	return nil
}
