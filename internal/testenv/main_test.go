package testenv

import (
	"os"
	"testing"
)

// TestMain counts the integration tests skipped for a missing service,
// for the line that ends "go test ./..." (see Run).
func TestMain(m *testing.M) { os.Exit(Run(m)) }
