// Command bake bakes versioned machine images. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bakehq/bake/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Main(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
