package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login throttling: each account gets 5 attempts, then one a minute; each
// client address gets 20, then one every 6 seconds. Every attempt counts,
// successful or not, so that concurrent guesses cannot slip through; a
// successful login clears its account's budget (the per-address budget is
// kept, or an attacker could reset it by logging into their own account).
const (
	accountLoginBurst = 5
	accountLoginEvery = time.Minute
	ipLoginBurst      = 20
	ipLoginEvery      = 6 * time.Second
	// limiterMaxKeys bounds each limiter map.
	limiterMaxKeys = 10000
)

// limiterSet is a bounded map of token-bucket limiters by key, using the
// server's clock. There is no background goroutine: an entry whose bucket
// has refilled is indistinguishable from a fresh one, so such idle entries
// are dropped whenever the map is full, and if it is still full the least
// recently used entry goes.
type limiterSet struct {
	every time.Duration
	burst int
	max   int

	mu      sync.Mutex
	entries map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiterSet(every time.Duration, burst, maxKeys int) *limiterSet {
	return &limiterSet{every: every, burst: burst, max: maxKeys, entries: make(map[string]*limiterEntry)}
}

// take spends one token of key's bucket at now. It returns 0 when the
// token was spent, or else how long until one is available (nothing is
// spent then).
func (l *limiterSet) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok {
		l.makeRoom(now)
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.entries[key] = e
	}
	e.last = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// reset forgets key, giving it a full bucket.
func (l *limiterSet) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// makeRoom drops idle entries when the map is full, then the least
// recently used one if that was not enough. The caller holds l.mu.
func (l *limiterSet) makeRoom(now time.Time) {
	if len(l.entries) < l.max {
		return
	}
	var oldestKey string
	var oldest time.Time
	for k, e := range l.entries {
		if e.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.entries, k)
			continue
		}
		if oldestKey == "" || e.last.Before(oldest) {
			oldestKey, oldest = k, e.last
		}
	}
	if len(l.entries) >= l.max {
		delete(l.entries, oldestKey)
	}
}

// size reports the number of tracked keys.
func (l *limiterSet) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
