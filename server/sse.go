package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
)

// Live stream timing. A heartbeat comment keeps proxies from closing an
// idle stream; the session is checked again every sessionRecheck (an
// expired session ends the stream even without a logout event); a write
// that a client does not take within streamWriteTimeout ends the stream.
const (
	streamHeartbeat    = 25 * time.Second
	sessionRecheck     = 30 * time.Second
	streamWriteTimeout = 10 * time.Second
	// streamRetryMS is how long a browser waits before reconnecting.
	streamRetryMS = 3000
)

// Event names on the stream, besides "comment.created", "comment.updated"
// and "comment.deleted".
const (
	sseReady        = "ready"
	sseSessionEnded = "session_ended"
)

// streamRefusedRetry is the Retry-After of a refused stream, in seconds.
const streamRefusedRetry = 30

// streamSet tracks the open event streams so that they can be capped (per
// user and in all) and all ended at shutdown.
type streamSet struct {
	perUser, max int

	mu     sync.Mutex
	timing streamTiming
	open   int
	byUser map[string]int
	ended  bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newStreamSet(perUser, maxStreams int) *streamSet {
	return &streamSet{
		perUser: perUser, max: maxStreams, byUser: make(map[string]int),
		timing: streamTiming{streamHeartbeat, sessionRecheck}, done: make(chan struct{}),
	}
}

// streamTiming is how often a stream sends a heartbeat and checks the
// session again.
type streamTiming struct {
	heartbeat, recheck time.Duration
}

// join registers a stream of user. It fails, saying after how many
// seconds to try again, once the set has ended (EUNAVAILABLE), when user
// has perUser streams open already (ERATELIMIT) or when max streams are
// open (EUNAVAILABLE). The stream calls leave when it returns and stops
// when done is closed.
func (ss *streamSet) join(user string) (done <-chan struct{}, timing streamTiming, retryAfter int, err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.ended:
		return nil, streamTiming{}, streamRetryMS / 1000,
			lectern.Errorf(lectern.EUNAVAILABLE, "the server is restarting; live updates resume in a moment")
	case ss.byUser[user] >= ss.perUser:
		return nil, streamTiming{}, streamRefusedRetry, lectern.Errorf(lectern.ERATELIMIT,
			"you already have %d live update streams open, the most one account may; close another Lectern tab or window, then reload this page", ss.perUser)
	case ss.open >= ss.max:
		return nil, streamTiming{}, streamRefusedRetry,
			lectern.Errorf(lectern.EUNAVAILABLE, "the server has as many live update streams open as it can hold; reload the page in a moment")
	}
	ss.open++
	ss.byUser[user]++
	ss.wg.Add(1)
	return ss.done, ss.timing, 0, nil
}

// leave unregisters a stream of user that join registered.
func (ss *streamSet) leave(user string) {
	ss.mu.Lock()
	ss.open--
	if ss.byUser[user]--; ss.byUser[user] <= 0 {
		delete(ss.byUser, user)
	}
	ss.mu.Unlock()
	ss.wg.Done()
}

// count reports how many streams are open.
func (ss *streamSet) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.open
}

// end tells every stream to stop and refuses new ones.
func (ss *streamSet) end() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.ended {
		ss.ended = true
		close(ss.done)
	}
}

// close ends the streams and waits for their handlers to return.
func (ss *streamSet) close() {
	ss.end()
	ss.wg.Wait()
}

// EndStreams ends every live event stream and refuses new ones; browsers
// reconnect (to another replica, or to this one once restarted). An HTTP
// server's Shutdown waits for handlers to return, and a stream's handler
// runs until its client leaves, so call EndStreams when shutdown begins
// (http.Server.RegisterOnShutdown). Close ends them too.
func (s *Server) EndStreams() { s.comments.streams.end() }

func (s *Server) registerSSERoutes(g *echo.Group) {
	g.GET("/lessons/:id/events", s.handleLessonEvents, s.requireUser)
}

// sessionTopic is where a session's end is announced. The topic carries a
// hash of the stored token hash, so that the value the database looks
// sessions up by does not travel through the event bus.
func sessionTopic(tokenHash string) string { return "session:" + hashToken(tokenHash) }

// endSessionStreams ends the event streams opened with the session whose
// token hash is tokenHash, on every replica: a logout calls it.
func (s *Server) endSessionStreams(ctx context.Context, tokenHash string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := s.comments.bus.Publish(ctx, sessionTopic(tokenHash), []byte(`{}`)); err != nil {
		s.logger.WarnContext(ctx, "publish session end", slog.Any("error", err))
	}
}

// handleLessonEvents streams, as Server-Sent Events, the lesson's entries
// that the caller may see as they are created, updated and deleted. Each
// change is read again from the database with the caller's visibility
// before it is sent. The stream ends when the client goes away, when the
// caller's session ends (logout, or found expired by a periodic check),
// or when the server shuts down.
func (s *Server) handleLessonEvents(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	lesson, _, err := s.db.FindLesson(ctx, c.Param("id"), u)
	if err != nil {
		return fmt.Errorf("find lesson: %w", err)
	}
	done, timing, retry, err := s.comments.streams.join(u.ID)
	if err != nil {
		setRetryAfter(c, retry)
		return err
	}
	defer s.comments.streams.leave(u.ID)
	topics := []string{lessonTopic(lesson.ID)}
	if cookie, err := c.Cookie(sessionCookie); err == nil && cookie.Value != "" && c.Request().Header.Get(echo.HeaderAuthorization) == "" {
		topics = append(topics, sessionTopic(hashToken(cookie.Value)))
	}
	sub, err := s.comments.bus.Subscribe(ctx, topics...)
	if err != nil {
		if ctx.Err() != nil {
			return nil // the client is gone
		}
		// The bus (Redis, in the scaled setup) is away: the page works
		// without live updates, and the browser tries again later.
		s.logger.WarnContext(ctx, "subscribe to lesson events", slog.Any("error", err))
		setRetryAfter(c, streamRefusedRetry)
		return lectern.Errorf(lectern.EUNAVAILABLE, "live updates are unavailable for the moment; the page works without them and tries again shortly")
	}
	defer sub.Close()
	st := newSSEStream(c)
	defer st.rc.SetWriteDeadline(time.Time{}) // the connection may serve other requests
	if err := st.start(); err != nil {
		return nil // the client is gone
	}
	return s.runStream(c, st, sub, streamRun{done, timing, u, lessonTopic(lesson.ID)})
}

// streamRun is one stream's settings: when to stop, how often to beat
// and recheck, who watches, and the topic of the lesson's changes.
type streamRun struct {
	done   <-chan struct{}
	timing streamTiming
	viewer *lectern.User
	topic  string
}

// runStream forwards events until the stream has to end.
func (s *Server) runStream(c echo.Context, st *sseStream, sub *events.Subscription, run streamRun) error {
	ctx := c.Request().Context()
	heartbeat := time.NewTicker(run.timing.heartbeat)
	defer heartbeat.Stop()
	recheck := time.NewTicker(run.timing.recheck)
	defer recheck.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-run.done:
			return nil
		case ev, ok := <-sub.C():
			if !ok {
				// Lagged or bus closed: the client reconnects and reloads.
				return nil
			}
			if ev.Topic != run.topic {
				return st.event(sseSessionEnded, []byte(`{}`))
			}
			err = s.forward(ctx, st, ev.Data, run.viewer)
		case <-heartbeat.C:
			err = st.comment("ping")
		case <-recheck.C:
			if _, aerr := s.authenticate(c); lectern.ErrorCode(aerr) == lectern.EUNAUTHORIZED {
				return st.event(sseSessionEnded, []byte(`{}`))
			}
		}
		if err != nil {
			return nil // the client is gone or stuck
		}
	}
}

// forward sends the entry a change names, as u now sees it; an entry u
// may not see is skipped.
func (s *Server) forward(ctx context.Context, st *sseStream, data []byte, u *lectern.User) error {
	var ch change
	if err := json.Unmarshal(data, &ch); err != nil {
		s.logger.WarnContext(ctx, "malformed comment change", slog.Any("error", err))
		return nil
	}
	cm, err := s.db.FindComment(ctx, ch.ID, u)
	if lectern.ErrorCode(err) == lectern.ENOTFOUND {
		return nil
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.logger.WarnContext(ctx, "read changed comment", slog.String("comment_id", ch.ID), slog.Any("error", err))
		}
		return nil
	}
	body, err := json.Marshal(cm)
	if err != nil {
		return fmt.Errorf("encode comment: %w", err)
	}
	return st.event("comment."+ch.Type, body)
}

// sseStream writes Server-Sent Events, each flushed at once and bounded by
// a write deadline.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSEStream(c echo.Context) *sseStream {
	return &sseStream{w: c.Response(), rc: http.NewResponseController(c.Response())}
}

// start sends the headers and a "ready" event: from then on, every change
// is delivered.
func (st *sseStream) start() error {
	h := st.w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx must not buffer the stream
	st.w.WriteHeader(http.StatusOK)
	return st.write(fmt.Sprintf("retry: %d\nevent: %s\ndata: {}\n\n", streamRetryMS, sseReady))
}

// event sends one event; data is one line of JSON.
func (st *sseStream) event(name string, data []byte) error {
	return st.write("event: " + name + "\ndata: " + string(data) + "\n\n")
}

// comment sends a comment line, which clients ignore.
func (st *sseStream) comment(text string) error { return st.write(": " + text + "\n\n") }

func (st *sseStream) write(s string) error {
	// Not every ResponseWriter supports deadlines; without one, a stuck
	// client holds the stream until the server closes its connection.
	if err := st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := st.w.Write([]byte(s)); err != nil {
		return err
	}
	return st.rc.Flush()
}
