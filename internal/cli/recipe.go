package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRecipeCmd is owned by the recipes work (issue 4); until it lands the
// command says so.
func newRecipeCmd(st Streams) *cobra.Command {
	return &cobra.Command{
		Use:    "recipe",
		Short:  "list, show and render recipes (not yet built)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("bake recipe is not built yet")
		},
	}
}
