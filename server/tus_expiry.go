package server

// Expiry of abandoned resumable uploads. A tus upload that a client
// started and never finished keeps its bytes: a file in the uploads
// directory, or a multipart upload (plus small .info and .part objects) in
// the bucket. ExpireUploads removes those whose last write is older than
// a cut-off; cmd/lectern calls it on a timer.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	tusd "github.com/tus/tusd/v2/pkg/handler"
)

// expiryLockWait is how long expiry waits for an upload's lock; an upload
// whose lock is held is in use, and is left for the next pass.
const expiryLockWait = time.Second

// tusS3 is the bucket of partial uploads, as the expiry sees it.
type tusS3 struct {
	client *awss3.Client
	bucket string
	prefix string
}

// ExpireUploads removes the resumable uploads last written before before,
// with everything they stored, and returns how many it removed. An
// upload in use (its lock held) is left alone. It does nothing when
// resumable uploads are off.
func (s *Server) ExpireUploads(ctx context.Context, before time.Time) (int, error) {
	t := s.uploads
	switch {
	case t == nil:
		return 0, nil
	case t.s3 != nil:
		return t.expireS3(ctx, before)
	default:
		return t.expireDisk(ctx, before)
	}
}

// withLock runs fn holding upload id's lock, or returns false when the
// lock cannot be had quickly.
func (t *tusUploads) withLock(ctx context.Context, id string, fn func() error) (bool, error) {
	lock, err := t.locker.NewLock(id)
	if err != nil {
		return false, err
	}
	lctx, cancel := context.WithTimeout(ctx, expiryLockWait)
	defer cancel()
	if err := lock.Lock(lctx, func() {}); err != nil {
		return false, nil
	}
	defer lock.Unlock()
	return true, fn()
}

// expireDisk removes the uploads of the uploads directory whose data and
// info files are both older than before. The directory holds, per
// upload, <id> (the bytes) and <id>.info; a data file without its info,
// and lock files from tusd's file locker, are removed on the same terms.
func (t *tusUploads) expireDisk(ctx context.Context, before time.Time) (int, error) {
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		return 0, fmt.Errorf("expire uploads: %w", err)
	}
	mtime := map[string]time.Time{}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			mtime[e.Name()] = fi.ModTime()
		}
	}
	n := 0
	var errs []error
	for name, mt := range mtime {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		id, isInfo := strings.CutSuffix(name, ".info")
		switch {
		case isInfo:
			last := mt
			if dt, ok := mtime[id]; ok && dt.After(last) {
				last = dt
			}
			if !last.Before(before) {
				continue
			}
			done, err := t.withLock(ctx, id, func() error { return t.terminate(ctx, id) })
			if err != nil {
				errs = append(errs, err)
			} else if done {
				n++
			}
		case mt.Before(before) && !hasInfo(mtime, name):
			// A data file whose upload lost its info, or a lock or stop
			// file of tusd's file locker.
			if err := os.Remove(filepath.Join(t.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("expire upload file: %w", err))
			}
		}
	}
	return n, errors.Join(errs...)
}

// hasInfo reports whether name is the data, lock or stop file of an
// upload whose .info file is there.
func hasInfo(files map[string]time.Time, name string) bool {
	id := strings.TrimSuffix(strings.TrimSuffix(name, ".lock"), ".stop")
	_, ok := files[id+".info"]
	return ok
}

// terminate removes upload id through the tus store, as a DELETE would.
func (t *tusUploads) terminate(ctx context.Context, id string) error {
	up, err := t.store.GetUpload(ctx, id)
	if errors.Is(err, tusd.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire upload %s: %w", id, err)
	}
	if err := t.terminater.AsTerminatableUpload(up).Terminate(ctx); err != nil {
		return fmt.Errorf("expire upload %s: %w", id, err)
	}
	return nil
}

// expireS3 removes the uploads under the prefix last written before
// before: an upload's last write is the newest of its multipart upload's
// start and parts and of its objects (the .info, the .part holding a
// chunk too small for a part, the object of a finished upload). Objects
// of no upload in progress (a finished upload whose commit failed) go on
// the same terms.
func (t *tusUploads) expireS3(ctx context.Context, before time.Time) (int, error) {
	c := t.s3
	objects, err := c.listObjects(ctx)
	if err != nil {
		return 0, err
	}
	live := map[string]bool{} // object IDs of uploads in progress
	n := 0
	var errs []error
	// MinIO lists multipart uploads only by exact key or in full, so the
	// prefix is applied here.
	p := awss3.NewListMultipartUploadsPaginator(c.client, &awss3.ListMultipartUploadsInput{Bucket: aws.String(c.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("expire uploads: list multipart uploads: %w", err)
		}
		for _, up := range page.Uploads {
			objectID, ok := strings.CutPrefix(aws.ToString(up.Key), c.prefix)
			if !ok {
				continue
			}
			last, err := c.lastWrite(ctx, up)
			if err != nil {
				errs = append(errs, err)
				live[objectID] = true
				continue
			}
			if last.Before(objects[objectID].last) {
				last = objects[objectID].last
			}
			if !last.Before(before) {
				live[objectID] = true
				continue
			}
			id := objectID + "+" + aws.ToString(up.UploadId)
			done, err := t.withLock(ctx, id, func() error { return c.remove(ctx, objectID, aws.ToString(up.UploadId)) })
			switch {
			case err != nil:
				errs = append(errs, err)
			case done:
				n++
			default:
				live[objectID] = true
			}
		}
	}
	var stale []string
	for id, o := range objects {
		if !live[id] && o.last.Before(before) {
			stale = append(stale, o.keys...)
		}
	}
	for len(stale) > 0 {
		batch := stale[:min(len(stale), 1000)]
		stale = stale[len(batch):]
		if err := c.deleteObjects(ctx, batch...); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// uploadObjects are the objects of one upload under the prefix.
type uploadObjects struct {
	keys []string
	last time.Time
}

// listObjects returns the objects under the prefix by upload object ID.
func (c *tusS3) listObjects(ctx context.Context) (map[string]uploadObjects, error) {
	out := map[string]uploadObjects{}
	p := awss3.NewListObjectsV2Paginator(c.client, &awss3.ListObjectsV2Input{
		Bucket: aws.String(c.bucket), Prefix: aws.String(c.prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("expire uploads: list objects: %w", err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			id := strings.TrimPrefix(key, c.prefix)
			id = strings.TrimSuffix(strings.TrimSuffix(id, ".info"), ".part")
			o := out[id]
			o.keys = append(o.keys, key)
			if t := aws.ToTime(obj.LastModified); t.After(o.last) {
				o.last = t
			}
			out[id] = o
		}
	}
	return out, nil
}

// lastWrite is when a multipart upload last received a part, or when it
// started.
func (c *tusS3) lastWrite(ctx context.Context, up types.MultipartUpload) (time.Time, error) {
	last := aws.ToTime(up.Initiated)
	p := awss3.NewListPartsPaginator(c.client, &awss3.ListPartsInput{
		Bucket: aws.String(c.bucket), Key: up.Key, UploadId: up.UploadId,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nsu *types.NoSuchUpload
			if errors.As(err, &nsu) {
				return last, nil
			}
			return last, fmt.Errorf("expire uploads: list parts: %w", err)
		}
		for _, part := range page.Parts {
			if t := aws.ToTime(part.LastModified); t.After(last) {
				last = t
			}
		}
	}
	return last, nil
}

// remove aborts an upload's multipart upload and deletes its objects, as
// tusd's Terminate does.
func (c *tusS3) remove(ctx context.Context, objectID, multipartID string) error {
	if multipartID != "" {
		_, err := c.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
			Bucket: aws.String(c.bucket), Key: aws.String(c.prefix + objectID), UploadId: aws.String(multipartID),
		})
		var nsu *types.NoSuchUpload
		if err != nil && !errors.As(err, &nsu) {
			return fmt.Errorf("expire upload %s: abort: %w", objectID, err)
		}
	}
	return c.deleteObjects(ctx, c.prefix+objectID, c.prefix+objectID+".part", c.prefix+objectID+".info")
}

func (c *tusS3) deleteObjects(ctx context.Context, keys ...string) error {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	res, err := c.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
		Bucket: aws.String(c.bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("expire uploads: delete objects: %w", err)
	}
	for _, e := range res.Errors {
		if aws.ToString(e.Code) != "NoSuchKey" {
			return fmt.Errorf("expire uploads: delete %s: %s", aws.ToString(e.Key), aws.ToString(e.Code))
		}
	}
	return nil
}
