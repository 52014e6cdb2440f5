// Package ci checks the CI definitions under docs/ci: every bake and roll
// command they run parses with this tree's CLIs. sharding_test.go lints
// them with actionlint and checks the sharded nightly's files.
package ci

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/cli"
	rollcli "github.com/bakehq/bake/roll/cli"
)

func workflows(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the CI definitions here: %v %v", files, err)
	}
	return files
}

// numericVars are the shell variables the workflows pass to numeric
// flags, with a value of the kind their jobs give them.
var numericVars = map[string]string{"$SHARDS": "4"}

// TestCommandsParse runs every bake and roll command line of the
// workflows with --help: an unknown command or flag fails.
func TestCommandsParse(t *testing.T) {
	t.Parallel()
	n := 0
	for _, f := range workflows(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range commandLines(string(b)) {
			words := shellWords(line)
			for i, w := range words {
				// A shell variable holding a number, as the job sets it.
				if v, ok := numericVars[w]; ok {
					words[i] = v
				}
			}
			if len(words) == 0 || (words[0] != "bake" && words[0] != "roll") {
				continue
			}
			n++
			var out, errb bytes.Buffer
			st := cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}
			args := append(words[1:], "--help")
			if words[0] == "bake" {
				err = cli.Run(context.Background(), st, args)
			} else {
				err = rollcli.Run(context.Background(), st, args)
			}
			if err != nil {
				t.Errorf("%s: %s: %v", f, line, err)
			}
			if words[0] == "bake" && len(words) > 1 && !strings.Contains(out.String(), "bake "+words[1]) {
				t.Errorf("%s: %s: not a bake command (help says %q)", f, line, firstLine(out.String()))
			}
		}
	}
	if n < 8 {
		t.Errorf("found only %d bake/roll commands in the workflows", n)
	}
}

// commandLines returns the trimmed lines of the file with backslash
// continuations joined and a leading "- run:" or "run:" removed.
func commandLines(s string) []string {
	var out []string
	var cur string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		for _, p := range []string{"- run:", "run:"} {
			l = strings.TrimSpace(strings.TrimPrefix(l, p))
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// shellWords splits a command line on blanks, keeping quoted strings
// whole and dropping the quotes; it stops at a shell operator.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote := rune(0)
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case r == '|' || r == ';' || r == '&' || r == '>' || r == '<':
			if in {
				words = append(words, cur.String())
			}
			return words
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
