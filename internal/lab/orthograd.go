package lab

import (
	"fmt"
	"math"
)

// orthoEps is the ε of both denominators of ⊥Grad, as in the official
// code.
const orthoEps = 1e-30

// OrthoGrad replaces the gradient g of a parameter tensor w by its part
// orthogonal to w, rescaled to g's norm — ⊥Grad of Prieto, Barsbey,
// Mediano and Birdal, "Grokking at the Edge of Numerical Stability" (ICLR
// 2025), catalog B16:
//
//	g⊥ = g − (w·g/(w·w + ε))·w,   g ← g⊥·‖g‖/(‖g⊥‖ + ε),   ε = 1e-30,
//
// which removes the naive-loss-minimisation direction (scaling w up
// along itself) that drives a separated classifier towards Softmax
// Collapse, and keeps the step's size. The base optimizer then steps
// with the new g (OptimizerConfig.OrthoGrad applies it per tensor before
// every step, as the official OrthoGrad wrapper does).
//
// The dot products and norms are accumulated in float64 in index order
// (deterministic); each result entry is rounded once to float32. A zero
// w leaves g unchanged (up to that rounding); a zero g stays zero. len(g)
// must equal len(w), and both must be finite.
func OrthoGrad(g, w []float32) error {
	if len(g) != len(w) {
		return fmt.Errorf("lab.OrthoGrad: %d gradient entries for %d parameters", len(g), len(w))
	}
	var wg, ww, gg float64
	for i, gi := range g {
		a, b := float64(w[i]), float64(gi)
		if math.IsNaN(a+b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			return fmt.Errorf("lab.OrthoGrad: entry %d: parameter %v, gradient %v, want finite numbers", i, w[i], gi)
		}
		wg += a * b
		ww += a * a
		gg += b * b
	}
	c := wg / (ww + orthoEps)
	var pp float64
	for i, gi := range g {
		p := float64(gi) - c*float64(w[i])
		pp += p * p
	}
	scale := math.Sqrt(gg) / (math.Sqrt(pp) + orthoEps)
	for i, gi := range g {
		g[i] = float32((float64(gi) - c*float64(w[i])) * scale)
	}
	return nil
}

// orthoOpt is an optimizer that applies ⊥Grad per tensor, then its base
// optimizer's step; the caller's gradient is left as it was.
type orthoOpt struct {
	base    Optimizer
	tensors []Span
	g       []float32
}

func (o *orthoOpt) Name() string { return o.base.Name() }

func (o *orthoOpt) SetLR(lr float64) { o.base.SetLR(lr) }

// Step projects each tensor's gradient and steps the base optimizer. A
// non-finite gradient is passed through unchanged (the base step then
// shows it, as without ⊥Grad).
func (o *orthoOpt) Step(params, grad []float32) {
	g := o.g[:len(grad)]
	copy(g, grad)
	for _, s := range o.tensors {
		if err := OrthoGrad(g[s.Lo:s.Hi], params[s.Lo:s.Hi]); err != nil {
			copy(g[s.Lo:s.Hi], grad[s.Lo:s.Hi])
		}
	}
	o.base.Step(params, g)
}
