// Package registry is the name table behind loss.Register and
// embedding.Register: one map from a loss's name to its spec, the
// "NAME:key=value,key=value" parser both packages accept, and the
// formatting of parameter lists for listings.
package registry

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/xerr"
)

// Param is one numeric parameter of a registered loss.
type Param struct {
	Name    string
	Default float64
	Doc     string
}

// Convert copies parameters declared with Param's fields (each public
// package declares its own Param, for its documentation) into Params.
func Convert[P ~struct {
	Name    string
	Default float64
	Doc     string
}](ps []P) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param(p)
	}
	return out
}

// Table maps names to specs. The zero Table is not ready: use New.
type Table[S any] struct {
	kind   string // "loss", "embedding": the prefix of errors and panics
	key    func(S) string
	params func(S) []Param
	lists  func(S) map[string][]float64
	m      map[string]S
}

// New returns an empty table whose messages start with kind. key gives a
// spec's name, params its numeric parameters in listing order, and lists
// (nil if no spec has any) the parameters that take a set of numbers,
// written "name=a+b+c", with their default sets.
func New[S any](kind string, key func(S) string, params func(S) []Param, lists func(S) map[string][]float64) *Table[S] {
	if lists == nil {
		lists = func(S) map[string][]float64 { return nil }
	}
	return &Table[S]{kind: kind, key: key, params: params, lists: lists, m: map[string]S{}}
}

// Register adds s. It panics if the name is taken or empty (a programming
// error caught at start-up).
func (t *Table[S]) Register(s S) {
	name := t.key(s)
	if name == "" {
		panic(t.kind + ": registered a loss without a name")
	}
	if _, dup := t.m[name]; dup {
		panic(t.kind + ": registered twice: " + name)
	}
	t.m[name] = s
}

// Specs returns every spec, sorted by name.
func (t *Table[S]) Specs() []S {
	out := make([]S, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return t.key(out[i]) < t.key(out[j]) })
	return out
}

// Lookup returns the spec registered under name.
func (t *Table[S]) Lookup(name string) (S, bool) {
	s, ok := t.m[name]
	return s, ok
}

// Parse reads "NAME" or "NAME:key=value,key=value". It returns the spec,
// every parameter (defaults filled in; a set parameter holds its set's
// first value) and every set parameter's numbers. Errors wrap
// xerr.ErrValue and list the valid names or parameters.
func (t *Table[S]) Parse(text string) (S, map[string]float64, map[string][]float64, error) {
	name, rest, _ := strings.Cut(text, ":")
	name = strings.TrimSpace(name)
	s, ok := t.m[name]
	if !ok {
		var names []string
		for _, sp := range t.Specs() {
			names = append(names, t.key(sp))
		}
		var zero S
		return zero, nil, nil, fmt.Errorf("%s: unknown loss %q (registered: %s): %w", t.kind, name, strings.Join(names, ", "), xerr.ErrValue)
	}
	sets := t.lists(s)
	p := map[string]float64{}
	lists := map[string][]float64{}
	for _, prm := range t.params(s) {
		p[prm.Name] = prm.Default
		if def, ok := sets[prm.Name]; ok {
			lists[prm.Name] = append([]float64(nil), def...)
		}
	}
	if strings.TrimSpace(rest) == "" {
		return s, p, lists, nil
	}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if _, known := p[k]; !ok || !known {
			return s, nil, nil, fmt.Errorf("loss %s: bad parameter %q (parameters: %s): %w", name, strings.TrimSpace(kv), t.ParamList(s), xerr.ErrValue)
		}
		parts := []string{v}
		_, isList := lists[k]
		if isList {
			parts = strings.Split(v, "+")
		}
		vals := make([]float64, 0, len(parts))
		for _, part := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
			if err != nil {
				return s, nil, nil, fmt.Errorf("loss %s: parameter %s: %q is not a number: %w", name, k, strings.TrimSpace(v), xerr.ErrValue)
			}
			vals = append(vals, f)
		}
		p[k] = vals[0]
		if isList {
			lists[k] = vals
		}
	}
	return s, p, lists, nil
}

// ParamList formats a spec's parameters with their defaults, sets as
// "name=a+b+c" ("none" if it has none).
func (t *Table[S]) ParamList(s S) string {
	params := t.params(s)
	if len(params) == 0 {
		return "none"
	}
	sets := t.lists(s)
	parts := make([]string, 0, len(params))
	for _, p := range params {
		if list, ok := sets[p.Name]; ok {
			vs := make([]string, len(list))
			for i, v := range list {
				vs[i] = fmt.Sprintf("%g", v)
			}
			parts = append(parts, p.Name+"="+strings.Join(vs, "+"))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%g", p.Name, p.Default))
	}
	return strings.Join(parts, ", ")
}
