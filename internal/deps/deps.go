//go:build deps

// Package deps pins the modules the packages being written in parallel
// will import, so that go.mod does not churn under concurrent work.
// Removed once the packages import them for real.
package deps

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/compose-spec/compose-go/v2/loader"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/hibiken/asynq"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/labstack/echo/v4"
	_ "github.com/labstack/echo/v4/middleware"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/u2takey/ffmpeg-go"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
