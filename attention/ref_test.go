package attention

import (
	"math"
	"math/rand/v2"
)

// The test reference: attention materialized from its definition, in
// float64, one (batch, head) at a time — the full S×T score, mask and
// weight matrices — written independently of the package's code.

type problem struct {
	sh      Shape
	cfg     Config
	q, k, v []float64
	bias    []float64
	pad     []bool
}

func (pr *problem) dims() (B, H, Hkv, S, T, D, Dv int) {
	s := pr.sh
	Hkv, Dv = s.KVHeads, s.ValueDim
	if Hkv == 0 {
		Hkv = s.Heads
	}
	if Dv == 0 {
		Dv = s.Dim
	}
	return s.Batch, s.Heads, Hkv, s.Queries, s.Keys, s.Dim, Dv
}

// refMask reports whether query i sees key j in batch element b (bias
// −Inf entries are handled by the weights).
func (pr *problem) refMask(b, i, j int) bool {
	_, _, _, S, T, _, _ := pr.dims()
	pos := i + T - S
	if pr.cfg.Causal && j > pos {
		return false
	}
	if w := pr.cfg.Window; w > 0 {
		if pos-j >= w {
			return false
		}
		if !pr.cfg.Causal && j-pos >= w {
			return false
		}
	}
	if pr.pad != nil && pr.pad[b*T+j] {
		return false
	}
	return true
}

func (pr *problem) refBias(b, h, i, j int) float64 {
	B, H, _, S, T, _, _ := pr.dims()
	switch len(pr.bias) {
	case 0:
		return 0
	case S * T:
		return pr.bias[i*T+j]
	case H * S * T:
		return pr.bias[(h*S+i)*T+j]
	case B * H * S * T:
		return pr.bias[((b*H+h)*S+i)*T+j]
	}
	panic("bad bias length")
}

// refHead holds the materialized matrices of one (batch, head).
type refHead struct {
	raw  [][]float64 // scale·q·k
	s    [][]float64 // after soft-cap and bias (−Inf where masked)
	a    [][]float64 // weights
	lse  []float64
	fac  []float64 // τ_i or κ_i
	seen []int     // n_i
}

func (pr *problem) refScale() float64 {
	if pr.cfg.Scale != 0 {
		return pr.cfg.Scale
	}
	return 1 / math.Sqrt(float64(pr.sh.Dim))
}

// refCompute builds the matrices of head h of batch element b from
// q, k, v (which the gradient checks perturb).
func (pr *problem) refCompute(q, k []float64, b, h int) refHead {
	_, H, Hkv, S, T, D, _ := pr.dims()
	g := h / (H / Hkv)
	c := pr.cfg
	rh := refHead{lse: make([]float64, S), fac: make([]float64, S), seen: make([]int, S)}
	for i := range S {
		raw, s, a := make([]float64, T), make([]float64, T), make([]float64, T)
		n := 0
		for j := range T {
			var acc float64
			for x := range D {
				acc += q[((b*H+h)*S+i)*D+x] * k[((b*Hkv+g)*T+j)*D+x]
			}
			raw[j] = pr.refScale() * acc
			s[j] = math.Inf(-1)
			if !pr.refMask(b, i, j) {
				continue
			}
			n++
			v := raw[j]
			if c.Softcap > 0 {
				v = c.Softcap * math.Tanh(v/c.Softcap)
			}
			s[j] = v + pr.refBias(b, h, i, j)
		}
		rh.seen[i] = n
		fac := 1.0
		if c.Selective {
			fac = 1 + math.Exp(-math.Exp(c.Beta))*math.Log(float64(max(n, 1)))
		}
		if c.Normalizer == Softplus && c.LengthBase != 0 && n > 0 {
			fac = math.Log(float64(n)) / math.Log(c.LengthBase)
		}
		rh.fac[i] = fac
		switch c.Normalizer {
		case Sigmoid:
			b := -math.Log(float64(max(T, 1)))
			if c.SigmoidBias != nil {
				b = *c.SigmoidBias
			}
			var sum float64
			for j := range T {
				if !math.IsInf(s[j], -1) {
					a[j] = 1 / (1 + math.Exp(-(s[j] + b)))
					sum += a[j]
				}
			}
			rh.lse[i] = math.Log(sum)
		case Softplus:
			var sum float64
			for j := range T {
				if !math.IsInf(s[j], -1) {
					z := fac * s[j]
					a[j] = math.Log1p(math.Exp(z))
					if z > 30 {
						a[j] = z + math.Exp(-z)
					}
					sum += a[j]
				}
			}
			for j := range a {
				if sum > 0 {
					a[j] /= sum
				}
			}
			rh.lse[i] = math.Log(sum)
			if sum == 0 {
				rh.lse[i] = math.Inf(-1)
			}
		default:
			m := math.Inf(-1)
			for j := range T {
				m = math.Max(m, fac*s[j])
			}
			var sum float64
			if !math.IsInf(m, -1) {
				for j := range T {
					a[j] = math.Exp(fac*s[j] - m)
					sum += a[j]
				}
				for j := range a {
					a[j] /= sum
				}
			}
			rh.lse[i] = m + math.Log(sum)
		}
		rh.raw = append(rh.raw, raw)
		rh.s = append(rh.s, s)
		rh.a = append(rh.a, a)
	}
	return rh
}

// refForward returns the output and log-normalisers.
func (pr *problem) refForward(q, k, v []float64) (out, lse []float64) {
	B, H, Hkv, S, T, _, Dv := pr.dims()
	out, lse = make([]float64, B*H*S*Dv), make([]float64, B*H*S)
	for b := range B {
		for h := range H {
			g := h / (H / Hkv)
			rh := pr.refCompute(q, k, b, h)
			for i := range S {
				lse[(b*H+h)*S+i] = rh.lse[i]
				for j := range T {
					for x := range Dv {
						out[((b*H+h)*S+i)*Dv+x] += rh.a[i][j] * v[((b*Hkv+g)*T+j)*Dv+x]
					}
				}
			}
		}
	}
	return out, lse
}

// refLoss is L = Σ dOut ⊙ out, whose gradient Backward computes.
func (pr *problem) refLoss(q, k, v, dOut []float64) float64 {
	out, _ := pr.refForward(q, k, v)
	var l float64
	for i, o := range out {
		l += o * dOut[i]
	}
	return l
}

// refBackward returns dQ, dK, dV and dβ of L = Σ dOut ⊙ out, from the
// materialized Jacobians of the weights (derived independently: the
// Jacobian of each normaliser applied to dA, then the soft-cap and the
// scale).
func (pr *problem) refBackward(dOut []float64) (dq, dk, dv []float64, dbeta float64) {
	B, H, Hkv, S, T, D, Dv := pr.dims()
	c := pr.cfg
	dq, dk, dv = make([]float64, len(pr.q)), make([]float64, len(pr.k)), make([]float64, len(pr.v))
	for b := range B {
		for h := range H {
			g := h / (H / Hkv)
			rh := pr.refCompute(pr.q, pr.k, b, h)
			for i := range S {
				a := rh.a[i]
				da := make([]float64, T)
				for j := range T {
					for x := range Dv {
						da[j] += dOut[((b*H+h)*S+i)*Dv+x] * pr.v[((b*Hkv+g)*T+j)*Dv+x]
						dv[((b*Hkv+g)*T+j)*Dv+x] += a[j] * dOut[((b*H+h)*S+i)*Dv+x]
					}
				}
				ds := make([]float64, T) // ∂L/∂s (after soft-cap and bias)
				switch c.Normalizer {
				case Sigmoid:
					for j := range T {
						ds[j] = da[j] * a[j] * (1 - a[j])
					}
				case Softplus:
					// A_j = u_j/U, u = softplus(κs): ∂A_l/∂s_j = κσ(κs_j)(δ_lj − A_l)/U.
					var U float64
					for j := range T {
						if !math.IsInf(rh.s[i][j], -1) {
							U += math.Log1p(math.Exp(rh.fac[i] * rh.s[i][j]))
						}
					}
					var dot float64
					for j := range T {
						dot += a[j] * da[j]
					}
					for j := range T {
						if a[j] != 0 {
							z := rh.fac[i] * rh.s[i][j]
							ds[j] = rh.fac[i] / (1 + math.Exp(-z)) / U * (da[j] - dot)
						}
					}
				default:
					var dot float64
					for j := range T {
						dot += a[j] * da[j]
					}
					var dtau float64
					for j := range T {
						if a[j] != 0 {
							dz := a[j] * (da[j] - dot)
							ds[j] = rh.fac[i] * dz
							dtau += rh.s[i][j] * dz
						}
					}
					if c.Selective {
						eb := math.Exp(c.Beta)
						dbeta += dtau * (-eb * math.Exp(-eb) * math.Log(float64(max(rh.seen[i], 1))))
					}
				}
				for j := range T {
					if ds[j] == 0 {
						continue
					}
					d := ds[j]
					if c.Softcap > 0 {
						t := math.Tanh(rh.raw[i][j] / c.Softcap)
						d *= 1 - t*t
					}
					d *= pr.refScale()
					for x := range D {
						dq[((b*H+h)*S+i)*D+x] += d * pr.k[((b*Hkv+g)*T+j)*D+x]
						dk[((b*Hkv+g)*T+j)*D+x] += d * pr.q[((b*H+h)*S+i)*D+x]
					}
				}
			}
		}
	}
	return dq, dk, dv, dbeta
}

// newProblem fills q, k, v with normal(0, sd) values.
func newProblem(rng *rand.Rand, sh Shape, cfg Config, sd float64) *problem {
	pr := &problem{sh: sh, cfg: cfg}
	B, H, Hkv, S, T, D, Dv := pr.dims()
	fill := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			// Round to float32 so that both paths see the same inputs.
			x[i] = float64(float32(rng.NormFloat64() * sd))
		}
		return x
	}
	pr.q, pr.k, pr.v = fill(B*H*S*D), fill(B*Hkv*T*D), fill(B*Hkv*T*Dv)
	return pr
}

func to32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func (pr *problem) in32() Input[float32] {
	return Input[float32]{Q: to32(pr.q), K: to32(pr.k), V: to32(pr.v), Shape: pr.sh, Bias: to32(pr.bias), KeyPadding: pr.pad}
}

func (pr *problem) in64() Input[float64] {
	return Input[float64]{Q: pr.q, K: pr.k, V: pr.v, Shape: pr.sh, Bias: pr.bias, KeyPadding: pr.pad}
}
