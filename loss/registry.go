package loss

import (
	"strings"

	"github.com/xentlab/xent/internal/registry"
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

var table = registry.New("loss", func(s Spec) string { return s.Name },
	func(s Spec) []registry.Param { return registry.Convert(s.Params) }, func(s Spec) map[string][]float64 { return s.Lists })

// Register adds a loss to the registry. It panics if the name is taken
// (a programming error caught at start-up).
func Register(s Spec) { table.Register(s) }

// Specs returns every registered loss, sorted by name.
func Specs() []Spec { return table.Specs() }

// Lookup returns the spec of a registered loss.
func Lookup(name string) (Spec, bool) { return table.Lookup(name) }

// Parse builds a loss from "NAME" or "NAME:key=value,key=value" (for
// example "cross-entropy" or "gce:q=0.7"), with opts applied. An unknown
// name or parameter is an error listing the valid ones; errors wrap
// ErrValue (or ErrShape), and the returned Loss is then a nil interface.
func Parse(text string, opts ...Option) (Loss, Spec, error) {
	s, p, lists, err := table.Parse(text)
	if err != nil {
		return nil, s, err
	}
	var l Loss
	if s.NewLists != nil {
		l, err = s.NewLists(p, lists, opts)
	} else {
		l, err = s.New(p, opts)
	}
	if err != nil {
		return nil, s, err
	}
	return l, s, nil
}

// ParseWith is Parse followed by the options that belong to one loss: ce,
// cross-entropy's own (label smoothing, z-loss, soft-capping), and
// posWeight, BCE's. Given for another loss, they are an error wrapping
// ErrValue. The options of ce and posWeight take the place of the same
// parameters in text.
func ParseWith(text string, opts []Option, ce []CrossEntropyOption, posWeight []float64) (Loss, Spec, error) {
	l, s, err := Parse(text, opts...)
	if err != nil {
		return nil, s, err
	}
	if len(ce) > 0 {
		if s.Name != nameCrossEntropy {
			return nil, s, valueErr(s.Name, "label smoothing, z-loss and soft-capping apply to cross-entropy only")
		}
		if l, err = NewCrossEntropy(append(ForCrossEntropy(opts...), ce...)...); err != nil {
			return nil, s, err
		}
	}
	if posWeight != nil {
		if s.Name != nameBce {
			return nil, s, valueErr(s.Name, "pos-weight applies to bce only")
		}
		bce := []BCEOption{WithPosWeight(posWeight)}
		for _, o := range opts {
			bce = append(bce, o)
		}
		if l, err = NewBCEWithLogits(bce...); err != nil {
			return nil, s, err
		}
	}
	return l, s, nil
}

// ParamList formats a spec's parameters with their defaults ("none" if it
// has none).
func (s Spec) ParamList() string { return table.ParamList(s) }

// InputText describes the inputs a spec reads, for listings (the input
// column of xent losses and docs/LOSSES.md).
func (s Spec) InputText() string {
	var parts []string
	for _, in := range []struct {
		need Needs
		text string
	}{
		{NeedsLabels, "labels"},
		{AcceptsSoftTargets, "or soft targets"},
		{NeedsTargets, "float targets [rows, cols]"},
		{NeedsScalarTargets, "float targets [rows]"},
		{NeedsTeacher, "teacher logits"},
		{NeedsSequences, "logits [T, N, C], integer targets [N, S] or [ΣS], input and target lengths [N]"},
	} {
		if s.Needs&in.need != 0 {
			parts = append(parts, in.text)
		}
	}
	return strings.Join(parts, " ")
}
