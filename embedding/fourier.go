package embedding

import (
	"fmt"
	"math"
	"math/cmplx"
)

// nameFourierHead is the registry name of this file's loss.
const nameFourierHead = "fourier-head"

// FourierHead is the loss of the Fourier head (catalog B8: Gillman et al.,
// "Fourier Head: Helping Large Language Models Learn Complex Probability
// Distributions", 2025): a categorical distribution over m ordered bins
// read off a non-negative truncated Fourier series, trained with
// cross-entropy, plus the frequency regulariser.
//
// Each row of Embeddings holds the head's 2(N+1) linear outputs: the real
// parts then the imaginary parts of a_0..a_N (Dim = 2(N+1)). With the
// autocorrelation c_k = Σ_j a_{j+k}·conj(a_j), the density on [−1, 1] is
// f(x) = ½ + Re Σ_{k=1}^{N} (c_k/c_0)·e^{iπkx} = |Σ_k a_k e^{iπkx}|²/(2c_0) ≥ 0,
// evaluated at the bin centres x_j = −1 + (2j+1)/m:
//
//	p_j = f(x_j)/Σ_l f(x_l),   ℓ_j = log(p_j + ε),   CE_i = −ℓ_y + log Σ_j e^{ℓ_j}
//	R_i = 2·Σ_{k=0}^{N} 2π²k²·|c_k|²
//	L = mean_i CE_i + γ·mean_i R_i
//
// (ε = 10⁻⁵, the authors' const_inverse_softmax; R on the unnormalised
// c_k, as in their code). Labels hold the target bin of each row. The
// density is evaluated in the |·|² form, so p is never negative (the
// authors' sum of cosines can round below 0). Gradient (derived): with
// g_j = softmax(ℓ)_j − δ_jy, h_j = g_j/(p_j + ε), A_l = Σ_k a_k e^{iπkx_l},
// q_l = |A_l|², Q = Σ q: ∂CE/∂q_l = (h_l − Σ_j h_j p_j)/Q and
// ∂q_l/∂a_k = 2·conj(A_l)·e^{iπkx_l} (real and imaginary parts); the
// regulariser through ∂c_k/∂a_{j+k} = conj(a_j), ∂c_k/∂conj(a_j) = a_{j+k}.
// A row whose series vanishes at every bin centre (all a = 0) is an
// error. The number of bins m is the caller's (the registry's default,
// 18, is the authors' README example); γ defaults to 0 (10⁻⁶ in their
// Atari experiments).
type FourierHead struct {
	Bins  int
	Gamma float64
	Eps   float64
}

// Name returns "fourier-head".
func (*FourierHead) Name() string { return nameFourierHead }

// Eval32 evaluates the loss on float32 inputs.
func (l *FourierHead) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *FourierHead) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*FourierHead) lossName() string { return nameFourierHead }
func (*FourierHead) reads() needs     { return needLabels }

func (l *FourierHead) eval(b *batch) (float64, error) {
	if l.Bins < 1 {
		return 0, valueErr(b.name, "bins = %d, want ≥ 1", l.Bins)
	}
	if err := param(b.name, "gamma", l.Gamma, l.Gamma >= 0); err != nil {
		return 0, err
	}
	if err := param(b.name, "eps", l.Eps, l.Eps >= 0); err != nil {
		return 0, err
	}
	if b.d%2 != 0 {
		return 0, shapeErr(b.name, "Dim = %d, want 2(N+1) (real then imaginary parts)", b.d)
	}
	if err := checkClassLabels(b.name, b.labels, l.Bins); err != nil {
		return 0, err
	}
	nf := b.d / 2
	m := l.Bins
	basis := fourierBasis(nf, m)
	var total float64
	inv := 1 / float64(b.n)
	for i := 0; i < b.n; i++ {
		row := b.z[i*b.d : (i+1)*b.d]
		a := make([]complex128, nf)
		for k := range a {
			a[k] = complex(row[k], row[nf+k])
		}
		var ga []complex128
		if b.gz != nil {
			ga = make([]complex128, nf)
		}
		ce, err := fourierCE(a, basis, m, int(b.labels[i]), l.Eps, ga)
		if err != nil {
			return 0, fmt.Errorf("%s: row %d: %w", b.name, i, err)
		}
		total += ce * inv
		for k := range ga {
			ga[k] *= complex(inv, 0)
		}
		if l.Gamma > 0 {
			total += l.Gamma * inv * fourierReg(a, ga, l.Gamma*inv)
		}
		for k := range ga {
			b.gz[i*b.d+k] = real(ga[k])
			b.gz[i*b.d+nf+k] = imag(ga[k])
		}
	}
	return total, nil
}

// fourierBasis returns e^{iπk·x_j} for the m bin centres x_j and k < nf,
// row-major [m, nf].
func fourierBasis(nf, m int) []complex128 {
	e := make([]complex128, m*nf)
	for j := 0; j < m; j++ {
		x := -1 + float64(2*j+1)/float64(m)
		for k := 0; k < nf; k++ {
			s, c := math.Sincos(math.Pi * float64(k) * x)
			e[j*nf+k] = complex(c, s)
		}
	}
	return e
}

// fourierPMF returns p_j and the series values A_j at the bin centres.
func fourierPMF(a, basis []complex128, m int) ([]float64, []complex128, float64, error) {
	nf := len(a)
	A := make([]complex128, m)
	p := make([]float64, m)
	var q float64
	for j := 0; j < m; j++ {
		var s complex128
		for k, ak := range a {
			s += ak * basis[j*nf+k]
		}
		A[j] = s
		p[j] = real(s)*real(s) + imag(s)*imag(s)
		q += p[j]
	}
	if !(q > 0) || math.IsInf(q, 0) {
		return nil, nil, 0, fmt.Errorf("the Fourier series is %v at every bin centre (all coefficients 0?): %w", q, ErrValue)
	}
	for j := range p {
		p[j] /= q
	}
	return p, A, q, nil
}

// fourierCE returns the cross-entropy of one row and, when ga is set,
// writes ∂CE/∂a there as (∂/∂Re a) + i(∂/∂Im a).
func fourierCE(a, basis []complex128, m, y int, eps float64, ga []complex128) (float64, error) {
	p, A, q, err := fourierPMF(a, basis, m)
	if err != nil {
		return 0, err
	}
	ls := math.Log1p(float64(m) * eps) // log Σ_j (p_j + ε)
	ce := ls - math.Log(p[y]+eps)
	if ga == nil {
		return ce, nil
	}
	h := make([]float64, m)
	var hp float64
	for j := range p {
		g := (p[j]+eps)/(1+float64(m)*eps) - delta(j, y)
		h[j] = g / (p[j] + eps)
		hp += h[j] * p[j]
	}
	nf := len(a)
	for l := 0; l < m; l++ {
		gq := (h[l] - hp) / q
		if gq == 0 {
			continue
		}
		ca := cmplx.Conj(A[l])
		for k := 0; k < nf; k++ {
			t := ca * basis[l*nf+k] // ∂q/∂Re a_k = 2 Re t, ∂q/∂Im a_k = −2 Im t
			ga[k] += complex(2*gq*real(t), -2*gq*imag(t))
		}
	}
	return ce, nil
}

// fourierReg returns Σ_k 2·2π²k²|c_k|² of one row and, when ga is set,
// adds scale times its gradient to ga.
func fourierReg(a, ga []complex128, scale float64) float64 {
	n := len(a) - 1
	var r float64
	for k := 1; k <= n; k++ {
		var c complex128
		for j := 0; j+k <= n; j++ {
			c += a[j+k] * cmplx.Conj(a[j])
		}
		w := 2 * 2 * math.Pi * math.Pi * float64(k*k)
		r += w * (real(c)*real(c) + imag(c)*imag(c))
		if ga == nil {
			continue
		}
		// ∂|c|²/∂Re a_m = 2 Re(conj(c)·dc), dc = conj(a_{m−k}) + a_{m+k};
		// ∂|c|²/∂Im a_m with dc = i(conj(a_{m−k}) − a_{m+k}).
		cc := cmplx.Conj(c)
		for mm := 0; mm <= n; mm++ {
			var dr, di complex128
			if mm-k >= 0 {
				dr += cmplx.Conj(a[mm-k])
				di += 1i * cmplx.Conj(a[mm-k])
			}
			if mm+k <= n {
				dr += a[mm+k]
				di -= 1i * a[mm+k]
			}
			ga[mm] += complex(scale*w*2*real(cc*dr), scale*w*2*real(cc*di))
		}
	}
	return r
}

// FourierPMF returns the Fourier head's categorical distribution over
// bins bins for one row of 2(N+1) coefficients (real parts, then
// imaginary parts): p_j = f(x_j)/Σ_l f(x_l) as in FourierHead.
func FourierPMF[T Float](coef []T, bins int) ([]float64, error) {
	if len(coef) == 0 || len(coef)%2 != 0 || bins < 1 {
		return nil, fmt.Errorf("FourierPMF: %d coefficients, %d bins: %w", len(coef), bins, ErrShape)
	}
	nf := len(coef) / 2
	a := make([]complex128, nf)
	for k := range a {
		a[k] = complex(float64(coef[k]), float64(coef[nf+k]))
	}
	p, _, _, err := fourierPMF(a, fourierBasis(nf, bins), bins)
	return p, err
}

// FourierSmoothness is the Fourier head paper's smoothness metric of a
// categorical distribution p over m ordered bins (lower is smoother):
//
//	S(p) = Σ_{σ=1}^{100} (6/(π²σ²))·‖p − G_σ∗p‖₂,
//
// G_σ∗p being p filtered with a Gaussian of standard deviation σ bins,
// truncated at radius m − 1, normalised to sum 1, with periodic (wrap)
// boundaries — the authors' get_smoothness with scipy's gaussian_filter1d.
func FourierSmoothness(p []float64) (float64, error) {
	m := len(p)
	if m == 0 {
		return 0, fmt.Errorf("FourierSmoothness: empty distribution: %w", ErrShape)
	}
	var s float64
	w := make([]float64, 2*m-1)
	for sigma := 1; sigma <= 100; sigma++ {
		var ws float64
		for r := -(m - 1); r <= m-1; r++ {
			w[r+m-1] = math.Exp(-0.5 * float64(r*r) / float64(sigma*sigma))
			ws += w[r+m-1]
		}
		var d2 float64
		for j := 0; j < m; j++ {
			var f float64
			for r := -(m - 1); r <= m-1; r++ {
				f += w[r+m-1] / ws * p[((j+r)%m+m)%m]
			}
			d2 += (p[j] - f) * (p[j] - f)
		}
		s += 6 / (math.Pi * math.Pi * float64(sigma*sigma)) * math.Sqrt(d2)
	}
	return s, nil
}

func init() {
	Register(Spec{
		Name:    nameFourierHead,
		Catalog: "B8",
		Summary: "Fourier head: bins from a Fourier-series density (rows = 2(N+1) coefficients), CE + frequency regulariser",
		Needs:   NeedsLabels,
		Params:  []Param{{"bins", 18, "number of bins m"}, {"gamma", 0, "regulariser weight γ ≥ 0"}, {"eps", 1e-5, "ε of log(p + ε)"}},
		New: func(p map[string]float64) (Loss, error) {
			bins, err := count(p, "bins", 1)
			if err != nil {
				return nil, err
			}
			if err := param(nameFourierHead, "gamma", p["gamma"], p["gamma"] >= 0); err != nil {
				return nil, err
			}
			if err := param(nameFourierHead, "eps", p["eps"], p["eps"] >= 0); err != nil {
				return nil, err
			}
			return &FourierHead{Bins: bins, Gamma: p["gamma"], Eps: p["eps"]}, nil
		},
	})
}
