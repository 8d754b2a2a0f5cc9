// Package s3 stores Lectern's objects in an S3 bucket (MinIO or any S3)
// through minio-go: the storage of the scaled setup, shared by API and
// workers on several machines.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lectern/lectern"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// partSize is the multipart part size of a streaming Put, and so the
	// memory one Put holds; 16 MiB parts allow objects up to 160 GiB.
	partSize = 16 << 20
	// singlePutMax is the largest object sent in one PUT request. Playlists,
	// segments and images are smaller: one request each instead of three,
	// and a buffer sized to the object instead of a whole part.
	singlePutMax = 8 << 20
	// maxTries bounds how often one request is sent when the store
	// fails it in a way that may pass (a reset or refused connection, a
	// 5xx, a timeout): minio-go waits between tries with a backoff that
	// grows from 200 ms to 1 s, with jitter. A blip of a second or two is
	// absorbed; a longer outage fails the call after about 5–10 s (it is
	// never retried for ever), and the caller's own retry takes over: a
	// transcode task is retried later, a media request answers 503.
	maxTries = 10
)

// Config locates the bucket. Endpoint is host[:port], without a scheme.
type Config struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseSSL    bool
	// PublicURL is the bucket's endpoint as browsers reach it
	// ("https://media.example.org"), for PresignGet; empty means
	// Endpoint (with UseSSL's scheme).
	PublicURL string
}

// Store is a lectern.Storage backed by one S3 bucket.
type Store struct {
	client *minio.Client
	bucket string
	// presigner signs URLs for PublicURL's host; it never sends a
	// request (its region is set, so it needs no location lookup).
	presigner *minio.Client
}

var _ lectern.Storage = (*Store)(nil)

// New connects to cfg.Endpoint and creates the bucket when it is missing;
// a bucket created at the same moment by another process is fine.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("s3: endpoint is empty")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3: bucket is empty")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseSSL,
		Region:     cfg.Region,
		MaxRetries: maxTries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: client for %s: %w", cfg.Endpoint, err)
	}
	s := &Store{client: client, bucket: cfg.Bucket}
	if s.presigner, err = newPresigner(cfg); err != nil {
		return nil, err
	}
	if err := s.ensureBucket(ctx, cfg.Region); err != nil {
		return nil, err
	}
	return s, nil
}

// HolderParam is the query parameter of PresignGet's holder.
const HolderParam = "x-lectern-holder"

// newPresigner returns the client that signs PresignGet's URLs.
func newPresigner(cfg Config) (*minio.Client, error) {
	endpoint, secure := cfg.Endpoint, cfg.UseSSL
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("s3: public URL %q is not an http or https URL without a path", cfg.PublicURL)
		}
		endpoint, secure = u.Host, u.Scheme == "https"
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1" // MinIO's and S3's default
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: secure,
		Region: region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: presigning client for %s: %w", endpoint, err)
	}
	return c, nil
}

// PresignGet returns a URL on which the object under key can be read with
// GET, without credentials, until ttl has passed. The bucket answers it
// with Cache-Control cacheControl. A non-empty holder (an opaque tag of
// whom the URL is for) is a signed query parameter, HolderParam, that the
// bucket ignores: URLs made for different holders differ, so that no
// cache keyed on the URL can hand one holder's answer to another, and
// the tag cannot be changed without breaking the signature. Signing sends
// no request.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, cacheControl, holder string) (*url.URL, error) {
	if err := lectern.ValidateKey(key); err != nil {
		return nil, err
	}
	params := url.Values{}
	if cacheControl != "" {
		params.Set("response-cache-control", cacheControl)
	}
	if holder != "" {
		params.Set(HolderParam, holder)
	}
	u, err := s.presigner.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return nil, fmt.Errorf("s3: presign %s: %w", key, err)
	}
	return u, nil
}

func (s *Store) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3: check bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
		return fmt.Errorf("s3: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Ping reports whether the bucket is reachable, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3: ping bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put implements lectern.Storage. An object larger than singlePutMax is
// streamed as a multipart upload with one part in memory at a time; if r
// fails or ctx is canceled the upload is aborted, so nothing appears and
// an object already under key stays. A store out of space is an ENOSPACE
// error.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (lectern.ObjectInfo, error) {
	if err := lectern.ValidateKey(key); err != nil {
		return lectern.ObjectInfo{}, err
	}
	cr := ctxReader{ctx: ctx, r: r}
	opts := minio.PutObjectOptions{ContentType: lectern.ContentTypeFor(key), PartSize: partSize}
	var head bytes.Buffer
	n, err := io.CopyN(&head, cr, singlePutMax+1)
	var up minio.UploadInfo
	switch {
	case err == io.EOF: // all of it is in head
		up, err = s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(head.Bytes()), n, opts)
		if serverCutBody(err) {
			// Every byte was sent, so the server failed to keep them: a
			// drive that filled during the write reports so. Sent again,
			// the body meets the server's own check of free space first.
			up, err = s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(head.Bytes()), n, opts)
		}
	case err == nil: // more to come: stream it
		up, err = s.client.PutObject(ctx, s.bucket, key, io.MultiReader(&head, cr), -1, opts)
	}
	if isStorageFull(err) {
		err = fmt.Errorf("%w (%w)", lectern.Errorf(lectern.ENOSPACE, noSpaceMessage), err)
	}
	if err != nil { // from the reader or from PutObject
		return lectern.ObjectInfo{}, fmt.Errorf("s3: put %s: %w", key, err)
	}
	info := lectern.ObjectInfo{Key: key, Size: up.Size, ContentType: opts.ContentType, ModTime: up.LastModified.UTC()}
	if up.LastModified.IsZero() {
		// S3 does not return it on PUT; the server's stamp is a moment later.
		info.ModTime = time.Now().UTC()
	}
	return info, nil
}

// Open implements lectern.Storage. Reading from past the end of the object
// yields nothing.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := lectern.ValidateKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, lectern.Errorf(lectern.EINVALID, "negative offset %d", offset)
	}
	if length == 0 {
		// A zero-length range cannot be expressed; still report a missing key.
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return http.NoBody, nil
	}
	var opts minio.GetObjectOptions
	var err error
	switch {
	case length > 0 && length <= math.MaxInt64-offset:
		err = opts.SetRange(offset, offset+length-1)
	case offset > 0:
		err = opts.SetRange(offset, 0)
	}
	if err != nil {
		return nil, lectern.Errorf(lectern.EINVALID, "range %d+%d: %v", offset, length, err)
	}
	// Core's GetObject sends the request now, unlike Client's lazy one, so
	// a missing key is reported here rather than on the first Read.
	core := minio.Core{Client: s.client}
	body, _, _, err := core.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.InvalidRange {
			return http.NoBody, nil // the object exists; the range starts at or past its end
		}
		return nil, objectError("open", key, err)
	}
	return body, nil
}

// Stat implements lectern.Storage.
func (s *Store) Stat(ctx context.Context, key string) (lectern.ObjectInfo, error) {
	if err := lectern.ValidateKey(key); err != nil {
		return lectern.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return lectern.ObjectInfo{}, objectError("stat", key, err)
	}
	info := lectern.ObjectInfo{Key: key, Size: oi.Size, ContentType: oi.ContentType, ModTime: oi.LastModified.UTC()}
	if info.ContentType == "" {
		info.ContentType = lectern.ContentTypeFor(key)
	}
	return info, nil
}

// Delete implements lectern.Storage.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := lectern.ValidateKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3: delete %s: %w", key, err)
	}
	return nil
}

// DeletePrefix implements lectern.Storage, with multi-object deletes of up
// to a thousand keys each.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := lectern.ValidatePrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var listErr error
	// RemoveObjectsWithIter pulls this iterator synchronously (iter.Pull),
	// so listErr is safely read once the results are drained.
	objects := func(yield func(minio.ObjectInfo) bool) {
		for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			if !yield(obj) {
				return
			}
		}
	}
	results, err := s.client.RemoveObjectsWithIter(ctx, s.bucket, objects, minio.RemoveObjectsOptions{})
	if err != nil {
		return fmt.Errorf("s3: delete prefix %q: %w", prefix, err)
	}
	for res := range results {
		if res.Err != nil && err == nil {
			err = fmt.Errorf("s3: delete %s: %w", res.ObjectName, res.Err)
		}
	}
	if err == nil && listErr != nil {
		err = fmt.Errorf("s3: delete prefix %q: list: %w", prefix, listErr)
	}
	return err
}

// List implements lectern.Storage. S3 lists in byte order of the key.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[lectern.ObjectInfo, error] {
	return func(yield func(lectern.ObjectInfo, error) bool) {
		if err := lectern.ValidatePrefix(prefix); err != nil {
			yield(lectern.ObjectInfo{}, err)
			return
		}
		// Canceling stops the listing when the caller stops early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				yield(lectern.ObjectInfo{}, fmt.Errorf("s3: list %q: %w", prefix, obj.Err))
				return
			}
			if strings.HasSuffix(obj.Key, "/") {
				continue // a "folder" marker written by another tool, not an object
			}
			info := lectern.ObjectInfo{
				Key:         obj.Key,
				Size:        obj.Size,
				ContentType: lectern.ContentTypeFor(obj.Key),
				ModTime:     obj.LastModified.UTC(),
			}
			if !yield(info, nil) {
				return
			}
		}
	}
}

// noSpaceMessage is what a user is told when the store has no room left.
const noSpaceMessage = "The server's file storage is out of space, so this could not be saved. Please tell your administrator."

// isStorageFull reports an S3 error that says the store has no room:
// MinIO's full drives (HTTP 507) or a bucket quota reached.
func isStorageFull(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	return resp.StatusCode == http.StatusInsufficientStorage ||
		resp.Code == "XMinioStorageFull" || resp.Code == "XMinioAdminBucketQuotaExceeded" ||
		// MinIO sometimes reports a drive that filled up during the
		// request as an InternalError whose cause is the OS's.
		strings.Contains(resp.Message, "no space left on device")
}

// serverCutBody reports MinIO's IncompleteBody: the server stopped taking
// the body before its announced length.
func serverCutBody(err error) bool {
	return minio.ToErrorResponse(err).Code == "IncompleteBody"
}

// objectError maps S3's "no such key" to ENOTFOUND and wraps anything else.
func objectError(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey ||
		(resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket) {
		return lectern.Errorf(lectern.ENOTFOUND, "object %q not found", key)
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}

// ctxReader stops reading once ctx is done, so that a canceled Put fails
// (and aborts its upload) even while its reader still has bytes.
//
// It also wraps every read error but io.EOF: minio-go takes a bare
// io.ErrUnexpectedEOF for the end of the stream, and that is what net/http
// returns when a client drops an upload half way, so unwrapped it would
// commit a truncated object.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read: %w", err)
	}
	return n, err
}
