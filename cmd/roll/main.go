// Command roll moves Auto Scaling group services onto new images. See
// roll/doc.go.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bakehq/bake/roll/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Main(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
