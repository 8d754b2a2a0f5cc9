// Package events is a small publish/subscribe seam. The API server
// publishes what changed, after the database commit, on a topic (such as
// one lesson's entries); live streams subscribe to the topics that concern
// them. Local delivers within one process; Redis delivers across processes
// (several API replicas) through Redis pub/sub.
//
// Delivery is best effort and at most once, in publishing order per
// publisher: an event is not stored, a subscriber that is not listening
// when it is published never sees it, and a subscriber that falls more
// than Buffer events behind is ended with ErrLagged. Subscribers hold the
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
	// called, when ctx is done, when the reader lags or when the bus is
	// closed.
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

// subSet tracks a bus's live subscriptions so that Close can end them.
type subSet struct {
	mu     sync.Mutex
	closed bool
	subs   map[*Subscription]struct{}
}

// add registers s unless the bus is closed.
func (set *subSet) add(s *Subscription) error {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.closed {
		return ErrClosed
	}
	if set.subs == nil {
		set.subs = make(map[*Subscription]struct{})
	}
	set.subs[s] = struct{}{}
	return nil
}

func (set *subSet) remove(s *Subscription) {
	set.mu.Lock()
	defer set.mu.Unlock()
	delete(set.subs, s)
}

func (set *subSet) isClosed() bool {
	set.mu.Lock()
	defer set.mu.Unlock()
	return set.closed
}

// close marks the set closed and ends every subscription with ErrClosed.
func (set *subSet) close() {
	set.mu.Lock()
	set.closed = true
	subs := make([]*Subscription, 0, len(set.subs))
	for s := range set.subs {
		subs = append(subs, s)
	}
	set.mu.Unlock()
	for _, s := range subs {
		s.end(ErrClosed)
	}
}
