package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/pyship/pyship/internal/cli"
)

// TestMain lets this test binary act as pyship: the gateway container that the
// platform tests start runs the binary that started it ("pyship gateway serve").
func TestMain(m *testing.M) {
	if os.Getenv("PYSHIP_MAIN") == "1" {
		os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
