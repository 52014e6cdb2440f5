package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at link time (-ldflags "-X .../cli.Version=v0.1.0").
var Version = "dev"

func newVersionCmd(st Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print bake's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(st.Out, "bake %s%s %s/%s\n", Version, rev, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
