package s3_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/s3"
	"github.com/lectern/lectern/storage/storagetest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func config(b testenv.S3) s3.Config {
	return s3.Config{
		Endpoint:  b.Endpoint,
		AccessKey: b.AccessKey,
		SecretKey: b.SecretKey,
		Bucket:    b.Bucket,
		UseSSL:    b.UseSSL,
	}
}

// newStore returns a store on a fresh bucket, removed when tb ends.
func newStore(tb testing.TB) (*s3.Store, testenv.S3) {
	tb.Helper()
	b := testenv.S3Bucket(tb)
	s, err := s3.New(tb.Context(), config(b))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s, b
}

// rawClient talks to the bucket behind the store's back.
func rawClient(t *testing.T, b testenv.S3) *minio.Client {
	t.Helper()
	c, err := minio.New(b.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""),
		Secure: b.UseSSL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) lectern.Storage {
		s, _ := newStore(t)
		return s
	})
}

func TestNewCreatesMissingBucket(t *testing.T) {
	b := testenv.S3Bucket(t)
	raw := rawClient(t, b)
	if ok, err := raw.BucketExists(t.Context(), b.Bucket); err != nil || ok {
		t.Fatalf("bucket exists before New: %v, %v", ok, err)
	}
	s, err := s3.New(t.Context(), config(b))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if ok, err := raw.BucketExists(t.Context(), b.Bucket); err != nil || !ok {
		t.Errorf("bucket exists after New: %v, %v; want true", ok, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	// Starting again on the same bucket is the normal restart.
	if _, err := s3.New(t.Context(), config(b)); err != nil {
		t.Errorf("New on an existing bucket: %v", err)
	}
}

// API and workers start together and may all find the bucket missing.
func TestNewConcurrentlyOnMissingBucket(t *testing.T) {
	b := testenv.S3Bucket(t)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s3.New(t.Context(), config(b))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("concurrent New: %v", err)
	}
}

func TestPingFailsWithoutBucket(t *testing.T) {
	s, b := newStore(t)
	if err := rawClient(t, b).RemoveBucket(t.Context(), b.Bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping succeeded with the bucket removed")
	}
}

func TestPutSetsContentType(t *testing.T) {
	s, b := newStore(t)
	for _, key := range []string{"hls/master.m3u8", "hls/720p/seg-1.m4s", "poster.jpg"} {
		if _, err := s.Put(t.Context(), key, storagetest.Generated(1, 10)); err != nil {
			t.Fatal(err)
		}
		// What a browser gets through a presigned URL or a proxy.
		oi, err := rawClient(t, b).StatObject(t.Context(), b.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := lectern.ContentTypeFor(key); oi.ContentType != want {
			t.Errorf("%s stored with Content-Type %q, want %q", key, oi.ContentType, want)
		}
	}
}

// A broken or canceled upload must not leave parts behind: they cost
// storage without ever showing up as objects.
func TestFailedPutLeavesNoIncompleteUpload(t *testing.T) {
	s, b := newStore(t)
	const size = 40 << 20 // more than one 16 MiB part gets uploaded
	_, err := s.Put(t.Context(), "broken.mp4", &failAt{r: storagetest.Generated(1, size), n: 30 << 20})
	if err == nil {
		t.Fatal("Put with a broken reader succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err = s.Put(ctx, "canceled.mp4", &failAt{r: storagetest.Generated(2, size), n: 30 << 20, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Put: %v, want context.Canceled", err)
	}
	for up := range rawClient(t, b).ListIncompleteUploads(t.Context(), b.Bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		t.Errorf("incomplete upload left for %s", up.Key)
	}
}

// failAt reads n bytes of r, then fails, or cancels and goes on when cancel
// is set.
type failAt struct {
	r      io.Reader
	n      int64
	cancel func()
}

func (f *failAt) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.cancel == nil {
			return 0, io.ErrUnexpectedEOF
		}
		f.cancel()
	} else if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func BenchmarkPutLarge(b *testing.B) {
	s, _ := newStore(b)
	storagetest.BenchmarkPut(b, s, 256<<20)
}
