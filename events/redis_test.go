package events_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lectern/lectern/events"
	"github.com/lectern/lectern/internal/testenv"
)

// namedBus is a Redis bus whose connections carry a name of their own, so
// that CLIENT LIST can tell them from every other client of the server.
type namedBus struct {
	bus   *events.Redis
	name  string
	admin *redis.Client // another connection, to inspect and disturb the bus's
}

func newNamedBus(t *testing.T) *namedBus {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	t.Cleanup(func() { admin.Close() })
	named := *opt
	named.ClientName = strings.ReplaceAll(testenv.Name("lectern-events-test"), "-", "_")
	client := redis.NewClient(&named)
	t.Cleanup(func() { client.Close() })
	bus := events.NewRedis(client, testenv.Name("lectern:test:events")+":")
	t.Cleanup(func() { bus.Close() })
	return &namedBus{bus: bus, name: named.ClientName, admin: admin}
}

// subscribers returns, for each of the bus's connections that holds a
// subscription, its client ID and its number of channel and pattern
// subscriptions.
func (nb *namedBus) subscribers(t *testing.T) map[string]int {
	t.Helper()
	list, err := nb.admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	got := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(list), "\n") {
		f := map[string]string{}
		for kv := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] != nb.name {
			continue
		}
		sub, _ := strconv.Atoi(f["sub"])
		psub, _ := strconv.Atoi(f["psub"])
		if sub+psub > 0 {
			got[f["id"]] = sub + psub
		}
	}
	return got
}

// TestAcceptance27_RedisBusHoldsOneSubscription is part of RELIABILITY
// 27: however many subscriptions (live event streams) a process opens, on
// however many topics, the Redis bus holds one Redis subscription on one
// connection, and each subscriber still gets the events of its topics.
func TestAcceptance27_RedisBusHoldsOneSubscription(t *testing.T) {
	nb := newNamedBus(t)
	ctx := context.Background()
	const n = 60
	subs := make([]*events.Subscription, n)
	for i := range subs {
		// A stream watches its lesson and its session, as server/sse.go does.
		subs[i] = subscribe(t, nb.bus, ctx, fmt.Sprintf("lesson:%d", i%7), fmt.Sprintf("session:%d", i))
	}
	got := nb.subscribers(t)
	if len(got) != 1 {
		t.Fatalf("%d subscriptions open on Redis connections %v; want 1 connection with 1 subscription", n, got)
	}
	for id, count := range got {
		if count != 1 {
			t.Errorf("connection %s holds %d subscriptions, want 1 (one pattern for the whole bus)", id, count)
		}
	}
	for i := range 7 {
		publish(t, nb.bus, fmt.Sprintf("lesson:%d", i), fmt.Sprint(i))
	}
	publish(t, nb.bus, "session:3", "bye")
	for i, s := range subs {
		want := []string{fmt.Sprint(i % 7)}
		if i == 3 {
			want = []string{"3", "bye"}
		}
		got := receive(t, s, len(want))
		for j := range want {
			if string(got[j].Data) != want[j] {
				t.Errorf("subscriber %d got %q as event %d, want %q", i, got[j].Data, j, want[j])
			}
		}
	}
	// Every subscription ended: the one Redis subscription stays, ready
	// for the next stream, and still only one.
	for _, s := range subs {
		s.Close()
	}
	subscribe(t, nb.bus, ctx, "lesson:0")
	if got := nb.subscribers(t); len(got) != 1 {
		t.Errorf("after the subscriptions ended and another began: %v, want 1 connection", got)
	}
}

// TestRedisBusLostConnection: when the bus's Redis connection is lost,
// go-redis reconnects and subscribes again, but what was published in
// between is lost. Every subscription open then ends with
// ErrInterrupted, so that its reader resynchronises from the database; new
// subscriptions receive again.
func TestRedisBusLostConnection(t *testing.T) {
	nb := newNamedBus(t)
	ctx := context.Background()
	s := subscribe(t, nb.bus, ctx, "t")
	ids := nb.subscribers(t)
	if len(ids) != 1 {
		t.Fatalf("subscribed connections: %v, want 1", ids)
	}
	for id := range ids {
		if err := nb.admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", id, err)
		}
	}
	waitEnd(t, s, events.ErrInterrupted)
	// The next subscriber subscribes the bus again and gets what is
	// published.
	again := subscribe(t, nb.bus, ctx, "t")
	publish(t, nb.bus, "t", "after")
	if got := receive(t, again, 1); string(got[0].Data) != "after" {
		t.Errorf("after reconnecting, got %q", got[0].Data)
	}
}

// TestRedisBusNoticesRedisAway: a Redis that goes away under a running
// bus, whether its connections are closed (a restart) or it stops
// answering without closing anything (a stalled server, a black-holed
// network, which go-redis alone notices only when it reconnects), ends
// every subscription with ErrInterrupted while it is away (within two
// ping intervals), and new subscriptions fail until it is back; then they
// work again. Subscribers such as the server's credential cache rely on
// this to stop trusting their memory during an outage.
func TestRedisBusNoticesRedisAway(t *testing.T) {
	for _, fault := range []string{"cut", "blackhole"} {
		t.Run(fault, func(t *testing.T) {
			proxy := testenv.NewFaultProxy(t, testenv.URLHostPort(t, testenv.RedisURL(t)))
			opt, err := redis.ParseURL(proxy.ProxyURL(testenv.RedisURL(t)))
			if err != nil {
				t.Fatal(err)
			}
			client := redis.NewClient(opt)
			t.Cleanup(func() { client.Close() })
			bus := events.NewRedis(client, testenv.Name("lectern:test:events")+":")
			bus.SetPingInterval(200 * time.Millisecond)
			t.Cleanup(func() { bus.Close() })
			ctx := context.Background()

			s := subscribe(t, bus, ctx, "t")
			publish(t, bus, "t", "before")
			if got := receive(t, s, 1); string(got[0].Data) != "before" {
				t.Fatalf("got %q", got[0].Data)
			}
			restore := proxy.Restore
			if fault == "cut" {
				proxy.Cut()
			} else {
				proxy.Blackhole()
				restore = proxy.Heal
			}
			waitEnd(t, s, events.ErrInterrupted)
			if s, err := bus.Subscribe(ctx, "t"); err == nil {
				s.Close()
				t.Fatal("Subscribe succeeded while Redis was away")
			}

			restore()
			var again *events.Subscription
			for deadline := time.Now().Add(wait); again == nil; time.Sleep(50 * time.Millisecond) {
				again, err = bus.Subscribe(ctx, "t")
				if err != nil && time.Now().After(deadline) {
					t.Fatalf("Subscribe after Redis came back: %v", err)
				}
			}
			t.Cleanup(func() { again.Close() })
			publish(t, bus, "t", "after")
			if got := receive(t, again, 1); string(got[0].Data) != "after" {
				t.Errorf("after Redis came back, got %q", got[0].Data)
			}
		})
	}
}
