package server

import (
	"testing"
	"time"
)

func TestLimiterSet(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("BurstThenRate", func(t *testing.T) {
		l := newLimiterSet(time.Minute, 2, 10)
		for i := range 2 {
			if wait := l.take("a", start); wait != 0 {
				t.Fatalf("attempt %d waits %v, want none within the burst", i+1, wait)
			}
		}
		if wait := l.take("a", start); wait <= 0 || wait > time.Minute {
			t.Errorf("third attempt waits %v, want up to a minute", wait)
		}
		// A refused attempt spends nothing: one minute later one is allowed.
		if wait := l.take("a", start.Add(time.Minute)); wait != 0 {
			t.Errorf("attempt a minute later waits %v", wait)
		}
		if wait := l.take("b", start); wait != 0 {
			t.Errorf("another key waits %v", wait)
		}
	})

	t.Run("BoundedWithIdleExpiry", func(t *testing.T) {
		l := newLimiterSet(time.Minute, 2, 3)
		for _, k := range []string{"a", "b", "c"} {
			l.take(k, start)
		}
		// Two minutes on, every bucket is full again: idle entries go.
		later := start.Add(2 * time.Minute)
		l.take("d", later)
		if n := l.size(); n != 1 {
			t.Errorf("size after idle expiry = %d, want 1", n)
		}
		// When every entry is busy, the least recently used one goes.
		l.take("e", later.Add(time.Second))
		l.take("f", later.Add(2*time.Second))
		l.take("g", later.Add(3*time.Second))
		if n := l.size(); n != 3 {
			t.Errorf("size = %d, want the bound 3", n)
		}
		if _, ok := l.entries["d"]; ok {
			t.Errorf("least recently used key d was kept")
		}
	})
}
