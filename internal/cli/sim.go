package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSimCmd is owned by the local-cloud work (issue 9); until it lands the
// command says so.
func newSimCmd(st Streams) *cobra.Command {
	return &cobra.Command{
		Use:    "sim",
		Short:  "serve a local AWS cloud (not yet built)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("bake sim is not built yet")
		},
	}
}
