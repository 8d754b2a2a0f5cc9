package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis is a Bus over Redis pub/sub, shared by every process that uses the
// same Redis server and prefix. Redis channels are server-wide (not per
// numbered database), hence the prefix.
type Redis struct {
	client redis.UniversalClient
	prefix string
	set    subSet
}

// NewRedis returns a bus that publishes on the Redis channels named prefix
// + topic (for example "lectern:events:"), through client, which the
// caller keeps and closes.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Publish publishes data on topic's channel.
func (r *Redis) Publish(ctx context.Context, topic string, data []byte) error {
	if r.set.isClosed() {
		return ErrClosed
	}
	if err := r.client.Publish(ctx, r.prefix+topic, data).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe subscribes to topics' channels and returns once Redis has
// confirmed every subscription.
func (r *Redis) Subscribe(ctx context.Context, topics ...string) (*Subscription, error) {
	channels := make([]string, len(topics))
	for i, t := range topics {
		channels[i] = r.prefix + t
	}
	ps := r.client.Subscribe(ctx, channels...)
	var s *Subscription
	s = newSubscription(func() {
		_ = ps.Close()
		r.set.remove(s)
	})
	if err := r.set.add(s); err != nil {
		s.end(err)
		return nil, err
	}
	s.watch(ctx)
	if err := r.confirm(ctx, ps, s, len(channels)); err != nil {
		s.end(err)
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	ch := ps.Channel()
	go func() {
		// Runs until ps is closed (by s.end), which closes ch; it keeps
		// draining ch so that go-redis never blocks on it.
		for msg := range ch {
			s.deliver(Event{Topic: strings.TrimPrefix(msg.Channel, r.prefix), Data: []byte(msg.Payload)})
		}
	}()
	return s, nil
}

// confirm waits for Redis to confirm n subscriptions, delivering any
// message that arrives in between.
func (r *Redis) confirm(ctx context.Context, ps *redis.PubSub, s *Subscription, n int) error {
	for n > 0 {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			n--
		case *redis.Message:
			s.deliver(Event{Topic: strings.TrimPrefix(m.Channel, r.prefix), Data: []byte(m.Payload)})
		}
	}
	return nil
}

// Close ends every subscription made through r.
func (r *Redis) Close() error {
	r.set.close()
	return nil
}
