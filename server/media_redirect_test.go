package server_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/storage/s3"
)

// TestMediaFromS3ByRedirect runs media delivery in redirect mode against
// real MinIO, its public address given under another name (localhost for
// 127.0.0.1) as a browser-facing bucket address would be: a segment
// request is answered 302 to a presigned URL on that address, marked
// private and no-store; following it yields the stored bytes, whole or
// by range; each user's URL carries a signed tag of its holder (two
// users' URLs differ, a swapped tag is refused by the bucket); playlists and HEAD are still answered by Lectern; and a
// student removed from the course gets 404, not a redirect. (Stream mode
// against MinIO is TestMediaDelivery's MinIO subtests.)
func TestMediaFromS3ByRedirect(t *testing.T) {
	b := testenv.S3Bucket(t)
	host, port, err := net.SplitHostPort(b.Endpoint)
	if err != nil || host != "127.0.0.1" {
		t.Skipf("the test renames 127.0.0.1 to localhost; S3 endpoint is %q", b.Endpoint)
	}
	scheme := "http"
	if b.UseSSL {
		scheme = "https"
	}
	public := scheme + "://localhost:" + port
	store, err := s3.New(context.Background(), s3.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey,
		SecretKey: b.SecretKey, Bucket: b.Bucket, UseSSL: b.UseSSL, PublicURL: public})
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	fx.Store = store
	m := newMediaClass(t, fx, func(o *server.Options) { o.MediaRedirect = true })
	base := mediaBase(t, playback(t, m.student, m.lessonID))
	seg := m.files["v0/seg_00000.m4s"]
	noFollow := &client{base: m.ts.URL, header: http.Header{},
		hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	r := noFollow.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusFound)
	if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("redirect Cache-Control = %q, want private, no-store", cc)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host != public || loc.Query().Get("X-Amz-Signature") == "" {
		t.Fatalf("Location = %q, want a presigned URL on %s", r.Header.Get("Location"), public)
	}
	if bytes.Contains(r.Body, seg[:64]) {
		t.Errorf("the redirect carries the segment's bytes")
	}

	// A player follows the redirect: the bytes come from the bucket.
	r = m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)
	if !bytes.Equal(r.Body, seg) {
		t.Errorf("followed redirect: %d bytes, want the stored %d", len(r.Body), len(seg))
	}
	if cc := r.Header.Get("Cache-Control"); cc == "" || !bytes.HasPrefix([]byte(cc), []byte("private")) {
		t.Errorf("bucket's Cache-Control = %q, want private", cc)
	}
	r = m.anonymous.do(t, "GET", base+"v0/seg_00000.m4s", nil, "Range", "bytes=10-19").want(http.StatusPartialContent)
	if !bytes.Equal(r.Body, seg[10:20]) {
		t.Errorf("range through the redirect = %x, want %x", r.Body, seg[10:20])
	}

	// Each user's URL is their own: a signed tag of its holder makes two
	// users' URLs for the same segment differ, and a changed tag breaks
	// the signature.
	classmate := &client{base: m.ts.URL, header: http.Header{}, hc: noFollow.hc}
	cbase := mediaBase(t, playback(t, m.classmate, m.lessonID))
	r = classmate.do(t, "GET", cbase+"v0/seg_00000.m4s", nil).want(http.StatusFound)
	cloc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := loc.Query().Get(s3.HolderParam), cloc.Query().Get(s3.HolderParam)
	if mine == "" || theirs == "" || mine == theirs {
		t.Errorf("holder tags %q (student) and %q (classmate): want two different tags", mine, theirs)
	}
	bucket := &http.Client{}
	get := func(u *url.URL) int {
		resp, err := bucket.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(cloc); st != http.StatusOK {
		t.Errorf("classmate's presigned URL: %d, want 200", st)
	}
	q := loc.Query()
	q.Set(s3.HolderParam, theirs)
	forged := *loc
	forged.RawQuery = q.Encode()
	if st := get(&forged); st != http.StatusForbidden {
		t.Errorf("presigned URL with another holder's tag: %d, want 403", st)
	}

	// Playlists and HEAD stay with Lectern.
	r = noFollow.do(t, "GET", base+"master.m3u8", nil).want(http.StatusOK)
	if !bytes.Equal(r.Body, m.files["master.m3u8"]) {
		t.Errorf("master playlist body differs from the stored one")
	}
	noFollow.do(t, "HEAD", base+"v0/seg_00000.m4s", nil).want(http.StatusOK)

	// A removed student gets no redirect.
	var me struct{ ID string }
	m.student.do(t, "GET", "/api/v1/me", nil).want(http.StatusOK).decode(&me)
	m.teacher.do(t, "DELETE", "/api/v1/courses/"+m.course.ID+"/members/"+me.ID, nil).want(http.StatusNoContent)
	noFollow.do(t, "GET", base+"v0/seg_00000.m4s", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
}

// TestMediaRedirectNeedsPresigningStorage: redirect mode over disk storage
// is a configuration error, not a server that streams after all.
func TestMediaRedirectNeedsPresigningStorage(t *testing.T) {
	fx := openFixture(t, "sqlite:"+filepath.Join(t.TempDir(), "lectern.db"))
	_, err := server.New(server.Options{DB: fx.DB, Storage: fx.Store, Secret: []byte("0123456789abcdef0123456789abcdef"),
		MediaRedirect: true})
	if err == nil {
		t.Fatal("server.New with MediaRedirect over disk storage: no error")
	}
}
