package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/internal/testenv"
)

// wait bounds how long a test waits for an event that must come; reaching
// it means the event was lost, not that delivery was slow.
const wait = 10 * time.Second

// TestBuses runs the conformance suite against every implementation.
func TestBuses(t *testing.T) {
	t.Parallel()
	t.Run("Local", func(t *testing.T) {
		testBus(t, func(t *testing.T) events.Bus { return events.NewLocal() })
	})
	t.Run("Redis", func(t *testing.T) {
		url := testenv.RedisURL(t)
		testBus(t, func(t *testing.T) events.Bus { return redisBus(t, url) })
	})
	t.Run("Miniredis", func(t *testing.T) {
		// The embedded mode runs the Redis bus over the in-process Redis.
		m := miniredis.RunT(t)
		testBus(t, func(t *testing.T) events.Bus { return redisBus(t, "redis://"+m.Addr()+"/0") })
	})
}

func redisBus(t *testing.T, url string) events.Bus {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	// Redis channels are server-wide: a prefix of its own keeps this test
	// apart from any other using the same server.
	return events.NewRedis(client, testenv.Name("lectern:test:events")+":")
}

// testBus is the conformance suite: what every Bus promises.
func testBus(t *testing.T, newBus func(t *testing.T) events.Bus) {
	ctx := context.Background()
	open := func(t *testing.T) events.Bus {
		t.Helper()
		b := newBus(t)
		t.Cleanup(func() { b.Close() })
		return b
	}
	t.Run("DeliversSubscribedTopicsInOrder", func(t *testing.T) {
		b := open(t)
		s := subscribe(t, b, ctx, "lesson:a", "lesson:b")
		for _, e := range []events.Event{ev("lesson:a", "1"), ev("lesson:c", "other"), ev("lesson:b", "2"), ev("lesson:a", "3")} {
			publish(t, b, e.Topic, string(e.Data))
		}
		want := []events.Event{ev("lesson:a", "1"), ev("lesson:b", "2"), ev("lesson:a", "3")}
		if diff := cmp.Diff(want, receive(t, s, len(want))); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("EverySubscriberGetsEachEvent", func(t *testing.T) {
		b := open(t)
		s1, s2 := subscribe(t, b, ctx, "t"), subscribe(t, b, ctx, "t")
		publish(t, b, "t", "hello")
		for i, s := range []*events.Subscription{s1, s2} {
			if got := receive(t, s, 1); string(got[0].Data) != "hello" {
				t.Errorf("subscriber %d got %q", i, got[0].Data)
			}
		}
	})
	t.Run("CloseEndsSubscription", func(t *testing.T) {
		b := open(t)
		s := subscribe(t, b, ctx, "t")
		other := subscribe(t, b, ctx, "t")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		waitEnd(t, s, nil)
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		publish(t, b, "t", "still works")
		if got := receive(t, other, 1); string(got[0].Data) != "still works" {
			t.Errorf("other subscriber got %q", got[0].Data)
		}
	})
	t.Run("ContextEndsSubscription", func(t *testing.T) {
		b := open(t)
		sctx, cancel := context.WithCancel(ctx)
		s := subscribe(t, b, sctx, "t")
		cancel()
		waitEnd(t, s, context.Canceled)
	})
	t.Run("LaggingSubscriberIsEnded", func(t *testing.T) {
		b := open(t)
		s := subscribe(t, b, ctx, "t")
		for i := range events.Buffer + 10 {
			publish(t, b, "t", fmt.Sprint(i))
		}
		// Delivery may be asynchronous: let the buffer fill up before
		// reading, as a reader that is not keeping up would.
		deadline := time.Now().Add(wait)
		for len(s.C()) < events.Buffer && s.Err() == nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		n := 0
		for _, e := range readAll(t, s) {
			if string(e.Data) != fmt.Sprint(n) {
				t.Fatalf("event %d is %q: a lagging subscriber must not get holes", n, e.Data)
			}
			n++
		}
		if n > events.Buffer {
			t.Errorf("lagging subscriber got %d events, more than the buffer of %d", n, events.Buffer)
		}
		if !errors.Is(s.Err(), events.ErrLagged) {
			t.Errorf("Err() = %v, want ErrLagged", s.Err())
		}
	})
	t.Run("SlowSubscriberDoesNotHoldUpOthers", func(t *testing.T) {
		// One reader never reads (a stuck browser): the others still get
		// every event as it comes, and the stuck one is ended rather than
		// waited for.
		b := open(t)
		stuck := subscribe(t, b, ctx, "t")
		readers := []*events.Subscription{subscribe(t, b, ctx, "t"), subscribe(t, b, ctx, "t")}
		for i := range 3 * events.Buffer {
			publish(t, b, "t", fmt.Sprint(i))
			for r, s := range readers {
				if got := receive(t, s, 1); string(got[0].Data) != fmt.Sprint(i) {
					t.Fatalf("reader %d got %q, want %d", r, got[0].Data, i)
				}
			}
		}
		waitEnd(t, stuck, events.ErrLagged)
	})
	t.Run("CloseBusEndsEverything", func(t *testing.T) {
		b := open(t)
		s := subscribe(t, b, ctx, "t")
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		waitEnd(t, s, events.ErrClosed)
		if err := b.Publish(ctx, "t", []byte("x")); !errors.Is(err, events.ErrClosed) {
			t.Errorf("Publish after Close = %v, want ErrClosed", err)
		}
		if _, err := b.Subscribe(ctx, "t"); !errors.Is(err, events.ErrClosed) {
			t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
		}
	})
}

func ev(topic, data string) events.Event { return events.Event{Topic: topic, Data: []byte(data)} }

func subscribe(t *testing.T, b events.Bus, ctx context.Context, topics ...string) *events.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx, topics...)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func publish(t *testing.T, b events.Bus, topic, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), topic, []byte(data)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// receive reads n events, failing if they do not come.
func receive(t *testing.T, s *events.Subscription, n int) []events.Event {
	t.Helper()
	var got []events.Event
	timeout := time.After(wait)
	for len(got) < n {
		select {
		case ev, ok := <-s.C():
			if !ok {
				t.Fatalf("subscription ended (%v) after %d of %d events", s.Err(), len(got), n)
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("got %d of %d events", len(got), n)
		}
	}
	return got
}

// readAll returns the events left until the subscription ends.
func readAll(t *testing.T, s *events.Subscription) []events.Event {
	t.Helper()
	var got []events.Event
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-s.C():
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("subscription did not end; %d events read", len(got))
		}
	}
}

// waitEnd waits for the subscription to end with err as its reason.
func waitEnd(t *testing.T, s *events.Subscription, err error) {
	t.Helper()
	readAll(t, s)
	if !errors.Is(s.Err(), err) {
		t.Errorf("Err() = %v, want %v", s.Err(), err)
	}
}
