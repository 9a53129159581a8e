package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/xerr"
)

type spec struct {
	name   string
	params []Param
	lists  map[string][]float64
}

func newTable() *Table[spec] {
	t := New("test", func(s spec) string { return s.name }, func(s spec) []Param { return s.params },
		func(s spec) map[string][]float64 { return s.lists })
	t.Register(spec{name: "b", params: []Param{{Name: "x", Default: 1.5}, {Name: "n", Default: 1}},
		lists: map[string][]float64{"n": {1, 2}}})
	t.Register(spec{name: "a"})
	return t
}

func TestTable(t *testing.T) {
	tb := newTable()
	if got := tb.Specs(); len(got) != 2 || got[0].name != "a" || got[1].name != "b" {
		t.Fatalf("Specs = %v, want a then b", got)
	}
	if _, ok := tb.Lookup("c"); ok {
		t.Error("Lookup found an unregistered name")
	}
	s, p, lists, err := tb.Parse(" b : x = -2 , n=3+4+5")
	if err != nil || s.name != "b" {
		t.Fatalf("Parse: %v %v", s, err)
	}
	if !reflect.DeepEqual(p, map[string]float64{"x": -2, "n": 3}) || !reflect.DeepEqual(lists, map[string][]float64{"n": {3, 4, 5}}) {
		t.Errorf("Parse: params %v lists %v", p, lists)
	}
	_, p, lists, err = tb.Parse("b")
	if err != nil || !reflect.DeepEqual(p, map[string]float64{"x": 1.5, "n": 1}) || !reflect.DeepEqual(lists, map[string][]float64{"n": {1, 2}}) {
		t.Errorf("defaults: %v %v %v", p, lists, err)
	}
	// The defaults are copied: changing a parsed set leaves them alone.
	lists["n"][0] = 99
	if _, _, l2, _ := tb.Parse("b"); l2["n"][0] != 1 {
		t.Error("Parse shares the default set")
	}
	if got := tb.ParamList(s); got != "x=1.5, n=1+2" {
		t.Errorf("ParamList = %q", got)
	}
	if got := tb.ParamList(spec{name: "a"}); got != "none" {
		t.Errorf("ParamList of no parameters = %q", got)
	}
	for _, bad := range []struct{ text, mention string }{
		{"c", "registered: a, b"},
		{"b:y=1", "x=1.5, n=1+2"},
		{"b:x", "bad parameter"},
		{"b:x=1,", "bad parameter"},
		{"b:x=one", "not a number"},
		{"b:n=1+z", "not a number"},
	} {
		_, _, _, err := tb.Parse(bad.text)
		if err == nil || !strings.Contains(err.Error(), bad.mention) || !errors.Is(err, xerr.ErrValue) {
			t.Errorf("%q: err %v, want one mentioning %q and wrapping ErrValue", bad.text, err, bad.mention)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	for _, name := range []string{"a", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			newTable().Register(spec{name: name})
		}()
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a", "b:x=1", "b:n=1+2+3", "b:x=1,n=2", "c", "b:", ":", "b:x=1e400", "b:n=+"} {
		f.Add(s)
	}
	tb := newTable()
	f.Fuzz(func(t *testing.T, text string) {
		s, p, lists, err := tb.Parse(text)
		if err != nil {
			if !errors.Is(err, xerr.ErrValue) {
				t.Fatalf("%q: %v does not wrap ErrValue", text, err)
			}
			return
		}
		if len(p) != len(s.params) {
			t.Fatalf("%q: %d parameters for a spec with %d", text, len(p), len(s.params))
		}
		for k, set := range lists {
			if len(set) == 0 || set[0] != p[k] {
				t.Fatalf("%q: set %s = %v, first value %v", text, k, set, p[k])
			}
		}
	})
}
