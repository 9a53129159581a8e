package attention

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
)

// The float64 path: one query row at a time, its scores over the visible
// keys held in a row of T values, every operation in float64 with the
// standard library's exp, log and tanh. It is the reference the float32
// path is tested against, and the path for callers who want float64.

// checkFinite64 returns an error naming the first non-finite element of
// the tensor x, of the given shape.
func checkFinite64(name string, x []float64, shape ...int) error {
	for n, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			idx := make([]int, len(shape))
			for d := len(shape) - 1; d >= 0; d-- {
				idx[d] = n % shape[d]
				n /= shape[d]
			}
			return fmt.Errorf("attention: %s%s = %v: want finite: %w", name, fmtIndex(idx), v, ErrValue)
		}
	}
	return nil
}

func (p *plan) checkInputs64(in Input[float64]) error {
	if err := checkFinite64("q", in.Q, p.B, p.H, p.S, p.D); err != nil {
		return err
	}
	if err := checkFinite64("k", in.K, p.B, p.Hkv, p.T, p.D); err != nil {
		return err
	}
	return checkFinite64("v", in.V, p.B, p.Hkv, p.T, p.Dv)
}

// row64 holds one query row's scores and weights.
type row64 struct {
	s   []float64 // score after scale, soft-cap and bias (−Inf: hidden)
	cap []float64 // tanh(raw/Softcap) (soft-cap only)
	a   []float64 // the weights A_ij
	lse float64   // the log-normaliser
	tau float64   // τ_i or κ_i
	lo  int       // the visible interval [lo, hi)
	hi  int
}

func newRow64(t int) *row64 {
	return &row64{s: make([]float64, t), cap: make([]float64, t), a: make([]float64, t)}
}

// compute fills r for query i of head h of batch element b.
func (p *plan) compute64(r *row64, in Input[float64], b, h, i int) error {
	g := h / p.G
	q := in.Q[((b*p.H+h)*p.S+i)*p.D:][:p.D]
	r.lo, r.hi = p.interval(i)
	r.tau = p.rowFactor(b, i)
	boff := p.biasRow(b, h, i)
	for j := r.lo; j < r.hi; j++ {
		r.a[j] = 0
		if p.padded(b, j) {
			r.s[j] = math.Inf(-1)
			continue
		}
		k := in.K[((b*p.Hkv+g)*p.T+j)*p.D:][:p.D]
		var acc float64
		for x, v := range q {
			acc += v * k[x]
		}
		s := p.scale * acc
		if math.IsInf(s, 0) || math.IsNaN(s) {
			return fmt.Errorf("attention: the score of query %d and key %d of batch %d, head %d overflows: %w", i, j, b, h, ErrValue)
		}
		if p.softcap > 0 {
			t := math.Tanh(s / p.softcap)
			r.cap[j] = t
			s = p.softcap * t
		}
		if boff >= 0 {
			s += in.Bias[boff+j]
		}
		r.s[j] = s
	}
	if r.lo >= r.hi {
		r.lse = math.Inf(-1)
		return nil
	}
	switch p.norm {
	case Sigmoid:
		var sum float64
		for j := r.lo; j < r.hi; j++ {
			if !math.IsInf(r.s[j], -1) {
				r.a[j] = sigmoid(r.s[j] + p.sigBias)
				sum += r.a[j]
			}
		}
		r.lse = math.Log(sum)
		return nil
	case Softplus:
		for j := r.lo; j < r.hi; j++ {
			r.a[j] = math.Inf(-1)
			if !math.IsInf(r.s[j], -1) {
				r.a[j] = logSoftplus(r.tau * r.s[j])
			}
		}
	default:
		for j := r.lo; j < r.hi; j++ {
			r.a[j] = r.tau * r.s[j]
		}
	}
	// r.a holds the normalizer's log-weights: softmax them.
	m := math.Inf(-1)
	for j := r.lo; j < r.hi; j++ {
		m = max(m, r.a[j])
	}
	if math.IsInf(m, -1) {
		for j := r.lo; j < r.hi; j++ {
			r.a[j] = 0
		}
		r.lse = m
		return nil
	}
	var sum float64
	for j := r.lo; j < r.hi; j++ {
		r.a[j] = math.Exp(r.a[j] - m)
		sum += r.a[j]
	}
	for j := r.lo; j < r.hi; j++ {
		r.a[j] /= sum
	}
	r.lse = m + math.Log(sum)
	return nil
}

// forward64 is Forward for float64.
func forward64(p *plan, in Input[float64], out Output[float64]) error {
	if err := p.checkInputs64(in); err != nil {
		return err
	}
	rows := p.B * p.H * p.S
	const grain = 8
	errs := make([]error, par.Blocks(rows, grain))
	par.For(rows, grain, par.Threads(p.threads), func(blk, lo, hi int) {
		r := newRow64(p.T)
		for row := lo; row < hi; row++ {
			b, h, i := row/(p.H*p.S), row/p.S%p.H, row%p.S
			if err := p.compute64(r, in, b, h, i); err != nil {
				errs[blk] = err
				return
			}
			o := out.Out[row*p.Dv:][:p.Dv]
			clear(o)
			g := h / p.G
			for j := r.lo; j < r.hi; j++ {
				if a := r.a[j]; a != 0 {
					v := in.V[((b*p.Hkv+g)*p.T+j)*p.Dv:][:p.Dv]
					for x := range o {
						o[x] += a * v[x]
					}
				}
			}
			if out.LSE != nil {
				out.LSE[row] = r.lse
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// backward64 is Backward for float64. It recomputes every row's weights
// from the inputs (out and LSE are checked for shape only) and works one
// (batch element, key/value head) pair per task, rows in order, so dK and
// dV are sums in a fixed order.
func backward64(p *plan, in Input[float64], out Output[float64], dOut []float64, g *Grad[float64]) error {
	if err := p.checkInputs64(in); err != nil {
		return err
	}
	if err := checkFinite64("dOut", dOut, p.B, p.H, p.S, p.Dv); err != nil {
		return err
	}
	clear(g.DQ)
	clear(g.DK)
	clear(g.DV)
	groups := p.B * p.Hkv
	errs := make([]error, groups)
	dbeta := make([]float64, groups)
	expBeta := math.Exp(p.beta)
	dtaudb := -expBeta * math.Exp(-expBeta)
	par.For(groups, 1, par.Threads(p.threads), func(t, _, _ int) {
		b, gk := t/p.Hkv, t%p.Hkv
		r := newRow64(p.T)
		ds := make([]float64, p.T)
		for h := gk * p.G; h < (gk+1)*p.G; h++ {
			for i := range p.S {
				if err := p.compute64(r, in, b, h, i); err != nil {
					errs[t] = err
					return
				}
				row := (b*p.H+h)*p.S + i
				do := dOut[row*p.Dv:][:p.Dv]
				q := in.Q[row*p.D:][:p.D]
				dq := g.DQ[row*p.D:][:p.D]
				// dA_j = dOut_i·v_j; D = Σ_j A_j dA_j.
				var dsum float64
				for j := r.lo; j < r.hi; j++ {
					ds[j] = 0
					if r.a[j] == 0 && p.norm != Sigmoid {
						continue
					}
					v := in.V[((b*p.Hkv+gk)*p.T+j)*p.Dv:][:p.Dv]
					var da float64
					for x, w := range do {
						da += w * v[x]
					}
					ds[j] = da
					dsum += r.a[j] * da
				}
				var dtau float64
				for j := r.lo; j < r.hi; j++ {
					a := r.a[j]
					if a == 0 {
						ds[j] = 0
						continue
					}
					var d float64
					switch p.norm {
					case Sigmoid:
						d = ds[j] * a * (1 - a)
					case Softplus:
						z := r.tau * r.s[j]
						d = a * (ds[j] - dsum) * r.tau * sigmoidOverSoftplus(z)
					default:
						dz := a * (ds[j] - dsum)
						dtau += r.s[j] * dz
						d = r.tau * dz
					}
					if p.softcap > 0 {
						d *= 1 - r.cap[j]*r.cap[j]
					}
					ds[j] = d * p.scale
				}
				if p.selective {
					dbeta[t] += dtau * dtaudb * math.Log(float64(max(p.visible(b, i), 1)))
				}
				for j := r.lo; j < r.hi; j++ {
					koff := ((b*p.Hkv+gk)*p.T + j)
					if d := ds[j]; d != 0 {
						k := in.K[koff*p.D:][:p.D]
						dk := g.DK[koff*p.D:][:p.D]
						for x := range dq {
							dq[x] += d * k[x]
							dk[x] += d * q[x]
						}
					}
					if a := r.a[j]; a != 0 {
						dv := g.DV[koff*p.Dv:][:p.Dv]
						for x := range dv {
							dv[x] += a * do[x]
						}
					}
				}
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, v := range dbeta {
		g.DBeta += v
	}
	return nil
}

// fmtIndex formats a tensor index as [a, b, c].
func fmtIndex(idx []int) string {
	s := "["
	for i, v := range idx {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(v)
	}
	return s + "]"
}
