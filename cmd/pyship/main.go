// Command pyship takes a Python web project from source to a running container.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/pyship/pyship/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
