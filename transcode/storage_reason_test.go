package transcode_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/s3"
	"github.com/lectern/lectern/transcode"
)

// When MinIO goes away while a worker publishes, the reason teachers and
// admins read is plain words, without MinIO's address, bucket or error
// text: "The media store could not be reached; Lectern will try again."
// while the job retries, and "…failed after 6 tries: the media store could
// not be reached" once it is out of tries. The worker's log keeps the
// detail.
func TestHandlerStorageFailureInPlainWords(t *testing.T) {
	t.Parallel()
	c := makeClips(t)
	b := testenv.S3Bucket(t)
	proxy := testenv.NewFaultProxy(t, b.Endpoint)
	ctx := context.Background()
	store, err := s3.New(ctx, s3.Config{Endpoint: proxy.Addr, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL})
	if err != nil {
		t.Fatal(err)
	}
	e := newHandlerEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	var log syncBuffer
	e.Handler.Logger = slog.New(slog.NewTextHandler(&log, nil))
	l := e.newLesson(t)
	f, err := os.Open(c.good)
	if err != nil {
		t.Fatal(err)
	}
	key := lectern.SourceKey(l.ID, testenv.Name("up"))
	if _, err := store.Put(ctx, key, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, job, _, err := e.DB.StartTranscode(ctx, l.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	// MinIO goes away as the first output file is uploaded.
	e.Handler.Storage = &cutOnPut{Storage: store, prefix: lectern.OutputPrefix(l.ID, job.Attempt), cut: proxy.Cut}

	plain := func(reason string) {
		t.Helper()
		for _, detail := range []string{proxy.Addr, "127.0.0.1", b.Bucket, "dial", "s3:", "connection refused", "upload output"} {
			if strings.Contains(reason, detail) {
				t.Errorf("reason %q shows %q", reason, detail)
			}
		}
	}
	if err := e.run(t, job); err == nil || errors.Is(err, transcode.ErrSkipRetry) {
		t.Fatalf("ProcessTranscode with MinIO gone = %v, want an error the queue retries", err)
	}
	j := e.job(t, job.ID)
	if want := "The media store could not be reached; Lectern will try again."; j.State != lectern.JobRetrying || j.Error != want {
		t.Errorf("job: state %q, reason %q; want retrying, %q", j.State, j.Error, want)
	}
	plain(j.Error)
	if !strings.Contains(log.String(), proxy.Addr) {
		t.Errorf("the log lacks the store's address %s, the detail admins need:\n%s", proxy.Addr, log.String())
	}

	// Its last try, with MinIO still gone: failed, in the same words.
	for j.Retries < lectern.MaxTranscodeTries-1 {
		if err := e.DB.MarkTranscoding(ctx, l.ID, job.Attempt, job.ID, "test-worker"); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.RetryTranscode(ctx, l.ID, job.Attempt, job.ID, "", j.Error, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		j = e.job(t, job.ID)
	}
	if err := e.run(t, job); !errors.Is(err, transcode.ErrSkipRetry) {
		t.Errorf("last try: ProcessTranscode = %v, want ErrSkipRetry", err)
	}
	j = e.job(t, job.ID)
	want := "Processing failed after 6 tries: the media store could not be reached"
	if j.State != lectern.JobFailed || j.Failure != lectern.FailureExhausted || j.Error != want {
		t.Errorf("job: state %q, failure %q, reason %q; want failed (exhausted), %q", j.State, j.Failure, j.Error, want)
	}
	if got := e.lesson(t, l.ID); got.Error != want {
		t.Errorf("the lesson shows %q, want %q", got.Error, want)
	}
	plain(j.Error)
	e.checkWorkDirEmpty(t)
}

// cutOnPut is storage that calls cut before the first Put under prefix.
type cutOnPut struct {
	lectern.Storage
	prefix string
	once   sync.Once
	cut    func()
}

func (s *cutOnPut) Put(ctx context.Context, key string, r io.Reader) (lectern.ObjectInfo, error) {
	if strings.HasPrefix(key, s.prefix) {
		s.once.Do(s.cut)
	}
	return s.Storage.Put(ctx, key, r)
}

// syncBuffer is a bytes.Buffer safe for the handler's concurrent log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
