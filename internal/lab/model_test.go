package lab

import (
	"math"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
	"github.com/xentlab/xent/loss"
)

// forward64 is a float64 reference of Model.Forward: plain loops, no
// gemm.
func forward64(m *Model, p, x []float64, rows int) []float64 {
	lin := func(in, out int, x, w, b []float64) []float64 {
		y := make([]float64, rows*out)
		for i := 0; i < rows; i++ {
			for j := 0; j < out; j++ {
				s := b[j]
				for k := 0; k < in; k++ {
					s += x[i*in+k] * w[k*out+j]
				}
				y[i*out+j] = s
			}
		}
		return y
	}
	if m.Hidden == 0 {
		n := m.In * m.Out
		return lin(m.In, m.Out, x, p[:n], p[n:])
	}
	n1, n2 := m.In*m.Hidden, m.Hidden*m.Out
	h := lin(m.In, m.Hidden, x, p[:n1], p[n1:n1+m.Hidden])
	for i, v := range h {
		h[i] = math.Max(v, 0)
	}
	return lin(m.Hidden, m.Out, h, p[n1+m.Hidden:n1+m.Hidden+n2], p[n1+m.Hidden+n2:])
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// tinyBatch returns rows×in inputs and labels in [0, out).
func tinyBatch(rows, in, out int, seed uint64) ([]float32, []int32) {
	r := newRNG(seed)
	x := make([]float32, rows*in)
	for i := range x {
		x[i] = float32(2*r.float64() - 1)
	}
	y := make([]int32, rows)
	for i := range y {
		y[i] = int32(r.intn(out))
	}
	return x, y
}

// TestBackwardGradcheck compares the backward pass of both models,
// through several registered losses, with central differences of a
// float64 reference forward pass and the loss's Eval64.
func TestBackwardGradcheck(t *testing.T) {
	const rows, in, hidden, out = 7, 5, 6, 4
	x, y := tinyBatch(rows, in, out, 3)
	lin, err := NewLinear(in, out)
	if err != nil {
		t.Fatal(err)
	}
	rl := newRNG(9)
	for i := range lin.Params { // zero weights would hide mistakes
		lin.Params[i] = float32(rl.float64() - 0.5)
	}
	mlp, err := NewMLP(in, hidden, out, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range mlp.Params[in*hidden : in*hidden+hidden] { // nonzero biases
		mlp.Params[in*hidden+i] = float32(0.1 * (rl.float64() - 0.5))
	}
	for _, m := range []*Model{lin, mlp} {
		for _, name := range []string{"cross-entropy", "focal", "gce", "ldr-kl:lambda=2"} {
			l, _, err := loss.Parse(name)
			if err != nil {
				t.Logf("%s not registered: skipped", name)
				continue
			}
			t.Run(m.Kind()+"/"+name, func(t *testing.T) {
				var ws Workspace
				logits, err := m.Forward(&ws, x, rows)
				if err != nil {
					t.Fatal(err)
				}
				dl := make([]float32, len(logits))
				if _, err := l.Eval32(loss.Input[float32]{Logits: logits, Cols: out, Labels: y}, loss.Output[float32]{Grad: dl}); err != nil {
					t.Fatal(err)
				}
				grad := make([]float32, len(m.Params))
				if err := m.Backward(&ws, dl, grad); err != nil {
					t.Fatal(err)
				}
				x64 := to64(x)
				f := func(p []float64) float64 {
					v, err := l.Eval64(loss.Input[float64]{Logits: forward64(m, p, x64, rows), Cols: out, Labels: y}, loss.Output[float64]{})
					if err != nil {
						t.Fatal(err)
					}
					return v
				}
				if err := gradcheck.Check(f, to64(grad), to64(m.Params), 1e-6, 2e-5, 2e-3); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestForwardMatchesReference checks the gemm forward pass against the
// float64 loops on a batch larger than one gemm block.
func TestForwardMatchesReference(t *testing.T) {
	const rows, in, hidden, out = 300, 40, 33, 10
	x, _ := tinyBatch(rows, in, out, 5)
	m, err := NewMLP(in, hidden, out, 6)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Logits(x, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := forward64(m, to64(m.Params), to64(x), rows)
	if err := gradcheck.Compare(to64(got), want, 1e-5, 1e-5); err != nil {
		t.Error(err)
	}
}

func TestModelErrors(t *testing.T) {
	if _, err := NewLinear(0, 3); err == nil {
		t.Error("NewLinear(0, 3): no error")
	}
	if _, err := NewMLP(3, 0, 3, 1); err == nil {
		t.Error("NewMLP with 0 hidden units: no error")
	}
	m, _ := NewMLP(3, 2, 2, 1)
	var ws Workspace
	if _, err := m.Forward(&ws, make([]float32, 5), 2); err == nil {
		t.Error("Forward on a short batch: no error")
	}
	if err := m.Backward(&ws, make([]float32, 4), make([]float32, len(m.Params))); err == nil {
		t.Error("Backward before Forward: no error")
	}
	if _, err := m.Forward(&ws, make([]float32, 6), 2); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(&ws, make([]float32, 3), make([]float32, len(m.Params))); err == nil {
		t.Error("Backward with short logit gradients: no error")
	}
}

func TestDecayedSpans(t *testing.T) {
	m, _ := NewMLP(3, 4, 2, 1)
	want := []Span{{0, 12}, {16, 24}}
	got := m.Decayed()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || len(m.Params) != 26 {
		t.Errorf("Decayed %v (params %d), want %v (26)", got, len(m.Params), want)
	}
}
