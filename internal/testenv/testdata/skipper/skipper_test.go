// Package skipper is a fixture of summary_test.go: its tests need
// services that the test leaves unset.
package skipper

import (
	"os"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestNeedsPostgres(t *testing.T) { testenv.PostgresURL(t) }

func TestNeedsS3(t *testing.T) { testenv.S3Bucket(t) }

func TestNeedsNothing(t *testing.T) {}
