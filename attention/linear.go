package attention

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
)

// FeatureEps is the floor of LoLCATs' feature map: every feature is at
// least 1e-12, so that the linear attention's denominator is positive.
const FeatureEps = 1e-12

// FeatureMap writes LoLCATs' softmax feature map (catalog B27) of each of
// the rows of x [rows, dim] into dst [rows, 2·features]:
//
//	φ(x) = max([softmax(x·W), softmax(−x·W)], 1e-12),
//
// the two softmaxes over the features axis, with W [dim, features] one
// head's learned projection. Computed in float64 (max-shifted), rounded
// to F.
func FeatureMap[F Float](dst, x []F, rows, dim int, w []F, features int) error {
	if rows < 0 || dim < 1 || features < 1 {
		return fmt.Errorf("attention.FeatureMap: rows %d, dim %d, features %d: want rows ≥ 0, dim ≥ 1, features ≥ 1: %w", rows, dim, features, ErrShape)
	}
	n, ok1 := product(rows, dim)
	m, ok2 := product(rows, 2, features)
	nw, ok3 := product(dim, features)
	if !ok1 || !ok2 || !ok3 || len(x) != n || len(dst) != m || len(w) != nw {
		return fmt.Errorf("attention.FeatureMap: len(x) = %d, len(dst) = %d, len(w) = %d, want rows·dim, rows·2·features, dim·features (rows %d, dim %d, features %d): %w",
			len(x), len(dst), len(w), rows, dim, features, ErrShape)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attention.FeatureMap: x[%d] = %v: want finite: %w", i, v, ErrValue)
		}
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attention.FeatureMap: w[%d] = %v: want finite: %w", i, v, ErrValue)
		}
	}
	u := make([]float64, features)
	for r := range rows {
		xr := x[r*dim : (r+1)*dim]
		clear(u)
		for p, xv := range xr {
			wr := w[p*features : (p+1)*features]
			for c, wv := range wr {
				u[c] += float64(xv) * float64(wv)
			}
		}
		out := dst[r*2*features : (r+1)*2*features]
		for half, sign := range []float64{1, -1} {
			m := math.Inf(-1)
			for _, v := range u {
				m = max(m, sign*v)
			}
			var sum float64
			for _, v := range u {
				sum += math.Exp(sign*v - m)
			}
			for c, v := range u {
				out[half*features+c] = F(max(math.Exp(sign*v-m)/sum, FeatureEps))
			}
		}
	}
	return nil
}

// LinearConfig holds the options of LinearAttention.
type LinearConfig struct {
	// Window w ≥ 0: with w > 0 the w most recent keys of each query
	// (i' − w < j ≤ i', i' = i + T − S) get softmax weights γ·exp(s_ij −
	// m_i), s_ij = Scale·q_i·k_j and m_i their maximum, and the older keys
	// linear weights λ·φ(q_i)·φ(k_j) (LoLCATs' sliding-window hybrid);
	// w = 0 is plain causal linear attention.
	Window int
	// WindowFactor is γ > 0, LoLCATs' σ(w_γ) (0.1 at their
	// initialisation); required when Window > 0.
	WindowFactor float64
	// LinearFactor is λ (0 means 1, LoLCATs' default; 1 − γ in their
	// affine variant).
	LinearFactor float64
	// Scale multiplies q·k in the window (0: 1/√Dim).
	Scale float64
	// Threads sets the goroutines (≤ 0: GOMAXPROCS); results do not
	// depend on it.
	Threads int
}

// LinearInput holds the operands of LinearAttention: Q, K, V and the
// shape as for Forward, and the feature maps FQ = φ(Q) [B, H, S,
// Features] and FK = φ(K), either per query head [B, H, T, Features] (as
// LoLCATs maps the keys after repeating them for grouped-query attention)
// or per key/value head [B, KVHeads, T, Features].
type LinearInput[F Float] struct {
	Q, K, V  []F
	FQ, FK   []F
	Shape    Shape
	Features int
}

// LinearAttention computes causal linear attention with LoLCATs' hybrid
// (catalog B27; Zhang et al., "LoLCATs: On Low-Rank Linearizing of Large
// Language Models", 2024): for query i of head h, with i' = i + T − S,
//
//	y_i = (Σ_{win} γ·e^{s_ij − m_i}·v_j + λ·Σ_{j ≤ i'−w} φq_i·φk_j·v_j)
//	    / (Σ_{win} γ·e^{s_ij − m_i}     + λ·Σ_{j ≤ i'−w} φq_i·φk_j)
//
// over the window i' − w < j ≤ i' (none when Window = 0). As in the
// authors' code the maximum m_i is subtracted from the window terms only,
// so the balance of the two parts is not invariant to shifting the
// scores. The linear part is computed from a running state
// Σ_j φk_j ⊗ v_j (Features × ValueDim) and Σ_j φk_j, updated once per key,
// so the cost is O(T·Features·ValueDim + S·Window·Dim) per head and the
// memory O(Features·ValueDim) per thread. A query that sees no key gets
// 0. The state and all sums are float64; results are rounded to F.
func LinearAttention[F Float](c LinearConfig, in LinearInput[F], out []F) error {
	d, err := in.Shape.resolve()
	if err != nil {
		return err
	}
	if c.Window < 0 || c.Window > 0 && !(c.WindowFactor > 0 && !math.IsInf(c.WindowFactor, 0)) ||
		math.IsNaN(c.LinearFactor) || math.IsInf(c.LinearFactor, 0) || c.LinearFactor < 0 ||
		math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) {
		return fmt.Errorf("attention.LinearAttention: Window %d, WindowFactor %v, LinearFactor %v, Scale %v: want Window ≥ 0, WindowFactor > 0 with a window, LinearFactor ≥ 0, all finite: %w",
			c.Window, c.WindowFactor, c.LinearFactor, c.Scale, ErrValue)
	}
	if in.Features < 1 {
		return fmt.Errorf("attention.LinearAttention: Features %d, want ≥ 1: %w", in.Features, ErrShape)
	}
	fkHeads := d.H
	nq, _ := product(d.B, d.H, d.S, in.Features)
	nk, _ := product(d.B, d.H, d.T, in.Features)
	nkv, _ := product(d.B, d.Hkv, d.T, in.Features)
	if len(in.FK) == nkv && nkv != nk {
		fkHeads = d.Hkv
	}
	for _, t := range []struct {
		name      string
		got, want int
	}{
		{"q", len(in.Q), d.B * d.H * d.S * d.D}, {"k", len(in.K), d.B * d.Hkv * d.T * d.D}, {"v", len(in.V), d.B * d.Hkv * d.T * d.Dv},
		{"fq", len(in.FQ), nq}, {"fk", len(in.FK), d.B * fkHeads * d.T * in.Features}, {"out", len(out), d.B * d.H * d.S * d.Dv},
	} {
		if t.got != t.want {
			return fmt.Errorf("attention.LinearAttention: len(%s) = %d, want %d: %w", t.name, t.got, t.want, ErrShape)
		}
	}
	for _, t := range []struct {
		name string
		x    []F
	}{{"q", in.Q}, {"k", in.K}, {"v", in.V}, {"fq", in.FQ}, {"fk", in.FK}} {
		for i, v := range t.x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (t.name[0] == 'f' && v < 0) {
				return fmt.Errorf("attention.LinearAttention: %s[%d] = %v: want finite (features ≥ 0): %w", t.name, i, v, ErrValue)
			}
		}
	}
	lam := c.LinearFactor
	if lam == 0 {
		lam = 1
	}
	scale := c.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(d.D))
	}
	nf := in.Features
	par.For(d.B*d.H, 1, par.Threads(c.Threads), func(t, _, _ int) {
		b, h := t/d.H, t%d.H
		g := h / d.G
		fkh := h
		if fkHeads == d.Hkv {
			fkh = g
		}
		kv := make([]float64, nf*d.Dv) // Σ φk_j ⊗ v_j over the linear keys so far
		z := make([]float64, nf)       // Σ φk_j
		num := make([]float64, d.Dv)
		sc := make([]float64, max(c.Window, 0))
		next := 0
		for i := range d.S {
			ip := i + d.T - d.S
			row := (b*d.H+h)*d.S + i
			lim := min(ip-c.Window, d.T-1) // linear keys: j ≤ lim
			for ; next <= lim; next++ {
				fk := in.FK[((b*fkHeads+fkh)*d.T+next)*nf:][:nf]
				v := in.V[((b*d.Hkv+g)*d.T+next)*d.Dv:][:d.Dv]
				for f, a := range fk {
					af := float64(a)
					z[f] += af
					kvf := kv[f*d.Dv : (f+1)*d.Dv]
					for x, vx := range v {
						kvf[x] += af * float64(vx)
					}
				}
			}
			clear(num)
			var den float64
			if lim >= 0 {
				fq := in.FQ[row*nf:][:nf]
				for f, a := range fq {
					af := lam * float64(a)
					den += af * z[f]
					kvf := kv[f*d.Dv : (f+1)*d.Dv]
					for x := range num {
						num[x] += af * kvf[x]
					}
				}
			}
			if c.Window > 0 {
				j0, j1 := max(ip-c.Window+1, 0), min(ip+1, d.T)
				q := in.Q[row*d.D:][:d.D]
				m := math.Inf(-1)
				for j := j0; j < j1; j++ {
					k := in.K[((b*d.Hkv+g)*d.T+j)*d.D:][:d.D]
					var s float64
					for x, qx := range q {
						s += float64(qx) * float64(k[x])
					}
					sc[j-j0] = scale * s
					m = max(m, sc[j-j0])
				}
				for j := j0; j < j1; j++ {
					e := c.WindowFactor * math.Exp(sc[j-j0]-m)
					den += e
					v := in.V[((b*d.Hkv+g)*d.T+j)*d.Dv:][:d.Dv]
					for x, vx := range v {
						num[x] += e * float64(vx)
					}
				}
			}
			o := out[row*d.Dv:][:d.Dv]
			for x := range o {
				o[x] = 0
				if den > 0 {
					o[x] = F(num[x] / den)
				}
			}
		}
	})
	return nil
}

// LinearGrad receives the gradients of LinearAttentionBackward, each
// overwritten, in the shapes of the corresponding inputs.
type LinearGrad[F Float] struct {
	DQ, DK, DV, DFQ, DFK []F
}

// LinearAttentionBackward computes the gradients of L = Σ dOut ⊙ y with
// respect to Q, K, V and the feature maps FQ and FK, for y =
// LinearAttention(c, in) (derived; checked by central differences): with
// N_i and Z_i the numerator and denominator of y_i, dN_i = dOut_i/Z_i and
// dZ_i = −dOut_i·y_i/Z_i;
//
//	window:  ∂L/∂e_ij = dN_i·v_j + dZ_i,  ∂L/∂s_ij = e_ij·∂L/∂e_ij − [j = argmax] Σ_l e_il·∂L/∂e_il
//	linear:  ∂L/∂φq_i = λ·(Σ_{j≤i'−w} φk_j ⊗ v_j)·dN_i + λ·(Σ_{j≤i'−w} φk_j)·dZ_i
//	         ∂L/∂φk_j = λ·(Σ_{i: i'−w ≥ j} φq_i ⊗ dN_i)·v_j + λ·Σ_{i: i'−w ≥ j} φq_i·dZ_i
//
// and ∂L/∂v_j collects both parts; the maximum's gradient goes to the
// argmax (split evenly between tied maxima, as PyTorch's amax does). The
// sums over queries are kept as running states (a forward sweep over the
// queries for ∂φq, a backward sweep over the keys for ∂φk and ∂v), so the
// cost and memory are those of the forward pass. dK, dV (and dFK when FK
// is per key/value head) are summed over the query heads of a group.
// FeatureMapBackward carries ∂φ back to x and W.
func LinearAttentionBackward[F Float](c LinearConfig, in LinearInput[F], dOut []F, g *LinearGrad[F]) error {
	d, err := in.Shape.resolve()
	if err != nil {
		return err
	}
	out := make([]F, d.B*d.H*d.S*d.Dv)
	if err := LinearAttention(c, in, out); err != nil { // validates everything but the gradients
		return err
	}
	nf := in.Features
	fkHeads := d.H
	if len(in.FK) != d.B*d.H*d.T*nf {
		fkHeads = d.Hkv
	}
	for _, t := range []struct {
		name      string
		got, want int
	}{
		{"dOut", len(dOut), len(out)}, {"dQ", len(g.DQ), len(in.Q)}, {"dK", len(g.DK), len(in.K)}, {"dV", len(g.DV), len(in.V)},
		{"dFQ", len(g.DFQ), len(in.FQ)}, {"dFK", len(g.DFK), len(in.FK)},
	} {
		if t.got != t.want {
			return fmt.Errorf("attention.LinearAttentionBackward: len(%s) = %d, want %d: %w", t.name, t.got, t.want, ErrShape)
		}
	}
	for i, v := range dOut {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attention.LinearAttentionBackward: dOut[%d] = %v: want finite: %w", i, v, ErrValue)
		}
	}
	lam := c.LinearFactor
	if lam == 0 {
		lam = 1
	}
	scale := c.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(d.D))
	}
	clear(g.DQ)
	clear(g.DK)
	clear(g.DV)
	clear(g.DFQ)
	clear(g.DFK)
	w := c.Window
	par.For(d.B*d.Hkv, 1, par.Threads(c.Threads), func(t, _, _ int) {
		b, gk := t/d.Hkv, t%d.Hkv
		dn := make([]float64, d.S*d.Dv) // dN_i for the rows of the current head
		dz := make([]float64, d.S)
		st := make([]float64, nf*d.Dv) // running Σ φk ⊗ v, then Σ φq ⊗ dN
		sz := make([]float64, nf)
		sc := make([]float64, max(w, 0))
		de := make([]float64, max(w, 0))
		acc := make([]float64, max(d.D, nf, d.Dv))
		// float64 accumulators of the group's dK, dV and dFK.
		dk64, dv64, dfk64 := make([]float64, d.T*d.D), make([]float64, d.T*d.Dv), make([]float64, d.T*nf)
		for h := gk * d.G; h < (gk+1)*d.G; h++ {
			fkh := h
			if fkHeads == d.Hkv {
				fkh = gk
			} else {
				clear(dfk64)
			}
			kvRow := (b*d.Hkv + gk) * d.T
			fkRow := (b*fkHeads + fkh) * d.T
			// The output's gradient: dN_i and dZ_i need y_i and Z_i.
			// Forward sweep: Z_i, then ∂φq_i from the running state, and
			// the window part.
			clear(st)
			clear(sz)
			next := 0
			for i := range d.S {
				row := (b*d.H+h)*d.S + i
				ip := i + d.T - d.S
				lim := min(ip-w, d.T-1)
				for ; next <= lim; next++ {
					fk := in.FK[(fkRow+next)*nf:][:nf]
					v := in.V[(kvRow+next)*d.Dv:][:d.Dv]
					for f, a := range fk {
						af := float64(a)
						sz[f] += af
						for x, vx := range v {
							st[f*d.Dv+x] += af * float64(vx)
						}
					}
				}
				fq := in.FQ[row*nf:][:nf]
				var den float64
				if lim >= 0 {
					for f, a := range fq {
						den += lam * float64(a) * sz[f]
					}
				}
				j0, j1 := max(ip-w+1, 0), min(ip+1, d.T)
				m := math.Inf(-1)
				if w > 0 {
					q := in.Q[row*d.D:][:d.D]
					for j := j0; j < j1; j++ {
						k := in.K[(kvRow+j)*d.D:][:d.D]
						var s float64
						for x, qx := range q {
							s += float64(qx) * float64(k[x])
						}
						sc[j-j0] = scale * s
						m = max(m, sc[j-j0])
					}
					for j := j0; j < j1; j++ {
						den += c.WindowFactor * math.Exp(sc[j-j0]-m)
					}
				}
				dni := dn[i*d.Dv : (i+1)*d.Dv]
				if !(den > 0) {
					clear(dni)
					dz[i] = 0
					continue
				}
				var dy float64
				for x := range dni {
					g := float64(dOut[row*d.Dv+x])
					dni[x] = g / den
					dy += g * float64(out[row*d.Dv+x])
				}
				dz[i] = -dy / den
				// ∂φq_i = λ·(st·dN_i + sz·dZ_i).
				if lim >= 0 {
					dfq := g.DFQ[row*nf:][:nf]
					for f := range dfq {
						var s float64
						for x, v := range dni {
							s += st[f*d.Dv+x] * v
						}
						dfq[f] = F(lam * (s + sz[f]*dz[i]))
					}
				}
				if w == 0 || j0 >= j1 {
					continue
				}
				// Window: ∂L/∂e_ij, ∂v_j, ∂s_ij → ∂q_i, ∂k_j.
				var sumDE float64
				nmax := 0
				for j := j0; j < j1; j++ {
					e := c.WindowFactor * math.Exp(sc[j-j0]-m)
					v := in.V[(kvRow+j)*d.Dv:][:d.Dv]
					dv := dv64[j*d.Dv : (j+1)*d.Dv]
					dej := dz[i]
					for x, vx := range v {
						dej += dni[x] * float64(vx)
						dv[x] += e * dni[x]
					}
					de[j-j0] = e * dej
					sumDE += de[j-j0]
					if sc[j-j0] == m {
						nmax++
					}
				}
				q := in.Q[row*d.D:][:d.D]
				dq := acc[:d.D]
				clear(dq)
				for j := j0; j < j1; j++ {
					ds := de[j-j0]
					if sc[j-j0] == m {
						ds -= sumDE / float64(nmax)
					}
					ds *= scale
					k := in.K[(kvRow+j)*d.D:][:d.D]
					dk := dk64[j*d.D : (j+1)*d.D]
					for x := range dq {
						dq[x] += ds * float64(k[x])
						dk[x] += ds * float64(q[x])
					}
				}
				gq := g.DQ[row*d.D:][:d.D]
				for x, v := range dq {
					gq[x] = F(float64(gq[x]) + v)
				}
			}
			// Backward sweep over the keys: st = Σ φq_i ⊗ dN_i and sz =
			// Σ φq_i·dZ_i over the queries whose linear part holds key j.
			clear(st)
			clear(sz)
			i := d.S - 1
			for j := d.T - 1; j >= 0; j-- {
				for ; i >= 0 && i+d.T-d.S-w >= j; i-- {
					row := (b*d.H+h)*d.S + i
					fq := in.FQ[row*nf:][:nf]
					dni := dn[i*d.Dv : (i+1)*d.Dv]
					for f, a := range fq {
						af := lam * float64(a)
						sz[f] += af * dz[i]
						for x, v := range dni {
							st[f*d.Dv+x] += af * v
						}
					}
				}
				if i == d.S-1 {
					continue // no query's linear part holds key j
				}
				v := in.V[(kvRow+j)*d.Dv:][:d.Dv]
				fk := in.FK[(fkRow+j)*nf:][:nf]
				dfk := dfk64[j*nf : (j+1)*nf]
				dv := dv64[j*d.Dv : (j+1)*d.Dv]
				for f, a := range fk {
					s := sz[f]
					for x, vx := range v {
						s += st[f*d.Dv+x] * float64(vx)
						dv[x] += float64(a) * st[f*d.Dv+x]
					}
					dfk[f] += s
				}
			}
			if fkHeads != d.Hkv || h == (gk+1)*d.G-1 {
				for x, v := range dfk64 {
					g.DFK[fkRow*nf+x] = F(v)
				}
			}
		}
		kvRow := (b*d.Hkv + gk) * d.T
		for x, v := range dk64 {
			g.DK[kvRow*d.D+x] = F(v)
		}
		for x, v := range dv64 {
			g.DV[kvRow*d.Dv+x] = F(v)
		}
	})
	return nil
}

// FeatureMapBackward carries dphi = ∂L/∂φ [rows, 2·features] back
// through FeatureMap: dx [rows, dim] receives ∂L/∂x (nil: not computed)
// and dw [dim, features] ∂L/∂W summed over the rows, both overwritten.
// With p = softmax(xW), p' = softmax(−xW) and g, g' the two halves of
// dphi (zeroed where the floor 1e-12 was applied):
//
//	∂L/∂u = p∘(g − p·g) − p'∘(g' − p'·g'),  u = xW;  dx = ∂L/∂u·Wᵀ,  dW = Σ_rows xᵀ·∂L/∂u.
func FeatureMapBackward[F Float](dx, dw, x []F, rows, dim int, w []F, features int, dphi []F) error {
	phi := make([]F, len(dphi))
	if err := FeatureMap(phi, x, rows, dim, w, features); err != nil {
		return err
	}
	if len(dphi) != rows*2*features || dx != nil && len(dx) != rows*dim || len(dw) != dim*features {
		return fmt.Errorf("attention.FeatureMapBackward: len(dphi) = %d, len(dx) = %d, len(dw) = %d, want %d, %d (or nil), %d: %w",
			len(dphi), len(dx), len(dw), rows*2*features, rows*dim, dim*features, ErrShape)
	}
	for i, v := range dphi {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attention.FeatureMapBackward: dphi[%d] = %v: want finite: %w", i, v, ErrValue)
		}
	}
	acc := make([]float64, dim*features)
	u := make([]float64, features)
	du := make([]float64, features)
	p := make([]float64, 2*features)
	for r := range rows {
		xr := x[r*dim : (r+1)*dim]
		clear(u)
		for q, xv := range xr {
			for c := range features {
				u[c] += float64(xv) * float64(w[q*features+c])
			}
		}
		clear(du)
		for half, sign := range []float64{1, -1} {
			m := math.Inf(-1)
			for _, v := range u {
				m = max(m, sign*v)
			}
			var sum float64
			for c, v := range u {
				p[half*features+c] = math.Exp(sign*v - m)
				sum += p[half*features+c]
			}
			var dot float64
			gs := dphi[r*2*features+half*features:][:features]
			ps := p[half*features:][:features]
			for c := range ps {
				ps[c] /= sum
				if ps[c] >= FeatureEps { // the floor passes no gradient
					dot += ps[c] * float64(gs[c])
				}
			}
			for c := range ps {
				gc := 0.0
				if ps[c] >= FeatureEps {
					gc = float64(gs[c])
				}
				du[c] += sign * ps[c] * (gc - dot)
			}
		}
		for q, xv := range xr {
			for c, v := range du {
				acc[q*features+c] += float64(xv) * v
			}
		}
		if dx != nil {
			for q := range dim {
				var s float64
				for c, v := range du {
					s += v * float64(w[q*features+c])
				}
				dx[r*dim+q] = F(s)
			}
		}
	}
	for i, v := range acc {
		dw[i] = F(v)
	}
	return nil
}
