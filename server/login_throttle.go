package server

import (
	"sync"
	"time"
)

// Login throttling counts failed logins only (a wrong email or password);
// a successful login costs nothing, so that a class behind one school
// address can all log in at once. Three budgets of failures apply:
//
//   - one account from one address (a typo-prone owner, or a guesser at one
//     address): 5, then one a minute;
//   - one account from every address together, against a guesser who
//     rotates addresses: 20, then one every 3 minutes;
//   - one address across every account, against password spraying: 50,
//     then one every 6 seconds.
//
// An address is an IPv4 address or an IPv6 /64 (see addressKey). An
// address the account has logged in from before (see knownLogins) is held
// only by the first budget, so that a guesser elsewhere, or others behind
// the owner's school address, cannot lock the owner out.
const (
	pairFailBurst    = 5
	pairFailEvery    = time.Minute
	accountFailBurst = 20
	accountFailEvery = 3 * time.Minute
	addressFailBurst = 50
	addressFailEvery = 6 * time.Second
	// knownLoginTTL is how long a successful login makes its address
	// known to the account.
	knownLoginTTL = 30 * 24 * time.Hour
	// knownLoginMaxKeys bounds the known (account, address) pairs.
	knownLoginMaxKeys = 50000
)

// loginThrottle holds the login failure budgets of one process.
type loginThrottle struct {
	pair, account, address *limiterSet
	known                  *knownLogins
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		pair:    newLimiterSet(pairFailEvery, pairFailBurst, limiterMaxKeys),
		account: newLimiterSet(accountFailEvery, accountFailBurst, limiterMaxKeys),
		address: newLimiterSet(addressFailEvery, addressFailBurst, limiterMaxKeys),
		known:   &knownLogins{max: knownLoginMaxKeys, ttl: knownLoginTTL, at: make(map[string]time.Time)},
	}
}

// loginKey names whose failures a login attempt counts against.
type loginKey struct {
	account, address string
}

func (k loginKey) pair() string { return k.account + " " + k.address }

// budgets returns the limiters that hold k, with their keys.
func (lt *loginThrottle) budgets(k loginKey, now time.Time) ([]*limiterSet, []string) {
	if lt.known.has(k.pair(), now) {
		return []*limiterSet{lt.pair}, []string{k.pair()}
	}
	return []*limiterSet{lt.pair, lt.account, lt.address}, []string{k.pair(), k.account, k.address}
}

// wait reports how long k must wait before an attempt, spending nothing:
// a cheap refusal before waiting for a password hashing slot.
func (lt *loginThrottle) wait(k loginKey, now time.Time) time.Duration {
	sets, keys := lt.budgets(k, now)
	var longest time.Duration
	for i, l := range sets {
		longest = max(longest, l.wait(keys[i], now))
	}
	return longest
}

// begin spends one failure of each of k's budgets up front, so that
// concurrent guesses cannot all slip through before the first one fails.
// It returns how long to wait when a budget is spent (nothing is spent
// then), or the attempt, which the caller ends with succeeded or
// cancelled: both give the failure back.
func (lt *loginThrottle) begin(k loginKey, now time.Time) (*loginAttempt, time.Duration) {
	sets, keys := lt.budgets(k, now)
	for i, l := range sets {
		if wait := l.take(keys[i], now); wait > 0 {
			for j := range i {
				sets[j].refund(keys[j], now)
			}
			return nil, wait
		}
	}
	return &loginAttempt{lt: lt, key: k, sets: sets, keys: keys}, 0
}

// loginAttempt is a login whose failure has been counted in advance.
type loginAttempt struct {
	lt   *loginThrottle
	key  loginKey
	sets []*limiterSet
	keys []string
}

// cancelled gives the failure back: the attempt neither failed nor
// succeeded (the server could not check the password).
func (a *loginAttempt) cancelled(now time.Time) {
	for i, l := range a.sets {
		l.refund(a.keys[i], now)
	}
}

// succeeded gives the failure back, forgives the failures of this account
// from this address, and makes the address known to the account. The
// account's and the address's other failures stay counted, or a guesser
// could reset them by logging into an account of their own.
func (a *loginAttempt) succeeded(now time.Time) {
	a.cancelled(now)
	a.lt.pair.reset(a.key.pair())
	a.lt.known.add(a.key.pair(), now)
}

// knownLogins remembers, for a while, which addresses each account has
// logged in from. It is bounded: when full, expired entries go, then the
// oldest.
type knownLogins struct {
	max int
	ttl time.Duration

	mu sync.Mutex
	at map[string]time.Time
}

func (k *knownLogins) has(pair string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.at[pair]
	return ok && now.Sub(t) < k.ttl
}

func (k *knownLogins) add(pair string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.at[pair]; !ok && len(k.at) >= k.max {
		var oldestKey string
		var oldest time.Time
		for p, t := range k.at {
			if now.Sub(t) >= k.ttl {
				delete(k.at, p)
			} else if oldestKey == "" || t.Before(oldest) {
				oldestKey, oldest = p, t
			}
		}
		if len(k.at) >= k.max {
			delete(k.at, oldestKey)
		}
	}
	k.at[pair] = now
}
