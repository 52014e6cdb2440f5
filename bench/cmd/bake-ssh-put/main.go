// Command bake-ssh-put uploads one file with bake's SSH communicator, the
// way a file provisioner does, for bench/ssh.sh to time against OpenSSH's
// sftp and scp.
//
//	bake-ssh-put -addr 127.0.0.1:2222 -user root -key id_ed25519 \
//	    -known-hosts known_hosts -cipher aes128-gcm@openssh.com SRC DST
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/bakehq/bake/bake"
	sshcomm "github.com/bakehq/bake/communicators/ssh"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bake-ssh-put:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bake-ssh-put", flag.ContinueOnError)
	addr := fs.String("addr", "", "sshd host:port")
	user := fs.String("user", "root", "login")
	key := fs.String("key", "", "private key file")
	knownHosts := fs.String("known-hosts", "", "known_hosts file with the server's key")
	cipher := fs.String("cipher", "", "cipher to use (default: bake's preference)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: bake-ssh-put [flags] SRC DST")
	}
	src, dst := fs.Arg(0), fs.Arg(1)
	opts := []sshcomm.Option{sshcomm.WithKeyFile(*key, ""), sshcomm.WithKnownHosts(*knownHosts), sshcomm.WithTimeout(30 * time.Second)}
	if *cipher != "" {
		opts = append(opts, sshcomm.WithCiphers(*cipher))
	}
	t0 := time.Now()
	c, err := sshcomm.New(ctx, *addr, *user, opts...)
	if os.Getenv("BAKE_BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "connect %s\n", time.Since(t0))
		defer func() { fmt.Fprintf(os.Stderr, "total %s\n", time.Since(t0)) }()
	}
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return errors.Join(err, c.Close())
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return errors.Join(err, c.Close())
	}
	start := time.Now()
	err = c.Upload(ctx, dst, f, bake.FileInfo{Mode: st.Mode(), Size: st.Size(), ModTime: st.ModTime()})
	d := time.Since(start)
	if err != nil {
		return errors.Join(err, c.Close())
	}
	fmt.Fprintf(os.Stderr, "%d bytes in %s: %.0f MiB/s\n", st.Size(), d.Round(time.Millisecond), float64(st.Size())/(1<<20)/d.Seconds())
	return c.Close()
}
