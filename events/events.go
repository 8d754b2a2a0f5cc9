// Package events is a small publish/subscribe seam. The API server
// publishes what changed, after the database commit, on a topic (such as
// one lesson's entries); live streams subscribe to the topics that concern
// them. Local delivers within one process; Redis delivers across processes
// (several API replicas) through Redis pub/sub.
//
// Delivery is best effort and at most once, in publishing order per
// publisher: an event is not stored, a subscriber that is not listening
// when it is published never sees it, a subscriber that falls more than
// Buffer events behind is ended with ErrLagged (it never holds up the
// others), and a Redis bus that loses its connection ends its
// subscriptions with ErrInterrupted. Subscribers hold the
// state of record in the database and resynchronise from it (a browser's
// EventSource reconnects and reloads).
package events

import (
	"context"
	"errors"
	"sync"
)

// Buffer is how many undelivered events a subscription holds before it is
// ended with ErrLagged.
const Buffer = 64

var (
	// ErrLagged ends a subscription whose reader fell more than Buffer
	// events behind.
	ErrLagged = errors.New("events: subscriber fell behind")
	// ErrClosed is returned by a closed bus and ends its subscriptions.
	ErrClosed = errors.New("events: bus closed")
	// ErrInterrupted ends the subscriptions of a bus that lost its
	// connection to the server it relays through: events published
	// meanwhile are lost, so readers must resynchronise.
	ErrInterrupted = errors.New("events: delivery interrupted")
)

// Event is one message on a topic. Data belongs to every subscriber that
// receives it: nobody may modify it.
type Event struct {
	Topic string
	Data  []byte
}

// Bus publishes events and subscribes to topics. Implementations are safe
// for concurrent use.
type Bus interface {
	// Publish sends data to the current subscribers of topic.
	Publish(ctx context.Context, topic string, data []byte) error
	// Subscribe returns a subscription to the events published on any of
	// topics from the moment Subscribe returns. It ends when Close is
	// called, when ctx is done, when the reader lags, when delivery is
	// interrupted or when the bus is closed.
	Subscribe(ctx context.Context, topics ...string) (*Subscription, error)
	// Close ends every subscription with ErrClosed; later calls to Publish
	// and Subscribe return ErrClosed. It does not close what the bus was
	// built on (such as a Redis client).
	Close() error
}

// Subscription receives the events of the topics it was made for.
type Subscription struct {
	c       chan Event
	release func() // frees what the implementation holds; called once
	stopCtx func() bool

	mu    sync.Mutex
	ended bool
	err   error
}

// newSubscription returns a subscription that calls release when it ends.
// The implementation registers it, then calls watch.
func newSubscription(release func()) *Subscription {
	return &Subscription{c: make(chan Event, Buffer), release: release, stopCtx: func() bool { return false }}
}

// watch ends s when ctx is done.
func (s *Subscription) watch(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { s.end(context.Cause(ctx)) })
	s.mu.Lock()
	s.stopCtx = stop
	s.mu.Unlock()
}

// C delivers the events. It is closed when the subscription ends.
func (s *Subscription) C() <-chan Event { return s.c }

// Err says why the subscription ended: nil while it runs and after Close,
// ErrLagged, ErrClosed, or the cause of the context passed to Subscribe.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription. Closing twice is not an error.
func (s *Subscription) Close() error {
	s.end(nil)
	return nil
}

// deliver queues ev without blocking, ending the subscription with
// ErrLagged when its buffer is full. It does nothing once it has ended.
func (s *Subscription) deliver(ev Event) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	select {
	case s.c <- ev:
		s.mu.Unlock()
	default:
		s.mu.Unlock()
		s.end(ErrLagged)
	}
}

// end closes C with err as the reason, once; release runs outside the lock
// so that an implementation may wait for its own goroutines there.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.err = true, err
	close(s.c)
	stop := s.stopCtx
	s.mu.Unlock()
	stop()
	s.release()
}

// router fans events out, in memory, to the subscriptions of each topic.
// Both buses deliver through one: Local from Publish, Redis from its one
// Redis subscription. Delivery never blocks (see Subscription.deliver), so
// a reader that does not keep up cannot hold up the others.
type router struct {
	mu     sync.RWMutex
	closed bool
	topics map[string]map[*Subscription]struct{}
	subs   map[*Subscription][]string
}

func newRouter() *router {
	return &router{topics: make(map[string]map[*Subscription]struct{}), subs: make(map[*Subscription][]string)}
}

// subscribe registers a new subscription to topics; it fails with
// ErrClosed once the router is closed.
func (r *router) subscribe(topics []string) (*Subscription, error) {
	var s *Subscription
	s = newSubscription(func() { r.remove(s) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.subs[s] = topics
	for _, t := range topics {
		if r.topics[t] == nil {
			r.topics[t] = make(map[*Subscription]struct{})
		}
		r.topics[t][s] = struct{}{}
	}
	return s, nil
}

func (r *router) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.subs[s] {
		delete(r.topics[t], s)
		if len(r.topics[t]) == 0 {
			delete(r.topics, t)
		}
	}
	delete(r.subs, s)
}

// dispatch delivers an event to the subscriptions of its topic. They are
// collected under the lock and served outside it, because a lagging
// subscription ends, and ending removes it from the router.
func (r *router) dispatch(topic string, data []byte) {
	r.mu.RLock()
	subs := make([]*Subscription, 0, len(r.topics[topic]))
	for s := range r.topics[topic] {
		subs = append(subs, s)
	}
	r.mu.RUnlock()
	for _, s := range subs {
		s.deliver(Event{Topic: topic, Data: data})
	}
}

func (r *router) isClosed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.closed
}

// endAll ends every subscription with err; when closing, the router
// refuses new ones from then on.
func (r *router) endAll(err error, closing bool) {
	r.mu.Lock()
	r.closed = r.closed || closing
	subs := make([]*Subscription, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.end(err)
	}
}
