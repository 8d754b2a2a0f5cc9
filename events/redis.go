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

// DefaultPingInterval is how often a Redis bus pings Redis on its
// subscription connection. A connection that has answered nothing (no
// message, no pong) for two intervals is taken for lost.
const DefaultPingInterval = time.Second

// Redis is a Bus over Redis pub/sub, shared by every process that uses the
// same Redis server and prefix. Redis channels are server-wide (not per
// numbered database), hence the prefix.
//
// However many subscriptions it serves, a Redis bus holds one Redis
// subscription, to the pattern prefix + "*", on one connection, made on
// the first Subscribe, and fans the events out in memory to the
// subscriptions of each topic. (One Redis subscription per subscriber
// would cost a connection, and a file descriptor on both sides, for every
// open event stream.)
//
// A lost connection must be noticed while it is lost, not when it comes
// back: subscribers such as the server's credential cache trust that
// while their subscription is open they hear of every change. A Redis
// connection can die without a word (Redis stalled, the network
// black-holed), so the bus pings Redis on the subscription connection
// every ping interval and takes the connection for lost when it has
// answered nothing for two intervals, or when a read or ping fails. Then
// every subscription open at that moment ends with ErrInterrupted, the
// Redis subscription is dropped, and the next Subscribe subscribes to
// Redis again: while Redis is away, Subscribe fails (within
// subscribeTimeout), and once it has succeeded the subscriber knows that
// it is hearing changes again, though what was published in between is
// lost.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	pattern string
	router  *router
	ping    time.Duration

	mu sync.Mutex     // held while the Redis subscription starts or ends
	ps *redis.PubSub  // the Redis subscription; nil when there is none
	wg sync.WaitGroup // the goroutines of every Redis subscription
}

// NewRedis returns a bus that publishes on the Redis channels named prefix
// + topic (for example "lectern:events:"), through client, which the
// caller keeps and closes.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, pattern: globEscape(prefix) + "*", router: newRouter(),
		ping: DefaultPingInterval}
}

// SetPingInterval sets how often the bus pings Redis (see Redis) in
// place of DefaultPingInterval. It must be called before the first
// Subscribe.
func (r *Redis) SetPingInterval(d time.Duration) {
	if d > 0 {
		r.ping = d
	}
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
	r.ps = ps
	stop := make(chan struct{})
	r.wg.Add(2)
	go r.run(ps, stop)
	go r.pinger(ps, stop)
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

// run relays the messages of ps until a read fails or finds nothing for
// two ping intervals, or ps is closed; then it drops ps and stops its
// pinger. A subscription message means that go-redis lost the connection
// and subscribed again: what was published in between is lost.
func (r *Redis) run(ps *redis.PubSub, stop chan struct{}) {
	defer r.wg.Done()
	defer close(stop)
	for {
		msg, err := ps.ReceiveTimeout(context.Background(), 2*r.ping)
		if err != nil {
			r.lost(ps)
			return
		}
		switch m := msg.(type) {
		case *redis.Message:
			r.relay(m)
		case *redis.Subscription:
			r.router.endAll(ErrInterrupted, false)
		}
	}
}

// pinger pings Redis on ps's connection every ping interval until stop
// is closed, so that run hears from a live connection at least that
// often; a ping that cannot be sent drops ps.
func (r *Redis) pinger(ps *redis.PubSub, stop <-chan struct{}) {
	defer r.wg.Done()
	t := time.NewTicker(r.ping)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.ping)
		err := ps.Ping(ctx)
		cancel()
		if err != nil {
			r.lost(ps)
			return
		}
	}
}

// lost drops ps, if it is still the bus's Redis subscription, and ends
// every subscription with ErrInterrupted; the next Subscribe subscribes
// to Redis again.
func (r *Redis) lost(ps *redis.PubSub) {
	r.mu.Lock()
	current := r.ps == ps
	if current {
		r.ps = nil
	}
	r.mu.Unlock()
	if !current {
		return // already dropped, or the bus is closing
	}
	_ = ps.Close()
	r.router.endAll(ErrInterrupted, false)
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
	ps := r.ps
	r.ps = nil
	r.mu.Unlock()
	var err error
	if ps != nil {
		err = ps.Close()
	}
	r.wg.Wait()
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("close redis subscription: %w", err)
	}
	return nil
}
