package loss

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Needs says which inputs a registered loss reads besides the logits.
type Needs uint8

const (
	// NeedsLabels: one class index per row (Labels or Labels64).
	NeedsLabels Needs = 1 << iota
	// AcceptsSoftTargets: soft targets the shape of the logits instead of
	// labels.
	AcceptsSoftTargets
	// NeedsTargets: float targets the shape of the logits.
	NeedsTargets
	// NeedsScalarTargets: one float target per row.
	NeedsScalarTargets
	// NeedsTeacher: teacher logits the shape of the logits.
	NeedsTeacher
	// NeedsSequences: time-major logits [T, N, C] with target sequences
	// and their lengths (CTC); evaluated through its own batch method.
	NeedsSequences
)

// Param is one numeric parameter of a registered loss.
type Param struct {
	Name    string
	Default float64
	Doc     string
}

// Spec describes a loss for the registry: how to name it, what it reads
// and how to build it from "key=value" parameters and common Options.
type Spec struct {
	Name    string
	Catalog string // the catalog section it implements ("" for the standard losses)
	Summary string
	Needs   Needs
	Params  []Param
	// New builds the loss; p holds every parameter of Params, defaults
	// filled in.
	New func(p map[string]float64, opts []Option) (Loss, error)
	// Lists names the parameters that take a set of numbers, written
	// "name=a+b+c", with their default sets (the Param's Default is the
	// set's first value). NewLists, when set, builds the loss instead of
	// New, with every set in lists; p holds their first values.
	Lists    map[string][]float64
	NewLists func(p map[string]float64, lists map[string][]float64, opts []Option) (Loss, error)
	// NotClassScores marks a loss whose logits are not one score per
	// class with labels indexing them (ordinal regression's cumulative
	// logits), so accuracy and calibration do not apply.
	NotClassScores bool
}

var registry = map[string]Spec{}

// Register adds a loss to the registry. It panics if the name is taken
// (a programming error caught at start-up).
func Register(s Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("loss: registered twice: " + s.Name)
	}
	registry[s.Name] = s
}

// Specs returns every registered loss, sorted by name.
func Specs() []Spec {
	out := make([]Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the spec of a registered loss.
func Lookup(name string) (Spec, bool) {
	s, ok := registry[name]
	return s, ok
}

// Parse builds a loss from "NAME" or "NAME:key=value,key=value" (for
// example "cross-entropy" or "gce:q=0.7"), with opts applied. An unknown
// name or parameter is an error listing the valid ones.
func Parse(text string, opts ...Option) (Loss, Spec, error) {
	name, rest, _ := strings.Cut(text, ":")
	name = strings.TrimSpace(name)
	s, ok := registry[name]
	if !ok {
		var names []string
		for _, sp := range Specs() {
			names = append(names, sp.Name)
		}
		return nil, Spec{}, fmt.Errorf("loss: unknown loss %q (registered: %s)", name, strings.Join(names, ", "))
	}
	p := map[string]float64{}
	lists := map[string][]float64{}
	for _, prm := range s.Params {
		p[prm.Name] = prm.Default
		if def, ok := s.Lists[prm.Name]; ok {
			lists[prm.Name] = append([]float64(nil), def...)
		}
	}
	if strings.TrimSpace(rest) != "" {
		for _, kv := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if _, known := p[k]; !ok || !known {
				return nil, s, fmt.Errorf("loss %s: bad parameter %q (parameters: %s)", name, strings.TrimSpace(kv), paramList(s))
			}
			parts := []string{v}
			if _, isList := lists[k]; isList {
				parts = strings.Split(v, "+")
			}
			var vals []float64
			for _, part := range parts {
				f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
				if err != nil {
					return nil, s, fmt.Errorf("loss %s: parameter %s: %q is not a number", name, k, strings.TrimSpace(v))
				}
				vals = append(vals, f)
			}
			p[k] = vals[0]
			if _, isList := lists[k]; isList {
				lists[k] = vals
			}
		}
	}
	if s.NewLists != nil {
		l, err := s.NewLists(p, lists, opts)
		return l, s, err
	}
	l, err := s.New(p, opts)
	return l, s, err
}

func paramList(s Spec) string {
	if len(s.Params) == 0 {
		return "none"
	}
	var parts []string
	for _, p := range s.Params {
		if list, ok := s.Lists[p.Name]; ok {
			var vs []string
			for _, v := range list {
				vs = append(vs, fmt.Sprintf("%g", v))
			}
			parts = append(parts, p.Name+"="+strings.Join(vs, "+"))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%g", p.Name, p.Default))
	}
	return strings.Join(parts, ", ")
}

// ParamList formats a spec's parameters with their defaults ("none" if it
// has none).
func (s Spec) ParamList() string { return paramList(s) }

func init() {
	Register(Spec{
		Name:    "cross-entropy",
		Summary: "softmax cross-entropy (PyTorch semantics, z-loss, soft-cap, no Softmax Collapse)",
		Needs:   NeedsLabels | AcceptsSoftTargets,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewCrossEntropy(opts...)
		},
	})
	Register(Spec{
		Name:    "bce",
		Summary: "binary cross-entropy with logits, per element (pos_weight, class weights)",
		Needs:   NeedsTargets,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewBCEWithLogits(opts...)
		},
	})
	Register(Spec{
		Name:    "kd",
		Summary: "distillation: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batchmean",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 1, "softening temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewKD(p["temperature"], opts...)
		},
	})
}
