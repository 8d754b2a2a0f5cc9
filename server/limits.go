package server

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Limits.
const (
	// DefaultEventStreamsPerUser is a handful: a stream per open watch
	// page, so a few tabs.
	DefaultEventStreamsPerUser = 5
	// DefaultMaxEventStreams bounds what the open streams of one process
	// hold: a connection (a file descriptor) and a few tens of kilobytes
	// each.
	DefaultMaxEventStreams = 2000
	// DefaultPasswordHashWait is how long a login waits for a hashing
	// slot: long enough to ride out a class logging in at once, short
	// enough that a flood of logins is refused rather than queued.
	DefaultPasswordHashWait = 3 * time.Second
	// DefaultBodyTimeout is how long the whole body of a request other
	// than an upload may take to arrive. Such bodies are at most 1 MB
	// (jsonBodyLimit) and usually a few hundred bytes.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultUploadIdleTimeout is how long an upload's body may send
	// nothing. An upload may take hours on a slow network, so only
	// silence is limited, never its total time.
	DefaultUploadIdleTimeout = time.Minute
	// DefaultMediaStallTimeout is how long a media download may take no
	// bytes: players fetch a segment whole, so a download that stands
	// still this long has been abandoned.
	DefaultMediaStallTimeout = 30 * time.Second
)

// Limits protect the server from one user, one address or one slow
// client using it up. Zero fields take the defaults.
type Limits struct {
	// EventStreamsPerUser caps the live event streams one user has open
	// at once; past it, a stream is refused with 429. Default
	// DefaultEventStreamsPerUser.
	EventStreamsPerUser int
	// MaxEventStreams caps the live event streams open in the process;
	// past it, a stream is refused with 503. Default
	// DefaultMaxEventStreams.
	MaxEventStreams int
	// PasswordHashes caps the password hashes (argon2id, 19 MiB each)
	// computed at once, for logins and new accounts. Default: the number
	// of CPUs.
	PasswordHashes int
	// PasswordHashWait is how long a login waits for a free hashing slot
	// before it is refused with 503. Default DefaultPasswordHashWait.
	PasswordHashWait time.Duration
	// BodyTimeout bounds the time to receive the whole body of a request
	// other than an upload. Default DefaultBodyTimeout.
	BodyTimeout time.Duration
	// UploadIdleTimeout is how long the body of an upload (streaming PUT
	// or tus PATCH) may send nothing before the connection is closed.
	// Default DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// MediaStallTimeout is how long a client may take to accept each
	// 128 KiB of a media file (a segment, an init segment, an image)
	// before its connection is closed (media.go, stallResponse). Default
	// DefaultMediaStallTimeout.
	MediaStallTimeout time.Duration
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&l.EventStreamsPerUser, DefaultEventStreamsPerUser)
	setInt(&l.MaxEventStreams, DefaultMaxEventStreams)
	setInt(&l.PasswordHashes, runtime.NumCPU())
	setDur(&l.PasswordHashWait, DefaultPasswordHashWait)
	setDur(&l.BodyTimeout, DefaultBodyTimeout)
	setDur(&l.UploadIdleTimeout, DefaultUploadIdleTimeout)
	setDur(&l.MediaStallTimeout, DefaultMediaStallTimeout)
	return l
}

// registerLimitMetrics registers the gauges of what the limits cap: open
// event streams and password hashes running. Refusals show in
// lectern_http_requests_total by route and status (429, 503).
func (s *Server) registerLimitMetrics(reg prometheus.Registerer) error {
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lectern_event_streams",
			Help: "Live event streams open in this process (capped by LECTERN_MAX_EVENT_STREAMS).",
		}, func() float64 { return float64(s.comments.streams.count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lectern_password_hashes_running",
			Help: "Password hashes being computed (capped by LECTERN_PASSWORD_HASH_CONCURRENCY).",
		}, func() float64 { return float64(s.hashes.running.Load()) }),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}
