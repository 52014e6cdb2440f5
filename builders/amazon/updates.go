package amazon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bakehq/bake/bake"
	bakeimages "github.com/bakehq/bake/images"
)

// checkTimeout bounds an update check: booting, apt and the SSH session.
// Removing what it made has its own deadlines (undoTimeout).
const checkTimeout = 20 * time.Minute

// CheckUpdates boots ami with the bake's own boot steps (temporary key
// pair, security group admitting only this machine, pinned host keys,
// SSH), asks apt as root which package updates are pending, and removes
// the instance, key pair and security group again, also when the check
// fails, is interrupted or times out. No image is made. It runs after
// Resolve, which made the clients (bake outdated, rebuild
// --check-updates).
func (b *Builder) CheckUpdates(ctx context.Context, ami string, log bake.Log) (u bakeimages.Updates, err error) {
	if b.cl == nil {
		return bakeimages.Updates{}, fmt.Errorf("source %q: check updates in %s: the source was not resolved first", b.cfg.name, ami)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, checkTimeout, fmt.Errorf("the update check of %s timed out after %s", ami, checkTimeout))
	defer cancel()
	st := &state{cfg: b.cfg, cl: b.cl, api: b.cl.in(b.cl.region()), log: log, b: b, sourceAMI: ami, launchAMI: ami, source: b.source,
		bakeID: strings.ReplaceAll(uuid.NewString(), "-", "")[:8]}
	m := &machine{b: b, log: log, st: st, throwaway: true}
	defer func() {
		if derr := m.Destroy(ctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the update check's instance, key pair and security group (tagged %s=%s): %w", TagBake, st.bakeID, derr))
		}
	}()
	log.Info(fmt.Sprintf("starting an instance of %s to count its pending updates", ami))
	if err := m.run(ctx, bootSteps()); err != nil {
		return bakeimages.Updates{}, fmt.Errorf("start %s to check its updates: %w", ami, err)
	}
	tail := bake.NewTail(bake.TailBytes)
	cmd := "/bin/sh -c " + bake.ShellQuote(bakeimages.UpdatesScript)
	code, err := st.comm.Run(ctx, &bake.RemoteCmd{Command: cmd, Stdout: tail, Stderr: tail})
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		}
		return bakeimages.Updates{}, fmt.Errorf("check updates in %s on %s: %w", ami, st.instanceID, err)
	}
	if code != 0 {
		return bakeimages.Updates{}, fmt.Errorf("check updates in %s on %s: %w", ami, st.instanceID, &bake.RunError{
			Step: "update check", Command: "apt-get update && apt-get -s upgrade", ExitCode: code, Output: tail.String(),
			Hint: "can the instance reach its Debian mirror (or the apt proxy the image is configured with)?"})
	}
	u, err = bakeimages.ParseUpdates(tail.String())
	if err != nil {
		return bakeimages.Updates{}, fmt.Errorf("check updates in %s on %s: %w", ami, st.instanceID, err)
	}
	log.Info(fmt.Sprintf("%s: %d updates pending (%d security)", ami, u.Pending, u.Security))
	return u, nil
}
