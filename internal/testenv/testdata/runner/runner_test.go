// Package runner is a fixture of summary_test.go: the last package of the
// run, whose only test needs Redis.
package runner

import (
	"os"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestNeedsRedis(t *testing.T) { testenv.RedisURL(t) }
