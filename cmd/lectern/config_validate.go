package main

import (
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Validate checks the configuration as a whole. The error, when there is
// one, is a *ConfigError: one line naming the variable at fault.
func (c *Config) Validate() error {
	checks := []func() error{
		c.validateAddr, c.validateDataDir, c.validateDatabaseURL,
		c.validateRedisURL, c.validateS3, c.validateSecret, c.validateTools,
		c.validateAdmin, c.validatePublicURL, c.validateLogFormat,
		c.validateMetricsAddr, c.validateLeases, c.validateASR, c.validateMail, c.validateOIDC,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateAddr() error { return c.validateListenAddr("LECTERN_ADDR", c.Addr) }

func (c *Config) validateMetricsAddr() error {
	if c.MetricsAddr == "" {
		return nil
	}
	return c.validateListenAddr("LECTERN_METRICS_ADDR", c.MetricsAddr)
}

// validateListenAddr checks that addr, the value of env, is host:port or :port.
func (c *Config) validateListenAddr(env, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return c.errorf(env, "must be host:port or :port, got %q", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return c.errorf(env, "port must be a number from 0 to 65535, got %q", addr)
	}
	return nil
}

// validateLeases checks that a running transcode renews its lease several
// times within the deadline, so that one slow beat does not hand a live
// transcode to another worker.
func (c *Config) validateLeases() error {
	if c.JobDeadline < 3*c.HeartbeatInterval {
		return c.errorf("LECTERN_JOB_DEADLINE", "must be at least 3 × LECTERN_HEARTBEAT_INTERVAL (%s), got %s",
			c.HeartbeatInterval, c.JobDeadline)
	}
	return nil
}

func (c *Config) validateDataDir() error {
	if c.DataDir == "" {
		return c.errorf("LECTERN_DATA_DIR", "must not be empty")
	}
	return nil
}

func (c *Config) validateDatabaseURL() error {
	u := c.DatabaseURL
	scheme, rest, ok := strings.Cut(u, ":")
	switch {
	case !ok:
		return c.errorf("LECTERN_DATABASE_URL", "must be postgres://… or sqlite:PATH, got %q", u)
	case scheme == "sqlite" || scheme == "file":
		if rest == "" {
			return c.errorf("LECTERN_DATABASE_URL", "needs a file path after %q, like sqlite:./lectern.db", scheme+":")
		}
	case scheme == "postgres" || scheme == "postgresql":
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return c.errorf("LECTERN_DATABASE_URL", "must be a URL like postgres://user:password@host:5432/db")
		}
	default:
		return c.errorf("LECTERN_DATABASE_URL", "unsupported scheme %q; use postgres://… or sqlite:PATH", scheme)
	}
	return nil
}

func (c *Config) validateRedisURL() error {
	if c.RedisURL == "" {
		return nil
	}
	u, err := url.Parse(c.RedisURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return c.errorf("LECTERN_REDIS_URL", "must be a URL like redis://host:6379/0")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if _, err := strconv.Atoi(db); err != nil {
			return c.errorf("LECTERN_REDIS_URL", "database must be a number, like redis://host:6379/0")
		}
	}
	return nil
}

// bucketName is S3's rule for bucket names, without the rarer exceptions.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c *Config) validateS3() error {
	s := c.S3
	switch s.Media {
	case "", "stream":
	case "redirect":
		if s.Endpoint == "" {
			return c.errorf("LECTERN_S3_MEDIA", "redirect needs S3 storage (%s); disk storage is always streamed", c.name("LECTERN_S3_ENDPOINT"))
		}
	default:
		return c.errorf("LECTERN_S3_MEDIA", "must be stream or redirect, got %q", s.Media)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return c.errorf("LECTERN_S3_PUBLIC_URL", "must be an http or https URL without a path, got %q", s.PublicURL)
		}
	}
	if s.Endpoint == "" {
		// Keys without an endpoint mean someone expects S3 and would
		// silently get disk storage.
		if s.AccessKey != "" {
			return c.errorf("LECTERN_S3_ENDPOINT", "required when %s is set", c.name("LECTERN_S3_ACCESS_KEY"))
		}
		if s.SecretKey != "" {
			return c.errorf("LECTERN_S3_ENDPOINT", "required when %s is set", c.name("LECTERN_S3_SECRET_KEY"))
		}
		return nil
	}
	if strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/") {
		return c.errorf("LECTERN_S3_ENDPOINT", "must be host:port without scheme or path (use LECTERN_S3_USE_SSL for https), got %q", s.Endpoint)
	}
	if s.AccessKey == "" {
		return c.errorf("LECTERN_S3_ACCESS_KEY", "required when %s is set", c.name("LECTERN_S3_ENDPOINT"))
	}
	if s.SecretKey == "" {
		return c.errorf("LECTERN_S3_SECRET_KEY", "required when %s is set", c.name("LECTERN_S3_ENDPOINT"))
	}
	if !bucketName.MatchString(s.Bucket) {
		return c.errorf("LECTERN_S3_BUCKET", "must be 3 to 63 lowercase letters, digits, dots or hyphens, got %q", s.Bucket)
	}
	return nil
}

func (c *Config) validateSecret() error {
	if c.Secret != "" && len(c.Secret) < 32 {
		return c.errorf("LECTERN_SECRET", "must be at least 32 characters, got %d (leave it unset to have one generated)", len(c.Secret))
	}
	return nil
}

func (c *Config) validateTools() error {
	if c.FFmpeg == "" {
		return c.errorf("LECTERN_FFMPEG", "must not be empty")
	}
	if c.FFprobe == "" {
		return c.errorf("LECTERN_FFPROBE", "must not be empty")
	}
	return nil
}

func (c *Config) validateAdmin() error {
	switch {
	case c.AdminEmail == "" && c.AdminPassword == "":
		return nil
	case c.AdminEmail == "":
		return c.errorf("LECTERN_ADMIN_EMAIL", "required when %s is set", c.name("LECTERN_ADMIN_PASSWORD"))
	case c.AdminPassword == "":
		return c.errorf("LECTERN_ADMIN_PASSWORD", "required when %s is set", c.name("LECTERN_ADMIN_EMAIL"))
	}
	if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Address != c.AdminEmail {
		return c.errorf("LECTERN_ADMIN_EMAIL", "must be an email address, got %q", c.AdminEmail)
	}
	if len([]rune(c.AdminPassword)) < 8 {
		return c.errorf("LECTERN_ADMIN_PASSWORD", "must be at least 8 characters")
	}
	return nil
}

func (c *Config) validatePublicURL() error {
	if c.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return c.errorf("LECTERN_PUBLIC_URL", "must be an absolute http:// or https:// URL like https://lectern.example.org, got %q", c.PublicURL)
	}
	return nil
}

func (c *Config) validateLogFormat() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c.errorf("LECTERN_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	return nil
}
