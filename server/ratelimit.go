package server

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// limiterMaxKeys bounds each limiter map.
const limiterMaxKeys = 10000

// limiterSet is a bounded map of token buckets by key, using the server's
// clock: each key may spend burst tokens at once, and gets one back every
// every. There is no background goroutine: an entry whose bucket has
// refilled is indistinguishable from a fresh one, so such idle entries are
// dropped whenever the map is full, and if it is still full the least
// recently used entry goes.
type limiterSet struct {
	every time.Duration
	burst int
	max   int

	mu      sync.Mutex
	entries map[string]*bucket
}

// bucket is one key's tokens as of at.
type bucket struct {
	tokens float64
	at     time.Time
	last   time.Time // last use, for eviction
}

func newLimiterSet(every time.Duration, burst, maxKeys int) *limiterSet {
	return &limiterSet{every: every, burst: burst, max: maxKeys, entries: make(map[string]*bucket)}
}

// level is b's tokens at now, refilled since b.at and capped at the burst.
func (l *limiterSet) level(b *bucket, now time.Time) float64 {
	t := b.tokens
	if now.After(b.at) {
		t += float64(now.Sub(b.at)) / float64(l.every)
	}
	return math.Min(t, float64(l.burst))
}

// wait is how long key must wait at now for a token: 0 when one is there.
// Nothing is spent.
func (l *limiterSet) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.entries[key]
	if !ok {
		return 0
	}
	return l.waitFor(l.level(b, now))
}

func (l *limiterSet) waitFor(tokens float64) time.Duration {
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(l.every)))
}

// take spends one token of key's bucket at now. It returns 0 when the
// token was spent, or else how long until one is available (nothing is
// spent then).
func (l *limiterSet) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.entries[key]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: float64(l.burst), at: now}
		l.entries[key] = b
	}
	b.last = now
	t := l.level(b, now)
	if d := l.waitFor(t); d > 0 {
		return d
	}
	b.tokens, b.at = t-1, now
	return 0
}

// refund gives back a token that take spent at or before now.
func (l *limiterSet) refund(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.entries[key]; ok {
		b.tokens, b.at = math.Min(l.level(b, now)+1, float64(l.burst)), now
	}
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
	for k, b := range l.entries {
		if l.level(b, now) >= float64(l.burst) {
			delete(l.entries, k)
			continue
		}
		if oldestKey == "" || b.last.Before(oldest) {
			oldestKey, oldest = k, b.last
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

// addressKey is a client address as the per-address limits count it: an
// IPv4 address itself, an IPv6 address by its /64. A /64 is what one
// subscriber (a home, a phone, a small office) is usually given, so an
// attacker who rotates addresses within it gains nothing. Something that
// is not an address is its own key.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}
