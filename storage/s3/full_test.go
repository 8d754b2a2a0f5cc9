package s3_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/storage/s3"
)

// TestPutWhenMinIOIsFull fills a real MinIO whose drive is a small
// filesystem: the Put it refuses for want of space is an ENOSPACE error
// whose message names no endpoint, bucket or path.
func TestPutWhenMinIOIsFull(t *testing.T) {
	addr := testenv.MinIOOnSmallDisk(t, 48<<20)
	s, err := s3.New(t.Context(), s3.Config{Endpoint: addr, AccessKey: testenv.MinIOAccessKey, SecretKey: testenv.MinIOSecretKey, Bucket: "lectern"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		_, err := s.Put(t.Context(), "lessons/l/source/"+string(rune('a'+i)), bytes.NewReader(make([]byte, 4<<20)))
		if err == nil {
			if i > 20 {
				t.Fatal("80 MiB stored on a 48 MiB drive")
			}
			continue
		}
		if lectern.ErrorCode(err) != lectern.ENOSPACE {
			t.Fatalf("Put on a full MinIO: %v, want ENOSPACE", err)
		}
		if msg := lectern.ErrorMessage(err); strings.Contains(msg, addr) || strings.Contains(msg, "lectern/") || strings.Contains(msg, "/") {
			t.Errorf("message %q shows an address or path", msg)
		}
		break
	}
}
