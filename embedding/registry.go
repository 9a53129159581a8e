package embedding

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
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

var registry = map[string]Spec{}

// Register adds a loss to the registry. It panics if the name is taken (a
// programming error caught at start-up).
func Register(s Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("embedding: registered twice: " + s.Name)
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
// example "infonce:temperature=0.1,symmetric=1"). An unknown name or
// parameter is an error listing the valid ones.
func Parse(text string) (Loss, Spec, error) {
	name, rest, _ := strings.Cut(text, ":")
	name = strings.TrimSpace(name)
	s, ok := registry[name]
	if !ok {
		var names []string
		for _, sp := range Specs() {
			names = append(names, sp.Name)
		}
		return nil, Spec{}, fmt.Errorf("embedding: unknown loss %q (registered: %s)", name, strings.Join(names, ", "))
	}
	p := map[string]float64{}
	for _, prm := range s.Params {
		p[prm.Name] = prm.Default
	}
	if strings.TrimSpace(rest) != "" {
		for _, kv := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if _, known := p[k]; !ok || !known {
				return nil, s, fmt.Errorf("loss %s: bad parameter %q (parameters: %s)", name, strings.TrimSpace(kv), s.ParamList())
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, s, fmt.Errorf("loss %s: parameter %s: %q is not a number", name, k, strings.TrimSpace(v))
			}
			p[k] = f
		}
	}
	l, err := s.New(p)
	return l, s, err
}

// ParamList formats a spec's parameters with their defaults ("none" if it
// has none).
func (s Spec) ParamList() string {
	if len(s.Params) == 0 {
		return "none"
	}
	var parts []string
	for _, p := range s.Params {
		parts = append(parts, fmt.Sprintf("%s=%g", p.Name, p.Default))
	}
	return strings.Join(parts, ", ")
}

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

func init() {
	Register(Spec{
		Name:    "infonce",
		Summary: "InfoNCE with in-batch negatives on cosine similarities; symmetric=1 is CLIP's loss",
		Needs:   NeedsPositives | AcceptsLabels,
		Params: []Param{{"temperature", 0.07, "τ > 0"}, {"symmetric", 0, "1: average with the column loss (CLIP)"},
			{"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			sym, err := flag(p, "symmetric")
			if err != nil {
				return nil, err
			}
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			return NewInfoNCE(p["temperature"], sym, norm)
		},
	})
	Register(Spec{
		Name:    "triplet-margin",
		Summary: "PyTorch's triplet_margin_loss max(0, ‖a − p + ε‖_p − ‖a − n + ε‖_p + margin) on explicit negatives",
		Needs:   NeedsPositives | NeedsNegatives,
		Params: []Param{{"margin", 1, "margin m"}, {"p", 2, "norm degree p ≥ 1"}, {"eps", 1e-6, "ε added to each difference"},
			{"swap", 0, "1: the distance swap, min(d(a, n), d(p, n))"}},
		New: func(p map[string]float64) (Loss, error) {
			swap, err := flag(p, "swap")
			if err != nil {
				return nil, err
			}
			return NewTripletMargin(p["margin"], p["p"], p["eps"], swap)
		},
	})
	Register(Spec{
		Name:    "nt-xent",
		Summary: "SimCLR's NT-Xent: 2N views, each against all other views",
		Needs:   NeedsPositives | AcceptsLabels,
		Params:  []Param{{"temperature", 0.5, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			return NewNTXent(p["temperature"], norm)
		},
	})
	Register(Spec{
		Name:    "supcon",
		Summary: "supervised contrastive loss (SupCon L_out): every other view with the anchor's label is a positive",
		Needs:   AcceptsPositives | AcceptsLabels,
		Params:  []Param{{"temperature", 0.07, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			return NewSupCon(p["temperature"], norm)
		},
	})
	Register(Spec{
		Name:    "nt-xent-labels",
		Summary: "NT-Xent over label groups (Optax's ntxent): each same-label pair against the anchor's negatives",
		Needs:   AcceptsPositives | AcceptsLabels,
		Params:  []Param{{"temperature", 0.07, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			return NewNTXentLabels(p["temperature"], norm)
		},
	})
	Register(Spec{
		Name:    "cacr",
		Catalog: "A1",
		Summary: "contrastive attraction/repulsion with softmax weights inside the positive and negative groups",
		Needs:   AcceptsPositives | AcceptsLabels,
		Params: []Param{{"tau_pos", 1, "τ⁺ ≥ 0"}, {"tau_neg", 1, "τ⁻ ≥ 0"}, {"alpha", 1, "attraction weight"},
			{"beta", 1, "repulsion weight"}, {"normalize", 1, "1: L2-normalise the rows"},
			{"all_negatives", 0, "0: the official views (negatives from the other view, repulsion averaged over view pairs); 1: every view of the other items, one mean over all anchors"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			all, err := flag(p, "all_negatives")
			if err != nil {
				return nil, err
			}
			for _, k := range []string{"tau_pos", "tau_neg", "alpha", "beta"} {
				if err := param("cacr", k, p[k], p[k] >= 0); err != nil {
					return nil, err
				}
			}
			return &CACR{p["tau_pos"], p["tau_neg"], p["alpha"], p["beta"], norm, all}, nil
		},
	})
	dexml := func(name string, topk bool) Spec {
		s := Spec{
			Name:    name,
			Catalog: "A7",
			Needs:   AcceptsPositives | AcceptsLabels | AcceptsClasses,
			Params: []Param{{"temperature", 0.05, "τ > 0"}, {"normalize", 1, "1: L2-normalise the rows"},
				{"sample", 0, "1: draw positives by relevance at every evaluation, as the official training (seeded); 0: deterministic"},
				{"seed", 0, "seed of the draws (an integer ≥ 0)"}},
		}
		if topk {
			s.Summary = "DEXML soft top-k: −log of a differentiable top-k membership of the positives"
			s.Params = append(s.Params, Param{"k", 5, "0 < k < pool size; 0: the official num_pos, ⌈Σ relevance⌉ per query"}, Param{"alpha", 2, "sharpness α > 0"})
		} else {
			s.Summary = "DEXML decoupled softmax: InfoNCE without the other positives in each denominator"
		}
		s.New = func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			if err := param(name, "temperature", p["temperature"], p["temperature"] > 0); err != nil {
				return nil, err
			}
			sample, err := flag(p, "sample")
			if err != nil {
				return nil, err
			}
			seed := p["seed"]
			if err := param(name, "seed", seed, seed == math.Trunc(seed) && seed >= 0 && seed <= 1<<53); err != nil {
				return nil, err
			}
			if topk {
				if err := param(name, "alpha", p["alpha"], p["alpha"] > 0); err != nil {
					return nil, err
				}
				if err := param(name, "k", p["k"], p["k"] >= 0); err != nil {
					return nil, err
				}
				return &SoftTopK{K: p["k"], Alpha: p["alpha"], Temperature: p["temperature"], Normalize: norm, Sample: sample, Seed: uint64(seed)}, nil
			}
			return &DecoupledSoftmax{Temperature: p["temperature"], Normalize: norm, Sample: sample, Seed: uint64(seed)}, nil
		}
		return s
	}
	Register(dexml("decoupled-softmax", false))
	Register(dexml("soft-topk", true))
	Register(Spec{
		Name:    "ngame-triplet",
		Catalog: "A30",
		Summary: "NGAME's triplet margin loss over the k hardest in-batch negatives, softmax-weighted",
		Needs:   NeedsPositives | AcceptsLabels,
		Params: []Param{{"margin", 0.3, "hinge margin"}, {"k", 10, "hard negatives per anchor"},
			{"temperature", 0.1, "τ of the hardness softmax"}, {"aggressive", 1, "1: softmax weights; 0: plain mean"}},
		New: func(p map[string]float64) (Loss, error) {
			k, err := count(p, "k", 1)
			if err != nil {
				return nil, err
			}
			agg, err := flag(p, "aggressive")
			if err != nil {
				return nil, err
			}
			if err := param("ngame-triplet", "temperature", p["temperature"], p["temperature"] > 0); err != nil {
				return nil, err
			}
			if err := param("ngame-triplet", "margin", p["margin"], true); err != nil {
				return nil, err
			}
			return &NGAMETriplet{Margin: p["margin"], Temperature: p["temperature"], K: k, Aggressive: agg}, nil
		},
	})
	Register(Spec{
		Name:    "norm-softmax",
		Catalog: "A17",
		Summary: "normalised (cosine) softmax with a fixed scale s",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 10, "s > 0"}, {"smoothing", 0, "label smoothing ε"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewNormSoftmax(p["scale"], p["smoothing"])
		},
	})
	Register(Spec{
		Name:    "cosface",
		Catalog: "A15",
		Summary: "CosFace: cosine softmax with an additive cosine margin, s·(cos θ_y − m)",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 64, "s > 0"}, {"margin", 0.35, "m"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewCosFace(p["scale"], p["margin"])
		},
	})
	Register(Spec{
		Name:    "arcface",
		Catalog: "A15",
		Summary: "ArcFace: cosine softmax with an additive angular margin, s·cos(θ_y + m)",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 64, "s > 0"}, {"margin", 0.5, "m in [0, π/2]"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewArcFace(p["scale"], p["margin"])
		},
	})
	Register(Spec{
		Name:    "madacos",
		Catalog: "A15",
		Summary: "MadaCos: cosine softmax with scale and margin set from the batch's median target cosine",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"alpha", 0.02, "target probability of the median sample, in (0, 1)"}, {"train", 1, "1: margin on; 0: eval mode"}},
		New: func(p map[string]float64) (Loss, error) {
			train, err := flag(p, "train")
			if err != nil {
				return nil, err
			}
			return NewMadaCos(p["alpha"], train)
		},
	})
	Register(Spec{
		Name:    "ebv",
		Catalog: "B22",
		Summary: "cosine cross-entropy against fixed equiangular basis vectors (generated when not given)",
		Needs:   NeedsLabels | AcceptsClasses,
		Params: []Param{{"temperature", 0.07, "τ > 0"}, {"smoothing", 0, "label smoothing ε"},
			{"alpha", 0.002, "max |cos| between basis vectors"}, {"seed", 42, "generator seed"}},
		New: func(p map[string]float64) (Loss, error) {
			seed, err := count(p, "seed", 0)
			if err != nil {
				return nil, err
			}
			return NewEBV(p["temperature"], p["smoothing"], p["alpha"], uint64(seed))
		},
	})
	Register(Spec{
		Name:    "gumbel-cbm",
		Catalog: "A4",
		Summary: "Sparse-CBM's Gumbel-softmax loss on concept activations [B, C], over both dimensions",
		Params:  []Param{{"tau", 1, "τ > 0"}, {"noise", 1, "1: Gumbel noise; 0: none"}, {"seed", 0, "noise seed"}},
		New: func(p map[string]float64) (Loss, error) {
			noise, err := flag(p, "noise")
			if err != nil {
				return nil, err
			}
			seed, err := count(p, "seed", 0)
			if err != nil {
				return nil, err
			}
			if err := param("gumbel-cbm", "tau", p["tau"], p["tau"] > 0); err != nil {
				return nil, err
			}
			return &GumbelCBM{Tau: p["tau"], Noise: noise, Seed: uint64(seed)}, nil
		},
	})
	Register(Spec{
		Name:    "fourier-head",
		Catalog: "B8",
		Summary: "Fourier head: bins from a Fourier-series density (rows = 2(N+1) coefficients), CE + frequency regulariser",
		Needs:   NeedsLabels,
		Params:  []Param{{"bins", 18, "number of bins m"}, {"gamma", 0, "regulariser weight γ ≥ 0"}, {"eps", 1e-5, "ε of log(p + ε)"}},
		New: func(p map[string]float64) (Loss, error) {
			bins, err := count(p, "bins", 1)
			if err != nil {
				return nil, err
			}
			if err := param("fourier-head", "gamma", p["gamma"], p["gamma"] >= 0); err != nil {
				return nil, err
			}
			if err := param("fourier-head", "eps", p["eps"], p["eps"] >= 0); err != nil {
				return nil, err
			}
			return &FourierHead{Bins: bins, Gamma: p["gamma"], Eps: p["eps"]}, nil
		},
	})
}
