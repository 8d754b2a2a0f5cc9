package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribeTimeout bounds the wait for Redis to confirm the bus's
// subscription, so that a Redis that accepts connections but does not
// answer fails a Subscribe rather than hanging it.
const subscribeTimeout = 3 * time.Second

// Redis is a Bus over Redis pub/sub, shared by every process that uses the
// same Redis server and prefix. Redis channels are server-wide (not per
// numbered database), hence the prefix.
//
// However many subscriptions it serves, a Redis bus holds one Redis
// subscription, to the pattern prefix + "*", on one connection, made on
// the first Subscribe, and fans the events out in memory to the
// subscriptions of each topic. (One Redis subscription per subscriber
// would cost a connection, and a file descriptor on both sides, for every
// open event stream.) go-redis reconnects and subscribes again when the
// connection is lost; what was published in between is lost, so every
// subscription open at that moment ends with ErrInterrupted.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	pattern string
	router  *router

	mu   sync.Mutex // held while the Redis subscription starts
	ps   *redis.PubSub
	done chan struct{} // closed when run returns
}

// NewRedis returns a bus that publishes on the Redis channels named prefix
// + topic (for example "lectern:events:"), through client, which the
// caller keeps and closes.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, pattern: globEscape(prefix) + "*", router: newRouter()}
}

// globEscape escapes the characters that are special in Redis glob
// patterns, so that the prefix matches only itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Publish publishes data on topic's channel.
func (r *Redis) Publish(ctx context.Context, topic string, data []byte) error {
	if r.router.isClosed() {
		return ErrClosed
	}
	if err := r.client.Publish(ctx, r.prefix+topic, data).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe subscribes to topics. The first call subscribes the bus to
// Redis and returns once Redis has confirmed it; later calls need no
// round trip.
func (r *Redis) Subscribe(ctx context.Context, topics ...string) (*Subscription, error) {
	s, err := r.router.subscribe(topics)
	if err != nil {
		return nil, err
	}
	if err := r.listen(ctx); err != nil {
		s.end(err)
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	s.watch(ctx)
	return s, nil
}

// listen makes sure that the bus's Redis subscription is confirmed and
// relayed to the router.
func (r *Redis) listen(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.router.isClosed() {
		return ErrClosed
	}
	if r.ps != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	ps := r.client.PSubscribe(ctx, r.pattern)
	if err := r.confirm(ctx, ps); err != nil {
		_ = ps.Close()
		return err
	}
	r.ps, r.done = ps, make(chan struct{})
	go r.run(ps.ChannelWithSubscriptions(), r.done)
	return nil
}

// confirm waits for Redis to confirm the pattern subscription, relaying
// any message that arrives first.
func (r *Redis) confirm(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			return nil
		case *redis.Message:
			r.relay(m)
		}
	}
}

// run relays messages until the PubSub is closed, which closes ch. A
// subscription message after the first one means that go-redis lost the
// connection and subscribed again.
func (r *Redis) run(ch <-chan any, done chan<- struct{}) {
	defer close(done)
	for msg := range ch {
		switch m := msg.(type) {
		case *redis.Message:
			r.relay(m)
		case *redis.Subscription:
			r.router.endAll(ErrInterrupted, false)
		}
	}
}

func (r *Redis) relay(m *redis.Message) {
	if topic, ok := strings.CutPrefix(m.Channel, r.prefix); ok {
		r.router.dispatch(topic, []byte(m.Payload))
	}
}

// Close ends every subscription made through r and its Redis
// subscription.
func (r *Redis) Close() error {
	r.router.endAll(ErrClosed, true)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ps == nil {
		return nil
	}
	err := r.ps.Close()
	<-r.done
	r.ps = nil
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("close redis subscription: %w", err)
	}
	return nil
}
