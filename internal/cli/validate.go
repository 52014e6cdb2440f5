package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	"github.com/bakehq/bake/internal/console"
)

func newValidateCmd(st Streams) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "validate [flags] FILE|DIR",
		Short: "check a bake file without building anything",
		Args:  exactlyOneArg("a bake file or directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := check(cmd.Context(), args[0], f)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(st.Err, "warning: %s\n", w)
			}
			fmt.Fprintln(st.Out, "The configuration is valid.")
			return nil
		},
	}
	f.addLoad(cmd)
	return cmd
}

// check loads a bake and decodes every job as validate does, without
// reading remote data sources or building anything; inspect runs it too,
// so both refuse the same files.
func check(ctx context.Context, path string, f buildFlags) (*config.Config, error) {
	pl := plugins()
	cfg, err := load(ctx, path, f, pl, false)
	if err != nil {
		return nil, err
	}
	if _, err := cfg.Jobs(config.ExpandOptions{Plugins: pl, Version: "validate", BuildTime: time.Now(), RunUUID: "00000000-validate"}); err != nil {
		if msg := bake.NewRedactor(cfg.Secrets()).String(err.Error()); msg != err.Error() {
			return nil, bake.BadInput(errors.New(msg))
		}
		return nil, err
	}
	return cfg, nil
}

func newInspectCmd(st Streams) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "inspect [flags] FILE|DIR",
		Short: "show a bake file's variables, sources and builds",
		Args:  exactlyOneArg("a bake file or directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := check(cmd.Context(), args[0], f)
			if err != nil {
				return err
			}
			w := st.Out
			fmt.Fprintln(w, "variables:")
			for _, v := range cfg.Variables {
				val := bake.Redacted
				if !v.Sensitive {
					val = showCty(v.Value)
				}
				fmt.Fprintf(w, "  var.%s: %s (from %s)\n", v.Name, val, v.From)
			}
			fmt.Fprintln(w, "\nsources:")
			refs := make([]string, 0, len(cfg.Sources))
			for r := range cfg.Sources {
				refs = append(refs, r)
			}
			sort.Strings(refs)
			for _, r := range refs {
				fmt.Fprintf(w, "  source.%s\n", r)
			}
			fmt.Fprintln(w, "\nbuilds:")
			for _, b := range cfg.Builds {
				name := b.Name
				if name == "" {
					name = "(unnamed)"
				}
				fmt.Fprintf(w, "  %s:\n", name)
				if b.Description != "" {
					fmt.Fprintf(w, "    %s\n", b.Description)
				}
				for _, s := range b.Sources {
					fmt.Fprintf(w, "    source.%s (as %s)\n", s.Ref, s.Name)
				}
				for _, p := range b.Provisioners {
					fmt.Fprintf(w, "    %s\n", p.Name())
				}
				if b.Verify != nil {
					fmt.Fprintf(w, "    verify (%s:%d)\n", b.Verify.Range.Filename, b.Verify.Range.Start.Line)
				}
				for _, chain := range b.PostProcessors {
					var names []string
					for _, p := range chain {
						names = append(names, p.Name())
					}
					fmt.Fprintf(w, "    %s\n", strings.Join(names, " -> "))
				}
			}
			return nil
		},
	}
	f.addLoad(cmd)
	return cmd
}

func newFmtCmd(st Streams) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [-check] FILE...",
		Short: "rewrite bake files in the canonical format (-check: exit 3 if any is not)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return bake.BadInputf("bake fmt needs one or more bake files")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			unformatted := 0
			for _, path := range args {
				src, err := os.ReadFile(path)
				if err != nil {
					return bake.BadInputf("fmt: %w", err)
				}
				if _, err := config.ParseOnly(path, src); err != nil {
					return err
				}
				out := hclwrite.Format(src)
				if string(out) == string(src) {
					continue
				}
				unformatted++
				fmt.Fprintln(st.Out, path)
				if check {
					continue
				}
				info, err := os.Stat(path)
				if err != nil {
					return err
				}
				if err := os.WriteFile(path, out, info.Mode()); err != nil {
					return fmt.Errorf("fmt: write %s: %w", path, err)
				}
			}
			if check && unformatted > 0 {
				return &console.ExitError{Code: 3}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "only check; exit 3 when a file needs formatting")
	return cmd
}

func showCty(v interface{ GoString() string }) string {
	return v.GoString()
}
