package s3_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lectern/lectern"
)

// TestAcceptance24_AnonymousBucketAccessIsRefused (RELIABILITY 24): in the
// bucket Lectern creates, an anonymous GET of a known segment key, of an
// original recording and of a partial upload answers 403, and the bucket
// has no policy that could make anything public.
func TestAcceptance24_AnonymousBucketAccessIsRefused(t *testing.T) {
	s, b := newStore(t) // s3.New creates the bucket, as Lectern does at start-up
	ctx := context.Background()
	keys := []string{
		lectern.OutputPrefix("lesson1", 1) + "v0/seg_00001.m4s",
		lectern.OutputPrefix("lesson1", 1) + "master.m3u8",
		lectern.SourceKey("lesson1", "upload1"),
		"uploads/partial.info",
	}
	for _, k := range keys {
		if _, err := s.Put(ctx, k, strings.NewReader("course material")); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	scheme := "http"
	if b.UseSSL {
		scheme = "https"
	}
	for _, k := range append(keys, "") { // "" lists the bucket
		t.Run(k, func(t *testing.T) {
			url := scheme + "://" + b.Endpoint + "/" + b.Bucket + "/" + k
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("anonymous GET %s: %s, want 403", url, resp.Status)
			}
			if strings.Contains(string(body), "course material") {
				t.Errorf("anonymous GET %s returned the object's bytes", url)
			}
		})
	}
	policy, err := rawClient(t, b).GetBucketPolicy(ctx, b.Bucket)
	if err != nil || policy != "" {
		t.Errorf("bucket policy = %q, %v; want none", policy, err)
	}
}
