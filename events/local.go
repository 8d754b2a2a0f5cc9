package events

import "context"

// Local is a Bus within one process.
type Local struct {
	router *router
}

// NewLocal returns an in-process bus.
func NewLocal() *Local {
	return &Local{router: newRouter()}
}

// Publish delivers data to the current subscribers of topic.
func (l *Local) Publish(_ context.Context, topic string, data []byte) error {
	if l.router.isClosed() {
		return ErrClosed
	}
	l.router.dispatch(topic, data)
	return nil
}

// Subscribe subscribes to topics.
func (l *Local) Subscribe(ctx context.Context, topics ...string) (*Subscription, error) {
	s, err := l.router.subscribe(topics)
	if err != nil {
		return nil, err
	}
	s.watch(ctx)
	return s, nil
}

// Close ends every subscription.
func (l *Local) Close() error {
	l.router.endAll(ErrClosed, true)
	return nil
}
