package s3_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/s3"
)

// TestAcceptance13_PutRetriesWithBackoff puts a real proxy between the
// store and MinIO (RELIABILITY 13, the storage side): while MinIO resets
// every connection for a moment, a Put (a segment of transcode output)
// is retried with backoff and succeeds once MinIO answers; while it goes
// on resetting, the Put gives up after a bounded time with an error, for
// the transcode task to be retried.
func TestAcceptance13_PutRetriesWithBackoff(t *testing.T) {
	b := testenv.S3Bucket(t)
	proxy := testenv.NewFaultProxy(t, b.Endpoint)
	cfg := config(b)
	cfg.Endpoint = proxy.Addr
	s, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	segment := bytes.Repeat([]byte("segment "), 100_000)
	ctx := context.Background()

	t.Run("ShortOutage", func(t *testing.T) {
		proxy.ResetPeer()
		healed := time.AfterFunc(1500*time.Millisecond, proxy.Heal)
		defer healed.Stop()
		start := time.Now()
		if _, err := s.Put(ctx, "lessons/l/hls/1/v0/seg1.m4s", bytes.NewReader(segment)); err != nil {
			t.Fatalf("Put across a 1.5 s outage: %v", err)
		}
		if took := time.Since(start); took < time.Second {
			t.Errorf("Put took %v: it cannot have waited out the outage", took)
		}
		rc, err := s.Open(ctx, "lessons/l/hls/1/v0/seg1.m4s", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, segment) {
			t.Errorf("stored %d bytes, want the segment's %d", len(got), len(segment))
		}
	})
	t.Run("LongOutage", func(t *testing.T) {
		proxy.ResetPeer()
		defer proxy.Heal()
		start := time.Now()
		_, err := s.Put(ctx, "lessons/l/hls/1/v0/seg2.m4s", bytes.NewReader(segment))
		took := time.Since(start)
		if err == nil {
			t.Fatal("Put succeeded while MinIO resets every connection")
		}
		if took > 30*time.Second {
			t.Errorf("Put gave up after %v, want a bounded number of retries (well under 30 s)", took)
		}
		t.Logf("Put gave up after %v: %v", took, err)
	})
}
