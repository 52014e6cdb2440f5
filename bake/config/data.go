package config

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Data is a `data "TYPE" "NAME"` block and the value it read.
type Data struct {
	Type, Name string
	Body       hcl.Body
	Range      hcl.Range
	TypeRange  hcl.Range
	// Value is data.TYPE.NAME: what the source read, or an unknown value
	// of its type when it was not run (validate) or failed.
	Value cty.Value
	// Executed says the source ran (Value is what it read).
	Executed bool
}

// Ref is the block's reference form, TYPE.NAME.
func (d *Data) Ref() string { return d.Type + "." + d.Name }

// sensitiveMark marks values that must not be shown: those of sensitive
// data sources and of sensitive().
const sensitiveMark = "sensitive"

// node is a local or a data block in the graph they form together.
type node struct {
	key   string // local.NAME or data.TYPE.NAME
	what  string // how a message names it: local "x", data "http" "y"
	rng   hcl.Range
	deps  []string
	local *Local
	data  *Data
}

// evalLocalsAndData evaluates locals and data blocks in dependency order,
// as Packer does: a local may use data.T.N and a data block local.x, but
// no cycle. A block that fails (or is in a cycle) gets an unknown value,
// so that what uses it adds no error of its own and the others are still
// reported.
func (c *Config) evalLocalsAndData(o Options) hcl.Diagnostics {
	nodes := map[string]*node{}
	for name, l := range c.Locals {
		nodes["local."+name] = &node{key: "local." + name, what: fmt.Sprintf("local %q", name), rng: l.Range, local: l, deps: refs(exprVariables(l.Expr))}
	}
	for ref, d := range c.Data {
		nodes["data."+ref] = &node{key: "data." + ref, what: fmt.Sprintf("data %q %q", d.Type, d.Name), rng: d.Range, data: d, deps: refs(bodyVariables(d.Body))}
	}
	order, diags := topoSort(nodes)
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	for _, n := range order {
		switch {
		case n.local != nil:
			val, d := n.local.Expr.Value(c.EvalContext(nil))
			diags = append(diags, d...)
			if d.HasErrors() {
				val = cty.DynamicVal
			}
			n.local.Value = val
		case n.data != nil:
			diags = append(diags, c.readData(ctx, o, n.data, nodes)...)
		}
	}
	return diags
}

// readData decodes a data block with its plugin and runs it when it
// should: always under bake build, only LocalData ones otherwise, and
// never when its inputs are unknown.
func (c *Config) readData(ctx context.Context, o Options, d *Data, nodes map[string]*node) hcl.Diagnostics {
	d.Value = cty.DynamicVal
	newDS, ok := o.Plugins.DataSources[d.Type]
	if !ok {
		return hcl.Diagnostics{errorf(d.TypeRange.Ptr(), "Unknown data source type",
			"data source type %q is not one bake has; it has: %s", d.Type, orNone(slices.Sorted(maps.Keys(o.Plugins.DataSources))))}
	}
	ectx := c.EvalContext(nil)
	ds, diags := newDS(c.decodeContext(d.Body, ectx, d.Range, d.Name))
	if ds == nil || diags.HasErrors() {
		if ds != nil {
			d.Value = cty.UnknownVal(ds.OutputType())
		}
		return diags
	}
	d.Value = cty.UnknownVal(ds.OutputType())
	local := false
	if l, ok := ds.(bake.LocalData); ok {
		local = l.LocalOnly()
	}
	if !(o.ExecuteData || local) || !inputsKnown(bodyVariables(d.Body), ectx) {
		return diags
	}
	val, err := ds.Execute(ctx)
	if err != nil {
		return append(diags, errorf(d.Range.Ptr(), "Data source failed", "data %q %q: %s", d.Type, d.Name, err))
	}
	if s, ok := ds.(bake.SensitiveData); ok && s.Sensitive() {
		val = val.Mark(sensitiveMark)
	}
	d.Value, d.Executed = val, true
	return diags
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// inputsKnown reports whether every reference evaluates to a wholly known
// value (one that comes from an unread data source does not).
func inputsKnown(ts []hcl.Traversal, ctx *hcl.EvalContext) bool {
	for _, t := range ts {
		v, diags := t.TraverseAbs(ctx)
		if diags.HasErrors() {
			continue
		}
		if !v.IsWhollyKnown() {
			return false
		}
	}
	return true
}

// refs are the graph keys (local.NAME, data.TYPE.NAME) that traversals
// refer to.
func refs(ts []hcl.Traversal) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range ts {
		var key string
		switch t.RootName() {
		case "local":
			if len(t) > 1 {
				if a, ok := t[1].(hcl.TraverseAttr); ok {
					key = "local." + a.Name
				}
			}
		case "data":
			if len(t) > 2 {
				a1, ok1 := t[1].(hcl.TraverseAttr)
				a2, ok2 := t[2].(hcl.TraverseAttr)
				if ok1 && ok2 {
					key = "data." + a1.Name + "." + a2.Name
				}
			}
		}
		if key != "" && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

func exprVariables(e hcl.Expression) []hcl.Traversal { return e.Variables() }

// bodyVariables are the references of every expression in a body and
// its nested blocks (dynamic blocks included).
func bodyVariables(body hcl.Body) []hcl.Traversal {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		attrs, _ := body.JustAttributes()
		var out []hcl.Traversal
		for _, a := range attrs {
			out = append(out, a.Expr.Variables()...)
		}
		return out
	}
	var out []hcl.Traversal
	for _, a := range sb.Attributes {
		out = append(out, a.Expr.Variables()...)
	}
	for _, b := range sb.Blocks {
		out = append(out, bodyVariables(b.Body)...)
	}
	return out
}

// topoSort orders nodes so that each comes after what it uses; nodes
// in a cycle are left out with one error per cycle naming its blocks.
func topoSort(nodes map[string]*node) ([]*node, hcl.Diagnostics) {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []*node
	var diags hcl.Diagnostics
	var stack []string
	var visit func(key string) bool // false: in a cycle
	visit = func(key string) bool {
		n := nodes[key]
		switch state[key] {
		case done:
			return true
		case visiting:
			i := len(stack) - 1
			for i > 0 && stack[i] != key {
				i--
			}
			cycle := append(append([]string{}, stack[i:]...), key)
			var names []string
			summary := "Local value cycle"
			for _, k := range stack[i:] {
				names = append(names, nodes[k].what)
				if nodes[k].data != nil {
					summary = "Cycle between locals and data"
				}
			}
			diags = append(diags, errorf(n.rng.Ptr(), summary,
				"%s refer to each other (%s): break the cycle", strings.Join(names, " and "), strings.Join(cycle, " -> ")))
			return false
		}
		state[key] = visiting
		stack = append(stack, key)
		ok := true
		for _, dep := range n.deps {
			if _, exists := nodes[dep]; exists && !visit(dep) {
				ok = false
			}
		}
		stack = stack[:len(stack)-1]
		state[key] = done
		if ok {
			order = append(order, n)
		} else {
			// Unknown, so that what uses it adds no error.
			if n.local != nil {
				n.local.Value = cty.DynamicVal
			} else {
				n.data.Value = cty.DynamicVal
			}
		}
		return ok
	}
	for _, k := range slices.Sorted(maps.Keys(nodes)) {
		visit(k)
	}
	return order, diags
}
