package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// RemoveStaleUploads aborts the bucket's incomplete multipart uploads
// whose last part (or start, when they have none) is older than before,
// and returns how many it aborted. A streaming Put that was cut off and
// whose abort did not reach the store (a crash, the store down at that
// moment) leaves one, holding its parts' space until it is aborted.
// Uploads whose keys start with skip are left alone: resumable uploads
// keep theirs, with their own expiry, under such a prefix.
func (s *Store) RemoveStaleUploads(ctx context.Context, before time.Time, skip string) (int, error) {
	core := minio.Core{Client: s.client}
	n := 0
	var errs []error
	keyMarker, idMarker := "", ""
	for {
		res, err := core.ListMultipartUploads(ctx, s.bucket, "", keyMarker, idMarker, "", 1000)
		if err != nil {
			return n, fmt.Errorf("s3: list multipart uploads: %w", err)
		}
		for _, up := range res.Uploads {
			if skip != "" && strings.HasPrefix(up.Key, skip) {
				continue
			}
			last, err := s.lastPart(ctx, core, up)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !last.Before(before) {
				continue
			}
			err = core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID)
			if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchUpload {
				errs = append(errs, fmt.Errorf("s3: abort upload of %s: %w", up.Key, err))
				continue
			}
			n++
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			break
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	return n, errors.Join(errs...)
}

// lastPart is when a multipart upload last received a part, or when it
// started.
func (s *Store) lastPart(ctx context.Context, core minio.Core, up minio.ObjectMultipartInfo) (time.Time, error) {
	last := up.Initiated
	marker := 0
	for {
		res, err := core.ListObjectParts(ctx, s.bucket, up.Key, up.UploadID, marker, 1000)
		if minio.ToErrorResponse(err).Code == minio.NoSuchUpload {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("s3: list parts of %s: %w", up.Key, err)
		}
		for _, p := range res.ObjectParts {
			if p.LastModified.After(last) {
				last = p.LastModified
			}
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return last, nil
		}
		marker = res.NextPartNumberMarker
	}
}
