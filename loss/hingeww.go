package loss

import (
	"math"
)

// nameHingeWw is the registry name of this file's loss.
const nameHingeWw = "hinge-ww"

// HingeWW is the multiclass hinge loss of Weston and Watkins, "Support
// Vector Machines for Multi-Class Pattern Recognition" (ESANN 1999): the
// sum of every competitor's margin violation,
//
//	ℓ = Σ_{j≠y} max(0, margin + z_j − z_y)
//
// (default margin 1). The subgradient used is Σ_{j active} (e_j − e_y)
// over the competitors with margin + z_j − z_y > 0; a term exactly at its
// hinge counts as inactive (as PyTorch's MultiMarginLoss).
//
// Difference from PyTorch's MultiMarginLoss (p = 1): it divides each
// row's sum by the number of classes; this follows the paper and does
// not (scale the loss by 1/K for PyTorch's value). The LDR paper's code
// (ICML2023_LDR, WWLoss) averages over all K entries including the
// target's zero term, also a 1/K scaling.
//
// The value is computed in float64 from the logits as given, so it is
// exact up to the rounding of the sum at any scale. −Inf logits off the
// target are masks (their terms are 0). Options: reduction, ignore index,
// class weights (row i's loss is w_{y_i}·ℓ_i, Mean divides by
// Σ r_i·w_{y_i}), row weights.
type HingeWW struct {
	o      Options
	margin float64
}

// NewHingeWW returns the Weston–Watkins hinge loss with margin ≥ 0.
func NewHingeWW(margin float64, opts ...Option) (*HingeWW, error) {
	if !(margin >= 0) || math.IsInf(margin, 0) {
		return nil, valueErr(nameHingeWw, "margin = %v, want a finite number ≥ 0", margin)
	}
	o, err := buildHard(nameHingeWw, opts, true)
	if err != nil {
		return nil, err
	}
	return &HingeWW{o, margin}, nil
}

// Name returns "hinge-ww".
func (*HingeWW) Name() string { return nameHingeWw }

// Eval32 evaluates the loss on float32 logits and labels.
func (h *HingeWW) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalHingeWW(h, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (h *HingeWW) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalHingeWW(h, in, out)
}

func evalHingeWW[E exact](h *HingeWW, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameHingeWw, o: h.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			zy := float64(x[y])
			var l float64
			active := 0
			for j, v := range x {
				d := h.margin + float64(v) - zy
				on := j != y && d > 0
				if on {
					l += d
					active++
				}
				if g != nil {
					if on {
						g[j] = E(gs)
					} else {
						g[j] = 0
					}
				}
			}
			if g != nil {
				g[y] = E(-gs * float64(active))
			}
			return l, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameHingeWw,
		Summary: "Weston–Watkins multiclass hinge Σ_{j≠y} max(0, margin + z_j − z_y)",
		Needs:   NeedsLabels,
		Params:  []Param{{"margin", 1, "margin ≥ 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewHingeWW(p["margin"], opts...)
		},
	})
}
