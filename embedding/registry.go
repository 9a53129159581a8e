package embedding

import (
	"fmt"
	"math"
	"strings"

	"github.com/xentlab/xent/internal/registry"
)

// Needs says which inputs a registered loss reads besides the embeddings.
type Needs uint8

const (
	// NeedsPositives: paired positives [N, Dim].
	NeedsPositives Needs = 1 << iota
	// NeedsLabels: one integer label per row.
	NeedsLabels
	// NeedsClasses: class (proxy) vectors [C, Dim].
	NeedsClasses
	// AcceptsPositives: paired positives are read when given.
	AcceptsPositives
	// AcceptsLabels: labels are read when given.
	AcceptsLabels
	// AcceptsClasses: class vectors are read when given.
	AcceptsClasses
	// NeedsNegatives: paired negatives [N, Dim].
	NeedsNegatives
)

// Param is one numeric parameter of a registered loss (booleans are 0 or
// 1, counts are integers).
type Param struct {
	Name    string
	Default float64
	Doc     string
}

// Spec describes a loss for the registry.
type Spec struct {
	Name    string
	Catalog string // the catalog section it implements ("" for standard losses)
	Summary string
	Needs   Needs
	Params  []Param
	// New builds the loss; p holds every parameter of Params, defaults
	// filled in.
	New func(p map[string]float64) (Loss, error)
}

var table = registry.New("embedding", func(s Spec) string { return s.Name },
	func(s Spec) []registry.Param { return registry.Convert(s.Params) }, nil)

// Register adds a loss to the registry. It panics if the name is taken (a
// programming error caught at start-up).
func Register(s Spec) { table.Register(s) }

// Specs returns every registered loss, sorted by name.
func Specs() []Spec { return table.Specs() }

// Lookup returns the spec of a registered loss.
func Lookup(name string) (Spec, bool) { return table.Lookup(name) }

// Parse builds a loss from "NAME" or "NAME:key=value,key=value" (for
// example "infonce:temperature=0.1,symmetric=1"). An unknown name or
// parameter is an error listing the valid ones; errors wrap ErrValue (or
// ErrShape), and the returned Loss is then a nil interface.
func Parse(text string) (Loss, Spec, error) {
	s, p, _, err := table.Parse(text)
	if err != nil {
		return nil, s, err
	}
	l, err := s.New(p)
	if err != nil {
		return nil, s, err
	}
	return l, s, nil
}

// ParamList formats a spec's parameters with their defaults ("none" if it
// has none).
func (s Spec) ParamList() string { return table.ParamList(s) }

// InputText describes the inputs a spec reads, for listings.
func (s Spec) InputText() string {
	parts := []string{"embeddings [N, D]"}
	add := func(need, accept Needs, what string) {
		switch {
		case s.Needs&need != 0:
			parts = append(parts, what)
		case s.Needs&accept != 0:
			parts = append(parts, "optional "+what)
		}
	}
	add(NeedsPositives, AcceptsPositives, "positives [N, D]")
	add(NeedsNegatives, 0, "negatives [N, D]")
	add(NeedsLabels, AcceptsLabels, "labels [N]")
	add(NeedsClasses, AcceptsClasses, "class vectors [C, D]")
	return strings.Join(parts, ", ")
}

func flag(p map[string]float64, name string) (bool, error) {
	switch p[name] {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("parameter %s = %v, want 0 or 1: %w", name, p[name], ErrValue)
}

func count(p map[string]float64, name string, lo float64) (int, error) {
	v := p[name]
	if v != math.Trunc(v) || v < lo || v > 1<<30 {
		return 0, fmt.Errorf("parameter %s = %v, want an integer ≥ %v: %w", name, v, lo, ErrValue)
	}
	return int(v), nil
}

// temperatureNormalize is the Spec of a loss whose parameters are a
// temperature τ (default tau) and the normalize flag.
func temperatureNormalize[L Loss](name, summary string, needs Needs, tau float64, build func(tau float64, normalize bool) (L, error)) Spec {
	return Spec{
		Name: name, Summary: summary, Needs: needs,
		Params: []Param{{"temperature", tau, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			l, err := build(p["temperature"], norm)
			if err != nil {
				return nil, err
			}
			return l, nil
		},
	}
}
