package server

import (
	"context"
	"time"
)

// SetStreamTiming sets how often the event streams opened from now on send
// a heartbeat and check their session again, so that tests need not wait
// for the real intervals.
func SetStreamTiming(s *Server, heartbeat, recheck time.Duration) {
	ss := s.comments.streams
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.timing = streamTiming{heartbeat, recheck}
}

// EndSessionStreams is what a logout does to the event streams of the
// session whose cookie holds cookieValue.
func EndSessionStreams(s *Server, cookieValue string) {
	s.endSessionStreams(context.Background(), hashToken(cookieValue))
}
