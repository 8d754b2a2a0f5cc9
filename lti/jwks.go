package lti

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key set fetching: a platform's JWKS is cached; a token signed with a key
// id the cache lacks makes one fetch (a platform that rotated its key),
// but not more often than MinRefresh per URL, so that tokens naming made-up
// key ids cannot make Lectern hammer the platform.
const (
	// KeySetTTL is how long a fetched key set is trusted without a fetch.
	KeySetTTL = time.Hour
	// MinRefresh is the least time between two fetches of one key set.
	MinRefresh = 10 * time.Second
	// maxKeySetBytes bounds a key set's body.
	maxKeySetBytes = 1 << 20
)

// KeySets fetches and caches platforms' JSON Web Key Sets. It is safe for
// concurrent use.
type KeySets struct {
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	sets map[string]*cachedSet
}

type cachedSet struct {
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
	// fetching is closed when a fetch under way ends.
	fetching chan struct{}
}

// NewKeySets returns an empty cache that fetches with client (nil means
// a client with a 10 s timeout) and tells time with now.
func NewKeySets(client *http.Client, now func() time.Time) *KeySets {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &KeySets{client: client, now: now, sets: map[string]*cachedSet{}}
}

// Key returns the key kid of the set at url, fetching the set when it is
// not cached, stale, or lacks kid (at most once per MinRefresh). An
// unknown kid after that is a Refusal.
func (k *KeySets) Key(ctx context.Context, url, kid string) (*jose.JSONWebKey, error) {
	for {
		k.mu.Lock()
		c := k.sets[url]
		now := k.now()
		if c != nil && c.fetching != nil {
			wait := c.fetching
			k.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if c != nil && now.Sub(c.fetchedAt) < KeySetTTL {
			if key := findKey(c.keys, kid); key != nil {
				k.mu.Unlock()
				return key, nil
			}
			if now.Sub(c.fetchedAt) < MinRefresh {
				k.mu.Unlock()
				return nil, refuse(ReasonUnknownKey, "The LMS signed this launch with a key (id %q) it does not publish in its key set.", kid)
			}
		}
		if c == nil {
			c = &cachedSet{}
			k.sets[url] = c
		}
		done := make(chan struct{})
		c.fetching = done
		k.mu.Unlock()

		keys, err := k.fetch(ctx, url)
		k.mu.Lock()
		c.fetching = nil
		close(done)
		if err != nil {
			k.mu.Unlock()
			return nil, err
		}
		c.keys, c.fetchedAt = keys, now
		key := findKey(keys, kid)
		k.mu.Unlock()
		if key == nil {
			return nil, refuse(ReasonUnknownKey, "The LMS signed this launch with a key (id %q) it does not publish in its key set.", kid)
		}
		return key, nil
	}
}

// Forget drops the cached set of url (its platform changed its JWKS URL).
func (k *KeySets) Forget(url string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.sets, url)
}

func (k *KeySets) fetch(ctx context.Context, url string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return set, refuse(ReasonKeySet, "The LMS's key set URL %q is not a valid URL.", url)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return set, &Refusal{Reason: ReasonKeySet, Message: "Lectern could not fetch the LMS's public keys to check this launch. Try again in a moment.",
			err: fmt.Errorf("fetch %s: %w", url, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes))
	if err != nil || resp.StatusCode != http.StatusOK {
		return set, &Refusal{Reason: ReasonKeySet, Message: "Lectern could not fetch the LMS's public keys to check this launch. Try again in a moment.",
			err: fmt.Errorf("fetch %s: status %d: %v", url, resp.StatusCode, err)}
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return set, &Refusal{Reason: ReasonKeySet, Message: "The LMS's key set is not a valid JSON Web Key Set.",
			err: fmt.Errorf("decode %s: %w", url, err)}
	}
	return set, nil
}

// findKey returns the public RSA signing key kid of set, or nil.
func findKey(set jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	for _, key := range set.Key(kid) {
		if key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			k := key
			return &k
		}
	}
	return nil
}
