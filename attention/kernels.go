package attention

import (
	"math"

	"github.com/xentlab/xent/internal/vek"
)

// The element-wise kernels of this file, but the sigmoid, are portable Go:
// internal/vek has no tanh, logarithm or element-wise product. They are
// written four elements at a time so that the compiler keeps bounds checks
// out of the loops; they are the candidates for SIMD kernels.

// sigmoidRow sets x_j = σ(x_j + b) = 1/(1 + exp(−x_j − b)) (vek.Sigmoid32).
// −Inf gives 0.
func sigmoidRow(x []float32, b float32) {
	vek.Sigmoid32(x, x, b)
}

// sigmoidRowSum is sigmoidRow that returns the sum of the weights
// (vek.SigmoidSum32: the bits of vek.Sum32 over them).
func sigmoidRowSum(x []float32, b float32) float64 {
	return vek.SigmoidSum32(x, x, b)
}

// tanhSmall is the boundary below which tanh is evaluated by its odd
// Taylor polynomial of degree 13 (the next term is below 2⁻²⁷ relative
// there); above it (1 − e)/(1 + e) loses little to cancellation.
const tanhSmall = 0.4

// softcapRow sets x_j = c·tanh(x_j/c), using tmp (len ≥ len(x)) as
// scratch, and, when th is not nil, th_j = tanh(x_j/c). tanh|y| is
// (1 − e)/(1 + e) with e = exp(−2|y|) (vek.Exp32, within 2 ulp) for
// |y| ≥ 0.4 and an odd Taylor polynomial below, both in float64, so the
// result is within 5 ulp of c·tanh(x/c); ±Inf give ±c.
func softcapRow(x, tmp []float32, c float32, th []float32) {
	inv := 1 / c
	tmp = tmp[:len(x)]
	for j, v := range x {
		tmp[j] = -2 * inv * abs32(v)
	}
	vek.Exp32(tmp, tmp)
	for j, v := range x {
		y := float64(abs32(v)) / float64(c)
		var t float64
		if y < tanhSmall {
			y2 := y * y
			t = y * (1 + y2*(-1.0/3+y2*(2.0/15+y2*(-17.0/315+y2*(62.0/2835+y2*(-1382.0/155925+y2*(21844.0/6081075)))))))
		} else {
			e := float64(tmp[j])
			t = (1 - e) / (1 + e)
		}
		if v < 0 {
			t = -t
		}
		if th != nil {
			th[j] = float32(t)
		}
		x[j] = float32(float64(c) * t)
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// logSoftplusRow sets x_j = log softplus(κ·x_j) (−Inf stays −Inf), the
// scores whose softmax is the softplus normalizer. Evaluated in float64.
func logSoftplusRow(x []float32, kappa float32) {
	k := float64(kappa)
	for j, v := range x {
		if math.IsInf(float64(v), -1) {
			continue
		}
		x[j] = float32(logSoftplus(k * float64(v)))
	}
}

// softplus is log(1 + eᶻ) in the stable form max(z, 0) + log1p(e^−|z|).
func softplus(z float64) float64 {
	return max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// logSoftplus is log(softplus(z)) for every z, including z so negative
// that softplus underflows (there it is z − eᶻ/2 to double precision).
func logSoftplus(z float64) float64 {
	if z < -30 {
		return z - math.Exp(z)/2
	}
	return math.Log(softplus(z))
}

// sigmoidOverSoftplus is σ(z)/softplus(z) (→ 1 as z → −∞), the derivative
// of log softplus(z).
func sigmoidOverSoftplus(z float64) float64 {
	if z < -30 {
		return 1 - math.Exp(z)/2
	}
	return sigmoid(z) / softplus(z)
}

// sigmoid is the logistic function, stable for every z.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// dot returns Σ x_i·y_i accumulated in float64 (len(y) ≥ len(x)).
func dot(x, y []float32) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	n := len(x) &^ 3
	for i := 0; i < n; i += 4 {
		a, b := (*[4]float32)(x[i:]), (*[4]float32)(y[i:])
		s0 += float64(a[0]) * float64(b[0])
		s1 += float64(a[1]) * float64(b[1])
		s2 += float64(a[2]) * float64(b[2])
		s3 += float64(a[3]) * float64(b[3])
	}
	for i := n; i < len(x); i++ {
		s0 += float64(x[i]) * float64(y[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// dsSoftmax sets dp_j = τ·p_j·(dp_j − d): the gradient with respect to
// the scores of a softmax row with weights p, given dp_j = ∂L/∂p_j and
// d = Σ p_j·dp_j.
func dsSoftmax(dp, p []float32, d, tau float32) {
	p = p[:len(dp)]
	n := len(dp) &^ 7
	if tau != 1 {
		for j := 0; j < n; j += 8 {
			g, a := (*[8]float32)(dp[j:]), (*[8]float32)(p[j:])
			g[0], g[1], g[2], g[3] = tau*a[0]*(g[0]-d), tau*a[1]*(g[1]-d), tau*a[2]*(g[2]-d), tau*a[3]*(g[3]-d)
			g[4], g[5], g[6], g[7] = tau*a[4]*(g[4]-d), tau*a[5]*(g[5]-d), tau*a[6]*(g[6]-d), tau*a[7]*(g[7]-d)
		}
	} else {
		for j := 0; j < n; j += 8 {
			g, a := (*[8]float32)(dp[j:]), (*[8]float32)(p[j:])
			g[0], g[1], g[2], g[3] = a[0]*(g[0]-d), a[1]*(g[1]-d), a[2]*(g[2]-d), a[3]*(g[3]-d)
			g[4], g[5], g[6], g[7] = a[4]*(g[4]-d), a[5]*(g[5]-d), a[6]*(g[6]-d), a[7]*(g[7]-d)
		}
	}
	for j := n; j < len(dp); j++ {
		dp[j] = tau * p[j] * (dp[j] - d)
	}
}

// dsDot returns Σ_j z_j·p_j·(dp_j − d) over the entries with p_j ≠ 0, in
// float64: ∂L/∂τ of a softmax row with weights p = softmax(τ·z).
func dsDot(p, dp, z []float32, d float32) float64 {
	var s float64
	for j, a := range p {
		if a != 0 {
			s += float64(z[j]) * float64(a) * (float64(dp[j]) - float64(d))
		}
	}
	return s
}

// dsSigmoid sets dp_j = dp_j·a_j·(1 − a_j).
func dsSigmoid(dp, a []float32) {
	a = a[:len(dp)]
	n := len(dp) &^ 3
	for j := 0; j < n; j += 4 {
		g, x := (*[4]float32)(dp[j:]), (*[4]float32)(a[j:])
		g[0] *= x[0] * (1 - x[0])
		g[1] *= x[1] * (1 - x[1])
		g[2] *= x[2] * (1 - x[2])
		g[3] *= x[3] * (1 - x[3])
	}
	for j := n; j < len(dp); j++ {
		dp[j] *= a[j] * (1 - a[j])
	}
}

// dsSoftplus sets dp_j = p_j·(dp_j − d)·κ·σ(κz_j)/softplus(κz_j), the
// gradient with respect to the scores z of the softplus normalizer with
// weights p.
func dsSoftplus(dp, p, z []float32, d, kappa float32) {
	k := float64(kappa)
	for j, a := range p {
		if a == 0 {
			dp[j] = 0
			continue
		}
		dp[j] = float32(float64(a) * (float64(dp[j]) - float64(d)) * k * sigmoidOverSoftplus(k*float64(z[j])))
	}
}

// dsSoftcap sets dp_j *= 1 − th_j², the derivative of c·tanh(s/c) given
// th_j = tanh(s_j/c).
func dsSoftcap(dp, th []float32) {
	th = th[:len(dp)]
	for j, t := range th {
		dp[j] *= 1 - t*t
	}
}
