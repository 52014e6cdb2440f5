package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/recipes"
)

// newRecipeCmd is bake recipe: list, show and render recipes.
func newRecipeCmd(st Streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "recipe",
		Short: "list, show and render recipes",
		Long: `Recipes describe the state of a server: packages, files, users, services.
bake compiles a recipe to one plain sh script that changes only what differs.
Built-in recipes come with bake; recipes in .hcl files in --dir (default: the
current directory) are found too, and replace built-in ones of the same name.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "directory of the bake file, where recipe .hcl files are found")
	library := func() (*recipes.Library, error) {
		lib, err := recipes.NewLibrary()
		if err != nil {
			return nil, err
		}
		if err := lib.LoadDir(dir); err != nil {
			return nil, bake.BadInput(fmt.Errorf("load recipes from %s: %w", dir, err))
		}
		return lib, nil
	}
	get := func(name string) (*recipes.Library, *recipes.Recipe, error) {
		lib, err := library()
		if err != nil {
			return nil, nil, err
		}
		r, ok := lib.Get(name)
		if !ok {
			return nil, nil, bake.BadInput(lib.Unknown(name, nil))
		}
		return lib, r, nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "list the recipes",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			lib, err := library()
			if err != nil {
				return err
			}
			for _, r := range lib.Recipes() {
				where := "built-in"
				if !r.Builtin {
					where = r.DefRange.Filename
				}
				fmt.Fprintf(st.Out, "%-18s %-10s %s\n", r.Name, where, firstLine(r.Doc))
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "show a recipe's doc, params and source",
		Args:  exactArgs(1, "show NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			_, r, err := get(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(st.Out, "recipe %s (%s)\n\n", r.Name, r.DefRange.Filename)
			if r.Doc != "" {
				fmt.Fprintf(st.Out, "%s\n", strings.TrimRight(r.Doc, "\n"))
			}
			if len(r.Params) > 0 {
				fmt.Fprintf(st.Out, "\nParams:\n")
				for _, p := range r.Params {
					def := "required"
					if !p.Required() {
						def = "default " + recipes.ShowValue(p.Default)
					}
					fmt.Fprintf(st.Out, "  %-16s %s, %s. %s\n", p.Name, recipes.TypeString(p.Type), def, p.Description)
				}
			}
			fmt.Fprintf(st.Out, "\nSource:\n%s", recipes.Slice(r))
			return nil
		},
	}
	var params []string
	render := &cobra.Command{
		Use:   "render NAME [-p key=value]...",
		Short: "print the sh script a recipe compiles to",
		Args:  exactArgs(1, "render NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			lib, _, err := get(args[0])
			if err != nil {
				return err
			}
			pargs := map[string]recipes.Arg{}
			for _, kv := range params {
				k, a, err := recipes.ParseFlag(kv)
				if err != nil {
					return bake.BadInput(err)
				}
				pargs[k] = a
			}
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			if dir != "." {
				wd = dir
			}
			s, err := lib.Compile(args[0], pargs, wd)
			if err != nil {
				return bake.BadInput(fmt.Errorf("compile recipe %s: %w", args[0], err))
			}
			fmt.Fprint(st.Out, s.Text)
			return nil
		},
	}
	render.Flags().StringArrayVarP(&params, "param", "p", nil, "a param, key=value (repeatable)")
	cmd.AddCommand(list, show, render)
	return cmd
}

func exactArgs(n int, usage string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return bake.BadInputf("usage: bake recipe %s", usage)
		}
		return nil
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
