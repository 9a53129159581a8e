package loss

import (
	"math"
)

// nameSphericalZ is the registry name of this file's loss.
const nameSphericalZ = "spherical-z"

// SphericalZ is the Z-loss of de Brébisson and Vincent, "The Z-loss: a
// shift and scale invariant classification loss belonging to the
// Spherical Family" (2016), catalog A9 — not PaLM's z-loss regulariser
// (that is WithZLoss of CrossEntropy). The D logits o of a row are
// z-normalised and the target's score goes through a scaled softplus:
//
//	μ = (1/D)·Σ_k o_k,  σ² = (1/D)·Σ_k (o_k − μ)²,  z_k = (o_k − μ)/σ
//	ℓ = (1/a)·softplus(a·(b − z_c)) = (1/a)·log(1 + exp(a·(b − z_c)))
//
// with sharpness a > 0 and target location b (defaults a = 1, b = 1; the
// paper tunes both per task). ℓ is invariant to o → λ·o + β for λ > 0. The
// gradient, with g = sigmoid(a·(b − z_c)), is
//
//	∂ℓ/∂o_k = −(g/σ)·(δ_kc − 1/D − z_c·z_k/D).
//
// Stable form: the mean and the variance by two passes in float64 (not
// E[o²] − μ²; the mean as o₀ + mean(o − o₀), exact for equal logits), softplus as max(u, 0) + log1p(exp(−|u|)) and the logistic
// function without overflow, so any finite logits work, 1e4 and beyond.
// A row whose logits are all equal (σ = 0, always so for D = 1) has no
// defined z; it is given z = 0, ℓ = softplus(a·b)/a and gradient 0 (the
// limit depends on the direction of approach). Logits that differ only
// in their last bits have a tiny σ and gradients of order 1/σ; where that
// exceeds the element type's range, the row is an overflow error.
//
// Options: reduction, ignore index, class weights (row i's loss is
// w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights. −Inf logits
// are rejected (the normalisation needs every logit). No official code is
// published.
//
// Accuracy: float64 about 1e-14 relative per row plus the conditioning of
// the normalisation (relative error ≈ 1e-16·|μ|/σ in z); float32 logits
// are read exactly and computed in float64, so they differ from float64
// only in the rounding of the outputs.
type SphericalZ struct {
	o    Options
	a, b float64
}

// NewSphericalZ returns the Z-loss with sharpness a > 0 and location b.
func NewSphericalZ(a, b float64, opts ...Option) (*SphericalZ, error) {
	const name = nameSphericalZ
	if !(a > 0) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
		return nil, valueErr(name, "a = %v, b = %v, want a positive finite a and a finite b", a, b)
	}
	o, err := buildHard(name, opts, true)
	if err != nil {
		return nil, err
	}
	return &SphericalZ{o, a, b}, nil
}

// Name returns "spherical-z".
func (*SphericalZ) Name() string { return nameSphericalZ }

// Eval32 evaluates the loss on float32 logits and labels.
func (s *SphericalZ) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalSphericalZ(s, in, out)
}

// Eval64 evaluates the loss on float64 logits and labels.
func (s *SphericalZ) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalSphericalZ(s, in, out)
}

func evalSphericalZ[E exact](s *SphericalZ, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameSphericalZ, o: s.o}
	A, B := s.a, s.b
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			D := float64(len(x))
			// The mean as x₀ + mean(x − x₀): exact for equal logits.
			x0 := float64(x[0])
			var mu float64
			for _, v := range x {
				mu += float64(v) - x0
			}
			mu = x0 + mu/D
			var v2 float64
			for _, v := range x {
				d := float64(v) - mu
				v2 += d * d
			}
			sigma := math.Sqrt(v2 / D)
			if sigma == 0 || math.IsInf(sigma, 0) {
				if sigma != 0 {
					return 0, valueErr(nameSphericalZ, "the logits' variance overflows at row %d", i)
				}
				if g != nil {
					clear(g)
				}
				return softplus(A*B) / A, nil
			}
			zc := (float64(x[y]) - mu) / sigma
			u := A * (B - zc)
			if g != nil {
				c := -gs * sigmoid(u) / sigma
				if math.IsInf(float64(E(c)), 0) {
					return 0, valueErr(nameSphericalZ, "the gradient overflows at row %d (the logits' standard deviation is %g)", i, sigma)
				}
				for k, v := range x {
					zk := (float64(v) - mu) / sigma
					gk := -1/D - zc*zk/D
					if k == y {
						gk++
					}
					g[k] = E(c * gk)
				}
			}
			return softplus(u) / A, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameSphericalZ,
		Catalog: "A9",
		Summary: "Z-loss (spherical family): softplus(a·(b − z_y))/a on z-normalised logits",
		Needs:   NeedsLabels,
		Params: []Param{
			{"a", 1, "sharpness a > 0"},
			{"b", 1, "target location b of the normalised score"},
		},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewSphericalZ(p["a"], p["b"], opts...)
		},
	})
}
