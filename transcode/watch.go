package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
)

// Defaults of the handler's liveness settings.
const (
	// DefaultHeartbeatEvery is how often a running transcode stamps its
	// job's heartbeat_at, by which the reconciler tells a live worker from
	// a gone one.
	DefaultHeartbeatEvery = 5 * time.Second
	// DefaultStallTimeout is how long ffmpeg may go without reporting
	// progress before the watchdog kills it and the attempt is retried.
	DefaultStallTimeout = 5 * time.Minute
)

// errCanceled means an admin canceled the job while it ran.
var errCanceled = errors.New("transcode canceled by an admin")

// stallError is the watchdog's cause: it may pass, so the queue retries.
type stallError struct{ after time.Duration }

func (e stallError) Error() string {
	return fmt.Sprintf("ffmpeg made no progress for %s and was stopped", e.after)
}

// Outcomes of a transcode task, the label of the transcode metrics.
const (
	OutcomeSucceeded   = "succeeded"   // published
	OutcomeRejected    = "rejected"    // bad input, not retried
	OutcomeSetup       = "setup"       // the server is not set up to transcode, not retried
	OutcomeTimeout     = "timeout"     // took too long, again
	OutcomeFailed      = "failed"      // out of retries
	OutcomeRetried     = "retried"     // transient failure, tried again later
	OutcomeCanceled    = "canceled"    // canceled by an admin
	OutcomeStale       = "stale"       // replaced by a newer upload or lesson deleted
	OutcomeInterrupted = "interrupted" // worker shut down; handed back to the queue
	OutcomeSuperseded  = "superseded"  // another delivery took over the lease; this one stopped
)

// Metrics are the transcode series: tasks by outcome and how long they ran.
type Metrics struct {
	tasks    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the transcode series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lectern_transcodes_total",
			Help: "Transcode task runs by outcome (succeeded, rejected, setup, timeout, failed, retried, canceled, stale, interrupted, superseded).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lectern_transcode_duration_seconds",
			Help:    "Time a transcode task ran, by outcome.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 16), // 1 s to ~9 h
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.tasks, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register transcode metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) observe(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.tasks.WithLabelValues(outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(d.Seconds())
}

func (h *Handler) heartbeatEvery() time.Duration {
	if h.HeartbeatEvery > 0 {
		return h.HeartbeatEvery
	}
	return DefaultHeartbeatEvery
}

func (h *Handler) stallTimeout() time.Duration {
	if h.StallTimeout > 0 {
		return h.StallTimeout
	}
	return DefaultStallTimeout
}

// heartbeat renews the delivery's lease (the job's heartbeat_at) every
// HeartbeatEvery until the returned function is called. It calls
// cancel(errCanceled) when it finds the job canceled by an admin, and
// cancel(errLeaseLost) when another delivery took the lease over: either
// way ffmpeg is killed within one beat, even if the queue's own signal was
// lost.
func (h *Handler) heartbeat(ctx context.Context, lease *db.Lease, cancel context.CancelCauseFunc, log *slog.Logger) (stop func()) {
	return h.beat(ctx, func(ctx context.Context) (lectern.JobState, error) { return h.DB.RenewLease(ctx, lease, nil) },
		cancel, log.With("output", lease.Prefix))
}

// beat calls renew every HeartbeatEvery until the returned function is
// called, and cancels as heartbeat says.
func (h *Handler) beat(ctx context.Context, renew func(context.Context) (lectern.JobState, error),
	cancel context.CancelCauseFunc, log *slog.Logger) (stop func()) {
	ctx, done := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(h.heartbeatEvery())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			state, err := renew(ctx)
			switch {
			case state == lectern.JobCanceled:
				cancel(errCanceled)
				return
			case lectern.ErrorCode(err) == lectern.ECONFLICT:
				log.Warn("transcode lease taken over by another delivery; stopping")
				cancel(errLeaseLost)
				return
			case err != nil:
				log.Debug("transcode heartbeat", "error", err)
			}
		}
	})
	return func() { done(); wg.Wait() }
}

// watchdog cancels ctx with a stallError when kick has not been called for
// StallTimeout; stop releases it.
func (h *Handler) watchdog(ctx context.Context) (wctx context.Context, kick func(), stop func()) {
	after := h.stallTimeout()
	wctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(after, func() { cancel(stallError{after}) })
	return wctx, func() { timer.Reset(after) }, func() { timer.Stop(); cancel(nil) }
}

// canceledMeanwhile reports whether the job was canceled by an admin; the
// queue's cancel reaches the handler only as a canceled context.
func (h *Handler) canceledMeanwhile(ctx context.Context, jobID string) bool {
	j, err := h.DB.FindJobByID(ctx, jobID)
	return err == nil && j.State == lectern.JobCanceled
}
