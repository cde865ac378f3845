// Command pyship takes a Python web project from source to a running container.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pyship/pyship/internal/cli"
)

// The gateway container runs this binary as "pyship gateway serve ..."; SIGTERM (docker
// stop) must end it gracefully, as it does for the other long-running commands.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
