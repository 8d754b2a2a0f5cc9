package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/lectern/lectern"
)

const (
	// brokenAt is where broken uploads stop: past the first 16 MiB part of
	// a multipart upload, so that a store has something to abort.
	brokenAt = 20 << 20
	// largeSize spans several multipart parts.
	largeSize = 40 << 20
)

// checkUntouched asserts that after a failed Put under "old.mp4" (which
// held "old") and "new.mp4" (which held nothing) the store is as before.
func checkUntouched(t *testing.T, s lectern.Storage) {
	t.Helper()
	if got := read(t, s, "old.mp4", 0, -1); got != "old" {
		t.Errorf("previous object reads %d bytes (%.16q…) after the failed Put, want %q", len(got), got, "old")
	}
	_, err := s.Stat(t.Context(), "new.mp4")
	wantCode(t, err, lectern.ENOTFOUND, "Stat of a key whose only Put failed")
	wantKeys(t, s, "", "old.mp4")
}

func testFailingReader(t *testing.T, s lectern.Storage) {
	put(t, s, "old.mp4", "old")
	// io.ErrUnexpectedEOF is what net/http returns for an upload whose
	// client went away: it must not pass for the end of the object.
	for _, readErr := range []error{errBroken, io.ErrUnexpectedEOF} {
		for _, key := range []string{"old.mp4", "new.mp4"} {
			r := &failAfter{r: Generated(1, brokenAt), err: readErr}
			_, err := s.Put(t.Context(), key, r)
			if !errors.Is(err, readErr) {
				t.Errorf("Put(%q) with a reader that fails with %q: error %v, want the reader's error", key, readErr, err)
			}
		}
	}
	checkUntouched(t, s)
}

func testCanceled(t *testing.T, s lectern.Storage) {
	put(t, s, "old.mp4", "old")
	for _, key := range []string{"old.mp4", "new.mp4"} {
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancelAfter{r: Generated(2, largeSize), n: brokenAt, cancel: cancel}
		_, err := s.Put(ctx, key, r)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put(%q) canceled half way: error %v, want context.Canceled", key, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "new.mp4", bytes.NewReader([]byte("tiny"))); err == nil {
		t.Errorf("Put with a canceled context succeeded")
	}
	checkUntouched(t, s)
}

func testLarge(t *testing.T, s lectern.Storage) {
	const key = "lessons/big/source.mp4"
	sent := sha256.New()
	info, err := s.Put(t.Context(), key, io.TeeReader(Generated(3, largeSize), sent))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info.Size != largeSize {
		t.Errorf("Put size %d, want %d", info.Size, largeSize)
	}
	rc, err := s.Open(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	stored := sha256.New()
	n, err := io.Copy(stored, rc)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if n != largeSize || !bytes.Equal(stored.Sum(nil), sent.Sum(nil)) {
		t.Errorf("read back %d bytes with a different hash than the %d sent", n, largeSize)
	}
	// A range across the boundary of the first 16 MiB part.
	off := int64(16<<20 - 100)
	want := make([]byte, 200)
	gen := Generated(3, largeSize)
	if _, err := io.CopyN(io.Discard, gen, off); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(gen, want); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, key, off, 200); got != string(want) {
		t.Errorf("Open(%d, 200) read different bytes than were put", off)
	}
}

func testInProgress(t *testing.T, s lectern.Storage) {
	put(t, s, "done.mp4", "done")
	pr, pw := io.Pipe()
	type result struct {
		info lectern.ObjectInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := s.Put(t.Context(), "pending.mp4", pr)
		pr.CloseWithError(err) // unblocks the writer should Put fail early
		done <- result{info, err}
	}()
	// Once Write returns, Put has consumed more than a multipart part.
	if _, err := io.Copy(pw, Generated(4, 17<<20)); err != nil {
		t.Fatalf("feeding the Put: %v", err)
	}
	wantKeys(t, s, "", "done.mp4")
	_, err := s.Stat(t.Context(), "pending.mp4")
	wantCode(t, err, lectern.ENOTFOUND, "Stat of a Put in progress")

	pw.Close()
	res := <-done
	if res.err != nil {
		t.Fatalf("Put: %v", res.err)
	}
	if res.info.Size != 17<<20 {
		t.Errorf("Put size %d, want %d", res.info.Size, 17<<20)
	}
	wantKeys(t, s, "", "done.mp4", "pending.mp4")
}
