package loss

import (
	"math"
)

// nameHingeCs is the registry name of this file's loss.
const nameHingeCs = "hinge-cs"

// HingeCS is the multiclass hinge loss of Crammer and Singer, "On the
// Algorithmic Implementation of Multiclass Kernel-based Vector Machines"
// (JMLR 2001): the margin violation of the strongest competitor,
//
//	ℓ = max(0, margin + max_{j≠y} z_j − z_y)
//
// (default margin 1). It is piecewise linear; the subgradient used is
// e_{j*} − e_y where the hinge is active (ℓ > 0), j* the competitor with
// the largest logit — the first such column on ties — and 0 where it is
// not (ℓ = 0, including exactly at the hinge, as PyTorch's
// MultiMarginLoss does). A row of one class has no competitor and ℓ = 0.
//
// The value is computed in float64 from the logits as given, so it is
// exact up to one rounding at any scale. −Inf logits off the target are
// masks (never the strongest competitor unless every competitor is
// masked, and then ℓ = 0).
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights. The official
// code of the LDR paper (ICML2023_LDR, CSLoss) is the same loss.
type HingeCS struct {
	o      Options
	margin float64
}

// NewHingeCS returns the Crammer–Singer hinge loss with margin ≥ 0.
func NewHingeCS(margin float64, opts ...Option) (*HingeCS, error) {
	if !(margin >= 0) || math.IsInf(margin, 0) {
		return nil, valueErr(nameHingeCs, "margin = %v, want a finite number ≥ 0", margin)
	}
	o, err := buildHard(nameHingeCs, opts, true)
	if err != nil {
		return nil, err
	}
	return &HingeCS{o, margin}, nil
}

// Name returns "hinge-cs".
func (*HingeCS) Name() string { return nameHingeCs }

// Eval32 evaluates the loss on float32 logits and labels.
func (h *HingeCS) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalHingeCS(h, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (h *HingeCS) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalHingeCS(h, in, out)
}

func evalHingeCS[E exact](h *HingeCS, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameHingeCs, o: h.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			zy := float64(x[y])
			best, arg := math.Inf(-1), -1
			for j, v := range x {
				if j != y && float64(v) > best {
					best, arg = float64(v), j
				}
			}
			l := h.margin + best - zy
			if arg < 0 || !(l > 0) {
				l = 0
			}
			if g != nil {
				clear(g)
				if l > 0 {
					g[arg] = E(gs)
					g[y] = E(-gs)
				}
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameHingeCs,
		Summary: "Crammer–Singer multiclass hinge max(0, margin + max_{j≠y} z_j − z_y)",
		Needs:   NeedsLabels,
		Params:  []Param{{"margin", 1, "margin ≥ 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewHingeCS(p["margin"], opts...)
		},
	})
}
