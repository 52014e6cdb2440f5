// Package cli is the roll command: roll a service onto a new image, and
// status, promote, pause, resume, abort and history. main only calls
// Main, so every command runs against buffers in tests.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/console"
	"github.com/bakehq/bake/roll"
)

// Streams are the command's standard streams (bake's): stdout is the
// result, stderr is progress.
type Streams = console.Streams

// Exit codes: bake's, and one for a roll that went back to blue.
const (
	ExitOK         = console.ExitOK
	ExitFailed     = console.ExitFailed
	ExitBadInput   = console.ExitBadInput
	ExitRolledBack = 3 // a gate failed or the roll was aborted: traffic is on blue
	ExitLocked     = 4 // another roll of the service is running
)

// Main runs roll with args and returns the exit code.
func Main(ctx context.Context, st Streams, args []string) int {
	err := Run(ctx, st, args)
	code := console.Exit(st.Err, err)
	var rb interface{ RolledBack() bool }
	switch {
	case code != ExitFailed:
	case errors.Is(err, roll.ErrLocked):
		return ExitLocked
	case errors.As(err, &rb):
		return ExitRolledBack
	}
	return code
}

type flags struct {
	service, name string
	json          bool
}

// Run runs roll with args.
func Run(ctx context.Context, st Streams, args []string) error {
	var f flags
	var o roll.Options
	root := &cobra.Command{
		Use:   "roll --service FILE --strategy bluegreen|canary|route53|rolling --image AMI|--version V|--channel C",
		Short: "move a service onto a new image by replacing its servers",
		Long: `roll moves an Auto Scaling group service onto a freshly baked image by
replacing servers, never patching them: blue/green behind an ALB listener,
canary steps with analysis, Route53 weighted records, or rolling batches.
Its state lives on AWS (SSM parameters under /roll/SERVICE/ and tags on the
groups), so re-running a killed roll resumes it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRoll(cmd.Context(), st, f, o)
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return bake.BadInputf("%w (see roll --help)", err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&f.service, "service", "", "the service definition file (NAME.roll.hcl)")
	pf.StringVar(&f.name, "name", "", "the service in the file, when it defines several")
	pf.BoolVar(&f.json, "json", false, "print progress as JSON events, one per line, on stdout")
	root.Flags().StringVar(&o.Strategy, "strategy", roll.BlueGreen, "bluegreen, canary, route53 or rolling")
	root.Flags().StringVar(&o.Image, "image", "", "the AMI id to roll to")
	root.Flags().StringVar(&o.Version, "version", "", "roll to the newest image bake baked with version V (tag org.opencontainers.image.version)")
	root.Flags().StringVar(&o.Channel, "channel", "", "roll to the AMI bake promote recorded for channel C: SSM /bake/IMAGE/C (the service's image), or --channel NAME/C")

	simple := func(use, short string, run func(context.Context, *roll.Roller) (any, error)) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, SilenceUsage: true, SilenceErrors: true,
			RunE: func(cmd *cobra.Command, _ []string) error {
				r, rep, err := roller(cmd.Context(), st, f)
				if err != nil {
					return err
				}
				out, err := run(cmd.Context(), r)
				rep.Close()
				if err != nil {
					return err
				}
				return show(st, f, out)
			}}
	}
	var abortWait time.Duration
	abort := simple("abort", "point traffic back at blue and delete green", func(ctx context.Context, r *roll.Roller) (any, error) {
		return r.Abort(ctx, abortWait)
	})
	abort.Flags().DurationVar(&abortWait, "wait", 2*time.Minute, "how long to wait for a running roll to abort")
	root.AddCommand(
		simple("status", "show the roll in progress, traffic and groups", func(ctx context.Context, r *roll.Roller) (any, error) { return r.Status(ctx) }),
		simple("history", "show which image each roll moved from and to, and when", func(ctx context.Context, r *roll.Roller) (any, error) {
			h, err := r.History(ctx)
			return historyView(h), err
		}),
		simple("promote", "let a roll waiting at a manual step go on", control(roll.ControlPromote)),
		simple("pause", "hold a running roll at its current step", control(roll.ControlPause)),
		simple("resume", "resume a paused roll", control(roll.ControlResume)),
		abort,
	)
	root.SetArgs(args)
	root.SetIn(st.In)
	root.SetOut(st.Out)
	root.SetErr(st.Err)
	return root.ExecuteContext(ctx)
}

func control(cmd string) func(context.Context, *roll.Roller) (any, error) {
	return func(ctx context.Context, r *roll.Roller) (any, error) {
		s, err := r.Control(ctx, cmd)
		if err != nil {
			return nil, err
		}
		return message(fmt.Sprintf("sent %s to roll %s", cmd, s.ID)), nil
	}
}

type message string

func (m message) String() string { return string(m) + "\n" }

type historyView []roll.HistoryEntry

func (h historyView) String() string {
	if len(h) == 0 {
		return "no rolls yet\n"
	}
	s := ""
	for _, e := range h {
		s += fmt.Sprintf("%s  %s  %-10s %-11s %s -> %s", e.Ended.Format(time.RFC3339), e.ID, e.Strategy, e.Outcome, orDash(e.From), e.To)
		if e.CutoverMS > 0 {
			s += fmt.Sprintf("  cutover %dms", e.CutoverMS)
		}
		if e.Reason != "" {
			s += "  (" + e.Reason + ")"
		}
		s += "\n"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func show(st Streams, f flags, v any) error {
	if f.json {
		enc := json.NewEncoder(st.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if s, ok := v.(fmt.Stringer); ok {
		_, err := fmt.Fprint(st.Out, s.String())
		return err
	}
	return nil
}

// roller loads the service and the AWS configuration.
func roller(ctx context.Context, st Streams, f flags) (*roll.Roller, console.Reporter, error) {
	if f.service == "" {
		return nil, nil, bake.BadInputf("say which service with --service FILE (a %s file)", roll.FileSuffix)
	}
	svc, err := roll.Load(f.service, f.name)
	if err != nil {
		return nil, nil, err
	}
	var opts []func(*config.LoadOptions) error
	if svc.Region != "" {
		opts = append(opts, config.WithRegion(svc.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	progress := st.Err
	if f.json {
		progress = st.Out
	}
	rep := console.NewReporter(progress, f.json, !f.json && console.IsTerminal(st.Err))
	return roll.New(svc, roll.NewClients(cfg), rep), rep, nil
}

func runRoll(ctx context.Context, st Streams, f flags, o roll.Options) error {
	r, rep, err := roller(ctx, st, f)
	if err != nil {
		return err
	}
	sum, err := r.Roll(ctx, o)
	rep.Close()
	if sum != nil {
		if f.json {
			b, _ := json.Marshal(map[string]any{"type": "summary", "time": time.Now().UTC(), "summary": summaryJSON(sum)}) // plain values: cannot fail
			fmt.Fprintln(st.Out, string(b))
		} else {
			fmt.Fprint(st.Out, sum.String())
		}
	}
	return err
}

func summaryJSON(s *roll.Summary) map[string]any {
	return map[string]any{
		"id": s.ID, "service": s.Service, "strategy": s.Strategy, "from": s.From, "to": s.To, "group": s.Group,
		"outcome": s.Outcome, "reason": s.Reason, "green_healthy_ms": s.GreenHealthy.Milliseconds(),
		"cutover_ms": s.Cutover.Milliseconds(), "rollback_ms": s.Rollback.Milliseconds(), "total_ms": s.Total.Milliseconds(),
	}
}
