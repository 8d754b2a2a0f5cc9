package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/transcode"
)

// setPositiveInt stores a positive integer.
func setPositiveInt(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return fmt.Errorf("must be a positive integer, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

// serverLimits are the API server's limits as configured; what is not
// configured takes the server's defaults.
func (c *Config) serverLimits() server.Limits {
	return server.Limits{
		EventStreamsPerUser: c.EventStreamsPerUser,
		MaxEventStreams:     c.MaxEventStreams,
		PasswordHashes:      c.PasswordHashConcurrency,
		MediaStallTimeout:   c.MediaStallTimeout,
	}
}

// setFFmpegSandbox stores LECTERN_FFMPEG_SANDBOX.
func setFFmpegSandbox(c *Config, v string) error {
	switch v = strings.TrimSpace(v); v {
	case transcode.SandboxAuto, transcode.SandboxRequired, transcode.SandboxOff:
		c.FFmpegSandbox = v
		return nil
	}
	return fmt.Errorf("must be auto, bwrap or off, got %q", v)
}

// minProbeMemory is the least address space ffprobe starts in: its
// libraries alone map about 250 MB.
const minProbeMemory = 384 << 20

// setMemory stores an address-space limit: a size in bytes or with a unit.
func setMemory(dst func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		if n < minProbeMemory {
			return fmt.Errorf("must be at least 384MiB, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

// transcodeResources are the limits of each ffmpeg and ffprobe run as
// configured; what is not configured takes transcode's defaults.
func (c *Config) transcodeResources() transcode.Resources {
	return transcode.Resources{FFmpegMemory: c.FFmpegMemory, ProbeMemory: c.FFprobeMemory}
}

// ffmpegSandbox is LECTERN_FFMPEG_SANDBOX, auto when unset.
func (c *Config) ffmpegSandbox() string {
	if c.FFmpegSandbox == "" {
		return transcode.SandboxAuto
	}
	return c.FFmpegSandbox
}
