// Package testenv finds the real services that integration tests talk to:
// PostgreSQL, Redis, MinIO/S3 and ffmpeg. Each finder skips the test with a
// message when the service is not configured, and fails it instead when
// LECTERN_TEST_REQUIRE_SERVICES=1 (as .ci/run sets), so CI cannot pass by
// skipping. Every resource a test gets is its own (a fresh database, a
// leased Redis DB number, a fresh bucket) and is removed by tb.Cleanup.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver for database/sql
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
)

// Required reports whether missing services must fail tests rather than skip them.
func Required() bool { return os.Getenv("LECTERN_TEST_REQUIRE_SERVICES") == "1" }

// unavailable skips tb because the service that need names (a variable
// such as LECTERN_TEST_POSTGRES_URL, or a program such as chromium) is
// missing, or fails it when LECTERN_TEST_REQUIRE_SERVICES=1. Skips are
// counted for the summary line Run prints.
func unavailable(tb testing.TB, need, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s (LECTERN_TEST_REQUIRE_SERVICES=1)", msg)
	}
	skips.add(tb.Name(), need)
	tb.Skip(msg)
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresURL creates a fresh, empty database on the server named by
// LECTERN_TEST_POSTGRES_URL and returns a URL for it. The database is
// dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("LECTERN_TEST_POSTGRES_URL")
	if base == "" {
		unavailable(tb, needPostgres, "LECTERN_TEST_POSTGRES_URL not set; skipping PostgreSQL test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("testenv: open postgres: %v", err)
	}
	defer admin.Close()
	name := "lectern_test_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		unavailable(tb, needPostgres, "testenv: create postgres database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Errorf("testenv: reopen postgres: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("testenv: parse LECTERN_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL leases one of Redis's numbered databases (1–15) on the server
// named by LECTERN_TEST_REDIS_URL, flushes it, and returns a URL for it.
// The lease (a key in DB 0) keeps parallel test binaries apart; the
// database is flushed and released when the test ends.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("LECTERN_TEST_REDIS_URL")
	if base == "" {
		unavailable(tb, needRedis, "LECTERN_TEST_REDIS_URL not set; skipping Redis test")
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		tb.Fatalf("testenv: parse LECTERN_TEST_REDIS_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt.DB = 0
	ctl := redis.NewClient(opt)
	defer ctl.Close()
	if err := ctl.Ping(ctx).Err(); err != nil {
		unavailable(tb, needRedis, "testenv: redis not reachable: %v", err)
	}
	token := randomSuffix()
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("lectern:testenv:lease:%d", n)
			ok, err := ctl.SetNX(ctx, key, token, 15*time.Minute).Result()
			if err != nil {
				tb.Fatalf("testenv: lease redis db: %v", err)
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			flush(tb, &o)
			tb.Cleanup(func() {
				flush(tb, &o)
				c := redis.NewClient(&o)
				defer c.Close()
				c.Do(context.Background(), "SELECT", 0)
				ctl := redis.NewClient(opt)
				defer ctl.Close()
				if v, _ := ctl.Get(context.Background(), key).Result(); v == token {
					ctl.Del(context.Background(), key)
				}
			})
			u, _ := url.Parse(base)
			u.Path = fmt.Sprintf("/%d", n)
			return u.String()
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("testenv: no free redis database within 2 minutes")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func flush(tb testing.TB, o *redis.Options) {
	c := redis.NewClient(o)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		tb.Errorf("testenv: flush redis db %d: %v", o.DB, err)
	}
}

// S3 is where a test's bucket lives.
type S3 struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	UseSSL    bool
	Bucket    string
}

// S3Bucket names a fresh, not yet created bucket on the server named by
// LECTERN_TEST_S3_ENDPOINT (with LECTERN_TEST_S3_ACCESS_KEY and
// LECTERN_TEST_S3_SECRET_KEY). Whatever the test puts there, and the
// bucket itself, are removed when the test ends.
func S3Bucket(tb testing.TB) S3 {
	tb.Helper()
	s := S3{
		Endpoint:  os.Getenv("LECTERN_TEST_S3_ENDPOINT"),
		AccessKey: os.Getenv("LECTERN_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("LECTERN_TEST_S3_SECRET_KEY"),
		UseSSL:    os.Getenv("LECTERN_TEST_S3_USE_SSL") == "true",
		Bucket:    "lectern-test-" + randomSuffix(),
	}
	if s.Endpoint == "" {
		unavailable(tb, needS3, "LECTERN_TEST_S3_ENDPOINT not set; skipping S3 test")
	}
	client, err := minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: s.UseSSL,
	})
	if err != nil {
		tb.Fatalf("testenv: s3 client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.ListBuckets(ctx); err != nil {
		unavailable(tb, needS3, "testenv: s3 at %s not reachable: %v", s.Endpoint, err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if ok, _ := client.BucketExists(ctx, s.Bucket); !ok {
			return
		}
		for obj := range client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = client.RemoveObject(ctx, s.Bucket, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := client.RemoveBucket(ctx, s.Bucket); err != nil {
			tb.Errorf("testenv: remove bucket %s: %v", s.Bucket, err)
		}
	})
	return s
}

// FFmpeg returns the paths of ffmpeg and ffprobe (LECTERN_FFMPEG and
// LECTERN_FFPROBE when set, else from PATH).
func FFmpeg(tb testing.TB) (ffmpeg, ffprobe string) {
	tb.Helper()
	find := func(env, name string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		p, err := exec.LookPath(name)
		if err != nil {
			unavailable(tb, name, "%s not found on PATH; skipping test that needs it", name)
		}
		return p
	}
	return find("LECTERN_FFMPEG", "ffmpeg"), find("LECTERN_FFPROBE", "ffprobe")
}

// Bwrap returns the path of bubblewrap, which runs ffmpeg without network.
func Bwrap(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("bwrap")
	if err != nil {
		unavailable(tb, needBwrap, "bwrap not found on PATH (apt-get install bubblewrap); skipping sandbox test")
	}
	return p
}

// Chromium returns the path of a Chromium browser for browser tests.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{os.Getenv("LECTERN_TEST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(tb, needChromium, "chromium not found; skipping browser test")
	return ""
}

// Name returns a short unique name with the given prefix, for resources a
// test creates (users, courses, keys).
func Name(prefix string) string {
	return strings.TrimSuffix(prefix, "-") + "-" + randomSuffix()
}
