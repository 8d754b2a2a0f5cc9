package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Labels of requests that no Echo route matched.
const (
	routeUnmatched = "unmatched"
	routeTus       = tusPath
)

// progressRoute is the route of progress heartbeats (GET reads the
// position; PUT and POST are beats).
const progressRoute = "/api/v1/lessons/:id/progress"

// httpMetrics are the HTTP series: requests and latency by route template
// and status, recording bytes uploaded, media bytes served, and progress
// heartbeats taken in.
type httpMetrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	uploaded   prometheus.Counter
	served     prometheus.Counter
	heartbeats prometheus.Counter
}

// newHTTPMetrics registers the HTTP series on reg.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lectern_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lectern_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lectern_upload_bytes_total",
			Help: "Bytes of recordings received by the upload endpoints (streaming and tus).",
		}),
		served: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lectern_media_served_bytes_total",
			Help: "Bytes of HLS playlists, segments and images sent to players.",
		}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lectern_progress_heartbeats_total",
			Help: "Progress heartbeats accepted from players.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.uploaded, m.served, m.heartbeats} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// requestInfo is what the Echo side of a request tells the outer
// instrumentation: the route template that matched.
type requestInfo struct{ route string }

type requestInfoKey struct{}

type requestIDKey struct{}

// RequestID returns the ID of the HTTP request ctx belongs to, "" outside one.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// recordRoute is Echo middleware that hands the matched route template to
// instrument.
func recordRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if info, ok := c.Request().Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.route = c.Path()
		}
		return next(c)
	}
}

// instrument wraps the whole handler: it gives every request an ID (the
// client's X-Request-Id when it sent a sane one) that every log line
// written for the request carries, logs one access line per request when
// Options.AccessLog is set, and records the HTTP metrics when they are on.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(echo.HeaderXRequestID)
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n") {
			id = newRequestID()
			r.Header.Set(echo.HeaderXRequestID, id)
		}
		info := &requestInfo{}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, info)
		ctx = context.WithValue(ctx, requestIDKey{}, id)
		r = r.WithContext(ctx)
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r)
		route := info.route
		switch {
		case isTusRequest(r):
			route = routeTus
		case route == "":
			route = routeUnmatched
		}
		elapsed := time.Since(start)
		s.observe(r.Method, route, rw.status, body.n.Load(), rw.written, elapsed)
		if s.accessLog == nil {
			return
		}
		s.accessLog.LogAttrs(ctx, accessLevel(r.Method, route, rw.status), "request", slog.String("method", r.Method),
			slog.String("route", route), slog.String("path", r.URL.Path), slog.Int("status", rw.status),
			slog.Int64("bytes_in", body.n.Load()), slog.Int64("bytes_out", rw.written),
			slog.Duration("duration", elapsed))
	})
}

// accessLevel is the level of a request's access line: Debug for what
// every playing video sends every few seconds (media playlists, segments
// and images, progress heartbeats) when it succeeds, Info for the rest,
// failed media and heartbeats included.
func accessLevel(method, route string, status int) slog.Level {
	if status < http.StatusBadRequest &&
		(strings.HasPrefix(route, mediaPathPrefix) || route == progressRoute && method != http.MethodGet) {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// observe records one request's metrics.
func (s *Server) observe(method, route string, status int, in, out int64, elapsed time.Duration) {
	m := s.metrics
	if m == nil {
		return
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
	ok := status >= 200 && status < 300
	switch {
	case route == sourceRoute || route == routeTus:
		m.uploaded.Add(float64(in))
	case strings.HasPrefix(route, mediaPathPrefix):
		m.served.Add(float64(out))
	case route == progressRoute && method != http.MethodGet && ok:
		m.heartbeats.Inc()
	}
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// countingBody counts the bytes a handler reads from a request body.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// statusWriter remembers the status and counts the body bytes written.
// Unwrap lets http.ResponseController reach the connection (flushes for
// event streams, deadlines for uploads).
type statusWriter struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom passes an io.Copy to the writer below, so that a file handed
// to the response (media from disk) still reaches the connection's
// sendfile.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	w.wroteHeader = true
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.written += n
	return n, err
}

// Flush implements http.Flusher for code that type-asserts it.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsHandler serves the registry in the Prometheus text format.
func metricsHandler(g prometheus.Gatherer) echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}

// requestIDHandler adds the request ID of the record's context to every
// log line written during a request.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "request_id" {
			id = "" // the line already names it
		}
		return id != ""
	})
	if id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
