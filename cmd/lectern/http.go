package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// httpServer is the API's listener and http.Server.
type httpServer struct {
	ln   net.Listener
	srv  *http.Server
	errc chan error
}

// listenHTTP binds addr now, so that the address (and a port chosen by
// the system for ":0") is known before serving starts.
func listenHTTP(addr string) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &httpServer{ln: ln, errc: make(chan error, 1)}, nil
}

// Addr is the address actually listened on.
func (h *httpServer) Addr() net.Addr { return h.ln.Addr() }

// serve serves handler in the background. A failure other than shutting
// down is sent on errc.
func (h *httpServer) serve(handler http.Handler, logger *slog.Logger) {
	h.srv = &http.Server{
		Handler: handler,
		// Slow-header clients are cut off, but there is deliberately no
		// ReadTimeout or WriteTimeout: uploads and video streams may
		// legitimately take hours. Idle keep-alives are reclaimed.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
			h.errc <- fmt.Errorf("http server: %w", err)
		}
	}()
}

// shutdown stops accepting connections and waits up to grace for the
// requests in flight; those still running then are cut off.
func (h *httpServer) shutdown(grace time.Duration, logger *slog.Logger) error {
	if h.srv == nil {
		return h.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("requests still running after the shutdown timeout were cut off", "timeout", grace)
		return h.srv.Close()
	}
	return err
}
