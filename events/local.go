package events

import (
	"context"
	"sync"
)

// Local is a Bus within one process.
type Local struct {
	set subSet

	mu     sync.RWMutex
	topics map[string]map[*Subscription]struct{}
}

// NewLocal returns an in-process bus.
func NewLocal() *Local {
	return &Local{topics: make(map[string]map[*Subscription]struct{})}
}

// Publish delivers data to the current subscribers of topic.
func (l *Local) Publish(_ context.Context, topic string, data []byte) error {
	if l.set.isClosed() {
		return ErrClosed
	}
	l.mu.RLock()
	subs := make([]*Subscription, 0, len(l.topics[topic]))
	for s := range l.topics[topic] {
		subs = append(subs, s)
	}
	l.mu.RUnlock()
	for _, s := range subs {
		s.deliver(Event{Topic: topic, Data: data})
	}
	return nil
}

// Subscribe subscribes to topics.
func (l *Local) Subscribe(ctx context.Context, topics ...string) (*Subscription, error) {
	var s *Subscription
	s = newSubscription(func() {
		l.mu.Lock()
		for _, t := range topics {
			delete(l.topics[t], s)
			if len(l.topics[t]) == 0 {
				delete(l.topics, t)
			}
		}
		l.mu.Unlock()
		l.set.remove(s)
	})
	l.mu.Lock()
	for _, t := range topics {
		if l.topics[t] == nil {
			l.topics[t] = make(map[*Subscription]struct{})
		}
		l.topics[t][s] = struct{}{}
	}
	l.mu.Unlock()
	if err := l.set.add(s); err != nil {
		s.end(err)
		return nil, err
	}
	s.watch(ctx)
	return s, nil
}

// Close ends every subscription.
func (l *Local) Close() error {
	l.set.close()
	return nil
}
