package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/events"
)

// Every progress heartbeat and every media request used to cost a
// database read before any work: the session or bearer token behind the
// request, and for media whether the token's holder may still see the
// lesson. Under a whole school watching, those reads were the largest
// cost of both. authCache answers them from memory for a short time.
//
// Correctness does not rest on the TTL. Whatever takes access away
// invalidates at once: logout, API token revocation, an LTI launch that
// changes a user, a member removed or leaving, a lesson deleted. The
// process that made the change drops the entries before it answers, and
// publishes the invalidation on the events bus (Options.Events) for the
// other API processes. A process caches only while its subscription to
// those invalidations is up: while it is down (Redis unreachable, the
// subscription lagged) every request goes to the database, so a missed
// invalidation can never serve access that was taken away. Only positive
// answers are cached: a refusal is always asked again, so joining a course
// or logging in takes effect at once without invalidation.
//
// A read that started before an invalidation must not store its answer
// after it: every invalidation bumps a generation, and an answer is kept
// only if the generation it was read under is still current.
//
// The same cache, under the same rules, keeps each published output's
// master playlist as it is served, with its subtitles group
// (media_master.go): the captions of a lesson change it, and they
// invalidate it as a lesson's deletion invalidates its access.

// authCacheTTL bounds how long an answer is kept: short, so that a
// change made behind Lectern's back (in the database by hand) is noticed
// soon, and long enough that a busy student's heartbeats and segments
// cost no query. A credential is never kept past its own expiry, which
// the lookup returns, so an expiring session or token is refused at once.
const authCacheTTL = 30 * time.Second

// authCacheMax caps each map; past it the map is emptied (simple, and a
// deployment with that many active credentials refills it in a moment).
const authCacheMax = 100_000

// authCacheTopic is the events topic of invalidations. Its payloads are
// "u:<user ID>" (every entry of a user: credentials and access),
// "c:<credential key>" (one session or token), "l:<lesson ID>" (every
// access entry and master playlist of a lesson) and "m:<lesson ID>" (the
// lesson's master playlists only: its captions changed). A process that
// does not know a kind drops everything.
const authCacheTopic = "authcache"

// authCacheRetry is how long the subscriber waits before subscribing
// again after its subscription ended.
const authCacheRetry = time.Second

type accessKey struct{ lesson, user string }

type cachedUser struct {
	user    lectern.User
	expires time.Time
}

type authCache struct {
	now func() time.Time

	mu     sync.Mutex
	live   bool   // subscribed to invalidations: caching is on
	gen    uint64 // bumped by every invalidation
	creds  map[string]cachedUser
	access map[accessKey]time.Time
	// masters holds served master playlists; masterBytes is the sum of
	// their sizes (media_master.go).
	masters     map[outputKey]cachedMaster
	masterBytes int
}

func newAuthCache(now func() time.Time) *authCache {
	return &authCache{now: now, creds: map[string]cachedUser{}, access: map[accessKey]time.Time{},
		masters: map[outputKey]cachedMaster{}}
}

// generation returns the generation to read under, and whether caching is
// on at all.
func (a *authCache) generation() (uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen, a.live
}

// user returns the cached user of a credential key.
func (a *authCache) user(key string) (*lectern.User, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.creds[key]
	if !ok || !a.live {
		return nil, false
	}
	if !a.now().Before(e.expires) {
		delete(a.creds, key)
		return nil, false
	}
	u := e.user // a copy: handlers may not share one
	return &u, true
}

// putUser keeps u for key if nothing was invalidated since gen, until
// the TTL has passed or, when it is sooner, until (the credential's own
// expiry; zero for none).
func (a *authCache) putUser(gen uint64, key string, u *lectern.User, until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.live || gen != a.gen {
		return
	}
	if len(a.creds) >= authCacheMax {
		clear(a.creds)
	}
	exp := a.now().Add(authCacheTTL)
	if !until.IsZero() && until.Before(exp) {
		exp = until
	}
	a.creds[key] = cachedUser{user: *u, expires: exp}
}

// allowed reports whether userID's access to lessonID is cached.
func (a *authCache) allowed(lessonID, userID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := accessKey{lessonID, userID}
	exp, ok := a.access[k]
	if !ok || !a.live {
		return false
	}
	if !a.now().Before(exp) {
		delete(a.access, k)
		return false
	}
	return true
}

// allow keeps userID's access to lessonID if nothing was invalidated
// since gen.
func (a *authCache) allow(gen uint64, lessonID, userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.live || gen != a.gen {
		return
	}
	if len(a.access) >= authCacheMax {
		clear(a.access)
	}
	a.access[accessKey{lessonID, userID}] = a.now().Add(authCacheTTL)
}

// apply drops what an invalidation payload names.
func (a *authCache) apply(msg string) {
	kind, id, _ := strings.Cut(msg, ":")
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	switch kind {
	case "c":
		delete(a.creds, id)
	case "u":
		for k, e := range a.creds {
			if e.user.ID == id {
				delete(a.creds, k)
			}
		}
		for k := range a.access {
			if k.user == id {
				delete(a.access, k)
			}
		}
	case "l":
		for k := range a.access {
			if k.lesson == id {
				delete(a.access, k)
			}
		}
		a.dropMasters(id)
	case "m":
		a.dropMasters(id)
	default: // unknown: drop everything rather than guess
		clear(a.creds)
		clear(a.access)
		a.clearMasters()
	}
}

// setLive turns caching on or off; either way what was kept is dropped,
// since invalidations may have been missed.
func (a *authCache) setLive(live bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live = live
	a.gen++
	clear(a.creds)
	clear(a.access)
	a.clearMasters()
}

// subscribe keeps the cache subscribed to invalidations on bus until ctx
// ends or the bus is closed, caching only while the subscription is up.
// The first attempt is made in the background too: a Redis that does not
// answer must not hold up the server's start (Subscribe waits up to 3 s).
func (a *authCache) subscribe(ctx context.Context, bus events.Bus, logger *slog.Logger) (done <-chan struct{}) {
	ch := make(chan struct{})
	try := func() *events.Subscription {
		sub, err := bus.Subscribe(ctx, authCacheTopic)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, events.ErrClosed) {
				logger.Warn("auth cache: subscribe to invalidations failed; caching is off until it succeeds", slog.Any("error", err))
			}
			return nil
		}
		a.setLive(true)
		return sub
	}
	go func() {
		defer close(ch)
		sub := try()
		for {
			if sub != nil {
				for ev := range sub.C() {
					a.apply(string(ev.Data))
				}
				a.setLive(false)
				if err := sub.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, events.ErrClosed) {
					logger.Warn("auth cache: invalidations interrupted; caching is off until subscribed again", slog.Any("error", err))
				}
			}
			if sub != nil && errors.Is(sub.Err(), events.ErrClosed) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(authCacheRetry):
			}
			sub = try()
		}
	}()
	return ch
}

// invalidateAuth drops what msg names from this process's cache at once,
// then tells the other processes. A failed publish is logged: the other
// processes' subscriptions are most likely down too (the same Redis), and
// then they are not caching.
func (s *Server) invalidateAuth(ctx context.Context, msg string) {
	s.auth.apply(msg)
	if err := s.comments.bus.Publish(context.WithoutCancel(ctx), authCacheTopic, []byte(msg)); err != nil {
		s.logger.WarnContext(ctx, "auth cache: publish invalidation failed", slog.String("what", msg), slog.Any("error", err))
	}
}

// Credential kinds, the first byte of a credential key.
const (
	credSession = "s"
	credToken   = "t"
)

// credentialUser returns the user of a credential (its kind and the
// token's hash) from the cache, or by find.
func (s *Server) credentialUser(ctx context.Context, kind, hash string,
	find func(context.Context, string) (*lectern.User, time.Time, error)) (*lectern.User, error) {
	key := kind + hash
	if u, ok := s.auth.user(key); ok {
		return u, nil
	}
	gen, _ := s.auth.generation()
	u, until, err := find(ctx, hash)
	if err != nil {
		return nil, err
	}
	s.auth.putUser(gen, key, u, until)
	return u, nil
}
