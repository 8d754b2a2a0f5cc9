package s3_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestRemoveStaleUploads leaves incomplete multipart uploads in the bucket
// (what a streaming Put cut off by a crash leaves): the sweep aborts those
// last written before the cut-off, and keeps younger ones and those under
// the skipped prefix.
func TestRemoveStaleUploads(t *testing.T) {
	s, b := newStore(t)
	core := minio.Core{Client: rawClient(t, b)}
	ctx := context.Background()
	start := func(key string) {
		t.Helper()
		id, err := core.NewMultipartUpload(ctx, b.Bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("start multipart upload of %s: %v", key, err)
		}
		if _, err := core.PutObjectPart(ctx, b.Bucket, key, id, 1, bytes.NewReader(make([]byte, 1<<20)), 1<<20, minio.PutObjectPartOptions{}); err != nil {
			t.Fatalf("upload a part of %s: %v", key, err)
		}
	}
	start("lessons/old/source/abandoned")
	start("uploads/tus-owned")
	time.Sleep(1500 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(1500 * time.Millisecond)
	start("lessons/new/source/in-progress")

	n, err := s.RemoveStaleUploads(ctx, cutoff, "uploads/")
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleUploads = %d, %v; want 1 aborted", n, err)
	}
	var left []string
	for up := range core.ListIncompleteUploads(ctx, b.Bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		left = append(left, up.Key)
	}
	want := map[string]bool{"lessons/new/source/in-progress": true, "uploads/tus-owned": true}
	if len(left) != len(want) || !want[left[0]] || !want[left[1]] {
		t.Errorf("incomplete uploads left: %q, want the young one and the skipped one", left)
	}
	// Everything aborts once the cut-off passes them all (but the skipped).
	if n, err := s.RemoveStaleUploads(ctx, time.Now().Add(time.Minute), "uploads/"); err != nil || n != 1 {
		t.Errorf("second sweep = %d, %v; want 1", n, err)
	}
}
