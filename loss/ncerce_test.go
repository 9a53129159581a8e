package loss

import (
	"fmt"
	"math"
	"testing"
)

// refNCERCE writes α·NCE + β·RCE from log-probabilities, RCE as the
// official code's sum over classes with log q_k = a off the label.
func refNCERCE(alpha, beta, a float64) hardRef {
	return func(x []float64, y int) float64 {
		lp := refLogSoftmax(x)
		var den, rce float64
		for k, v := range lp {
			den -= v
			if k != y {
				rce -= math.Exp(v) * a
			}
		}
		if len(x) == 1 {
			return alpha
		}
		return alpha*(-lp[y])/den + beta*rce
	}
}

func TestNCERCESuite(t *testing.T) {
	for _, p := range [][3]float64{{1, 1, NCERCELog0}, {10, 0.1, -4}, {0, 1, -1}} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			hardSuite{
				build:   func(opts ...Option) (Loss, error) { return NewNCERCE(p[0], p[1], p[2], opts...) },
				ref:     refNCERCE(p[0], p[1], p[2]),
				weights: true,
			}.run(t)
		})
	}
}

// TestNCERCEVectors: mpmath values (40 digits, numerical derivatives);
// A = log(1e-4) unless stated.
func TestNCERCEVectors(t *testing.T) {
	if math.Abs(NCERCELog0-(-9.21034037197618)) > 1e-14 {
		t.Errorf("log 1e-4 = %v", NCERCELog0)
	}
	cases := []struct {
		alpha, beta, a float64
		x              []float64
		y              int32
		loss           float64
		grad           []float64
	}{
		{1, 1, NCERCELog0, []float64{1, 2, 0.5}, 0, 7.45683362111, []float64{-1.80509894833, 1.41443602218, 0.390662926147}},
		{1, 1, NCERCELog0, []float64{1, 2, 0.5}, 1, 3.54062906159, []float64{1.40733174481, -2.27297698959, 0.865645244785}},
		{10, 0.1, -4, []float64{1, 2, 0.5}, 0, 4.06895092468, []float64{-1.74984683741, 0.816962061764, 0.932884775647}},
		{1, 1, NCERCELog0, []float64{20, 0, 0, -20}, 0, 3.80193815663e-8, []float64{-3.80213137412e-8, 1.90103347957e-8, 1.90103347957e-8, 6.44149687976e-13}},
	}
	for _, c := range cases {
		l, err := NewNCERCE(c.alpha, c.beta, c.a)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, len(c.x))
		v, err := l.Eval64(Input[float64]{Logits: c.x, Cols: len(c.x), Labels: []int32{c.y}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(v-c.loss) > 1e-10*c.loss {
			t.Errorf("%v: loss %.12g, want %.12g", c.x, v, c.loss)
		}
		for j := range g {
			if math.Abs(g[j]-c.grad[j]) > 1e-9*math.Abs(c.grad[j]) {
				t.Errorf("%v: grad %v, want %v", c.x, g, c.grad)
				break
			}
		}
	}
	// Uniform rows: NCE = 1/K, RCE = −A·(1 − 1/K).
	l, _ := NewNCERCE(1, 1, NCERCELog0)
	for _, K := range []int{1, 2, 10} {
		x := make([]float32, K)
		for j := range x {
			x[j] = 1e4
		}
		g := make([]float32, K)
		v, err := l.Eval32(Input[float32]{Logits: x, Cols: K, Labels: []int32{0}}, Output[float32]{Grad: g})
		want := 1/float64(K) - NCERCELog0*(1-1/float64(K))
		if err != nil || math.Abs(v-want) > 1e-6*want {
			t.Errorf("K %d: %v (want %v), %v", K, v, want, err)
		}
	}
	if _, err := l.Eval64(Input[float64]{Logits: []float64{0, math.Inf(-1), 1}, Cols: 3, Labels: []int32{0}}, Output[float64]{}); err == nil {
		t.Error("a −Inf logit was accepted")
	}
	if _, err := NewNCERCE(1, 1, 0); err == nil {
		t.Error("a = 0 accepted")
	}
}
