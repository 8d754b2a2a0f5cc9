package disk_test

import (
	"os"
	"testing"

	"github.com/lectern/lectern/internal/testenv"
)

// TestMain counts the integration tests skipped for a missing service,
// for the line that ends "go test ./..." (see testenv.Run).
func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
