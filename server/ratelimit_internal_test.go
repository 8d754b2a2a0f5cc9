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

func TestLimiterSetRefund(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiterSet(time.Minute, 2, 10)
	l.take("a", start)
	l.take("a", start)
	if wait := l.wait("a", start); wait != time.Minute {
		t.Errorf("wait after the burst = %v, want a minute (wait spends nothing)", wait)
	}
	// A refund, even later, gives one token back, never more than the burst.
	l.refund("a", start.Add(time.Second))
	if wait := l.take("a", start.Add(time.Second)); wait != 0 {
		t.Errorf("attempt after a refund waits %v", wait)
	}
	l.refund("a", start.Add(time.Hour))
	l.refund("a", start.Add(time.Hour))
	for i := range 2 {
		if wait := l.take("a", start.Add(time.Hour)); wait != 0 {
			t.Fatalf("attempt %d an hour later waits %v", i+1, wait)
		}
	}
	if wait := l.take("a", start.Add(time.Hour)); wait == 0 {
		t.Errorf("refunds filled the bucket past its burst")
	}
}

func TestAddressKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::99", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		if got := addressKey(tt.ip); got != tt.want {
			t.Errorf("addressKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}
