package loss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestKLDivSuite(t *testing.T) {
	for _, c := range []struct{ logT, batch, gen bool }{
		{false, false, false}, {true, false, false}, {false, true, false}, {false, false, true}, {true, true, true},
	} {
		t.Run(fmt.Sprintf("log_target=%v,batchmean=%v,generalized=%v", c.logT, c.batch, c.gen), func(t *testing.T) {
			elemSuite{
				build: func(opts ...Option) (Loss, error) { return NewKLDiv(c.logT, c.batch, c.gen, opts...) },
				ref: func(x, t float64) float64 {
					p := t
					if c.logT {
						p = math.Exp(t)
					}
					l := 0.0
					if p > 0 {
						l = p * (math.Log(p) - x)
					}
					if c.gen {
						l += math.Exp(x) - p
					}
					return l
				},
				target: func(rng *rand.Rand) float64 {
					v := rng.Float64() * 1.5 // unnormalised on purpose
					if rng.IntN(5) == 0 {
						v = 0
					}
					if c.logT {
						return math.Log(v)
					}
					return v
				},
				badTarget: map[bool]float64{false: -0.5, true: math.Inf(1)}[c.logT],
				perRow:    c.batch,
				scale:     1,
				maxScale:  30,
			}.run(t)
		})
	}
}

// TestKLDivPyTorch: KL(t ‖ softmax) of log-softmax inputs with batchmean
// is the KD divergence at temperature 1 (the teacher's softmax as t);
// PyTorch's hand value; −Inf inputs where the target is 0.
func TestKLDivPyTorch(t *testing.T) {
	rng := rand.New(rand.NewPCG(501, 502))
	const rows, cols = 4, 6
	s, te := randLogits(rng, rows*cols, 2), randLogits(rng, rows*cols, 2)
	lp, q := make([]float64, len(s)), make([]float64, len(s))
	for i := 0; i < rows; i++ {
		copy(lp[i*cols:], refLogSoftmax(s[i*cols:(i+1)*cols]))
		copy(q[i*cols:], refSoftmax(te[i*cols:(i+1)*cols]))
	}
	kl, _ := NewKLDiv(false, true, false)
	a, err := kl.Eval64(Input[float64]{Logits: lp, Cols: cols, Targets: q}, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := NewKD(1)
	b, _ := kd.Eval64(Input[float64]{Logits: s, Cols: cols, Teacher: te}, Output[float64]{})
	if math.Abs(a-b) > 1e-13*b {
		t.Errorf("kl-div batchmean %v, kd %v", a, b)
	}
	// PyTorch: kl_div([[-1, -2, -inf]], [[0.5, 0.5, 0]], reduction="none")
	// = [0.1534, 0.6534, nan]; here the last element is 0.
	l, _ := NewKLDiv(false, false, false, WithReduction(None))
	rows1 := make([]float64, 1)
	g := make([]float64, 3)
	if _, err := l.Eval64(Input[float64]{Logits: []float64{-1, -2, math.Inf(-1)}, Cols: 3, Targets: []float64{0.5, 0.5, 0}},
		Output[float64]{Rows: rows1, Grad: g}); err != nil {
		t.Fatal(err)
	}
	want := 0.5*(math.Log(0.5)+1) + 0.5*(math.Log(0.5)+2)
	if math.Abs(rows1[0]-want) > 1e-15 || g[0] != -0.5 || g[2] != 0 {
		t.Errorf("row %v (want %v), grad %v", rows1[0], want, g)
	}
	// −Inf where the target is positive is an infinite loss: an error.
	if _, err := l.Eval64(Input[float64]{Logits: []float64{math.Inf(-1)}, Cols: 1, Targets: []float64{0.5}}, Output[float64]{Rows: rows1}); !errors.Is(err, ErrValue) {
		t.Errorf("−Inf input with target 0.5: %v", err)
	}
	// The generalized divergence is zero exactly at t = e^x, normalised or
	// not.
	gen, _ := NewKLDiv(false, false, true, WithReduction(Sum))
	x := []float64{-0.5, 1, 0.25}
	tt := []float64{math.Exp(-0.5), math.Exp(1), math.Exp(0.25)}
	gg := make([]float64, 3)
	v, _ := gen.Eval64(Input[float64]{Logits: x, Cols: 3, Targets: tt}, Output[float64]{Grad: gg})
	if math.Abs(v) > 1e-15 || math.Abs(gg[0])+math.Abs(gg[1])+math.Abs(gg[2]) > 1e-15 {
		t.Errorf("generalized KL at its minimum: %v, grad %v", v, gg)
	}
	if _, _, err := Parse("kl-div:batchmean=2"); err == nil {
		t.Error("batchmean=2 accepted")
	}
}
