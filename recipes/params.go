package recipes

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Arg is a value given to a recipe's param, with where it was written:
// Range in a bake file or recipe, or Flag on the command line.
type Arg struct {
	Value cty.Value
	Range hcl.Range
	Flag  string // "-p port=8080"
}

func (a Arg) where() string {
	if a.Flag != "" {
		return a.Flag
	}
	return a.Range.String()
}

func (a Arg) subject() *hcl.Range {
	if a.Range.Filename == "" {
		return nil
	}
	return a.Range.Ptr()
}

// ParseFlag parses a command-line param, k=v. The value is kept as a
// string and converted to the param's type when the recipe is compiled:
// numbers and bools as written, lists and maps as HCL ([\"a\", \"b\"],
// {k = \"v\"}) or, for a list, comma-separated.
func ParseFlag(kv string) (string, Arg, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return "", Arg{}, fmt.Errorf("param %q must be NAME=VALUE", kv)
	}
	return k, Arg{Value: cty.StringVal(v), Flag: "-p " + kv}, nil
}

// flagValue converts a command-line string to t.
func flagValue(s string, t cty.Type) (cty.Value, error) {
	switch {
	case t == cty.String || t == cty.DynamicPseudoType:
		return cty.StringVal(s), nil
	case t == cty.Number:
		return cty.ParseNumberVal(s)
	case t == cty.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%q is not true or false", s)
		}
		return cty.BoolVal(b), nil
	}
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "{") {
		expr, diags := hclsyntax.ParseExpression([]byte(s), "-p", hcl.InitialPos)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("parse %q: %s", s, diags.Error())
		}
		v, diags := expr.Value(nil)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("evaluate %q: %s", s, diags.Error())
		}
		return convert.Convert(v, t)
	}
	if t.IsListType() || t.IsSetType() {
		var vals []cty.Value
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				vals = append(vals, cty.StringVal(p))
			}
		}
		if len(vals) == 0 {
			return convert.Convert(cty.ListValEmpty(cty.String), t)
		}
		return convert.Convert(cty.TupleVal(vals), t)
	}
	return cty.NilVal, fmt.Errorf("write %s values as HCL, e.g. {key = \"value\"}", typeString(t))
}

// bindParams checks args against r's params and fills in the defaults.
// caller is where the recipe was asked for, for a missing param.
func bindParams(r *Recipe, args map[string]Arg, caller *hcl.Range) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	byName := map[string]*Param{}
	var names []string
	for _, p := range r.Params {
		byName[p.Name] = p
		names = append(names, p.Name)
	}
	vals := map[string]cty.Value{}
	given := make([]string, 0, len(args))
	for k := range args {
		given = append(given, k)
	}
	sort.Strings(given)
	for _, k := range given {
		a := args[k]
		p, ok := byName[k]
		if !ok {
			detail := fmt.Sprintf("Recipe %q (%s) takes no param %q, given at %s.", r.Name, r.DefRange, k, a.where())
			if len(names) == 0 {
				detail += " It takes no params."
			} else {
				detail += " Its params are: " + strings.Join(names, ", ") + "."
				if s := nearest(k, names); s != "" {
					detail += fmt.Sprintf(" Did you mean %q?", s)
				}
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "unknown param " + strconv.Quote(k), Detail: detail, Subject: a.subject()})
			continue
		}
		v := a.Value
		if v.IsNull() {
			continue
		}
		var err error
		if a.Flag != "" && v.Type() == cty.String {
			v, err = flagValue(v.AsString(), p.Type)
		} else {
			v, err = convert.Convert(v, p.Type)
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "wrong type for param " + strconv.Quote(k),
				Detail:  fmt.Sprintf("Param %q of recipe %q (%s) is %s; the value at %s is not: %s.", k, r.Name, p.DeclRange, typeString(p.Type), a.where(), err),
				Subject: a.subject()})
			continue
		}
		vals[k] = v
	}
	for _, p := range r.Params {
		if _, ok := vals[p.Name]; ok {
			continue
		}
		if p.Required() {
			if _, bad := args[p.Name]; bad && !args[p.Name].Value.IsNull() {
				continue // already reported
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "missing param " + strconv.Quote(p.Name),
				Detail:  fmt.Sprintf("Recipe %q needs param %q (%s, declared at %s): %s", r.Name, p.Name, typeString(p.Type), p.DeclRange, p.Description),
				Subject: caller})
			continue
		}
		vals[p.Name] = p.Default
	}
	if diags.HasErrors() {
		return nil, diags
	}
	ctx := evalContext(vals)
	for _, p := range r.Params {
		for _, v := range p.Validations {
			ok, d := v.Condition.Value(ctx)
			if d.HasErrors() {
				diags = append(diags, d...)
				continue
			}
			if ok, err := convert.Convert(ok, cty.Bool); err != nil || ok.IsNull() || !ok.IsKnown() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "validation condition is not a bool", Subject: v.Condition.Range().Ptr()})
				continue
			} else if ok.True() {
				continue
			}
			subject := v.Range.Ptr()
			where := ""
			if a, given := args[p.Name]; given {
				if s := a.subject(); s != nil {
					subject = s
				}
				where = " (given at " + a.where() + ")"
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "invalid param " + strconv.Quote(p.Name),
				Detail: fmt.Sprintf("%s%s; checked by %s.", strings.TrimSuffix(v.ErrorMessage, "."), where, v.Range), Subject: subject})
		}
	}
	return vals, diags
}

func evalContext(params map[string]cty.Value) *hcl.EvalContext {
	p := cty.EmptyObjectVal
	if len(params) > 0 {
		p = cty.ObjectVal(params)
	}
	return &hcl.EvalContext{Variables: map[string]cty.Value{"param": p}, Functions: functions()}
}

// functions are the HCL functions recipes can call.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "format": stdlib.FormatFunc,
		"join": stdlib.JoinFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "regex": stdlib.RegexFunc, "split": stdlib.SplitFunc,
		"replace": stdlib.ReplaceFunc, "tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"trimspace": stdlib.TrimSpaceFunc, "values": stdlib.ValuesFunc, "merge": stdlib.MergeFunc,
		"regexall": stdlib.RegexAllFunc, "min": stdlib.MinFunc, "max": stdlib.MaxFunc, "floor": stdlib.FloorFunc,
	}
}

// nearest returns the name in names closest to s, if one is close.
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := levenshtein(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
