package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

func signedRandTarget(rng *rand.Rand) float64 { return []float64{-1, 0, 1}[rng.IntN(3)] }

func sgn(y float64) float64 {
	if y == 1 {
		return 1
	}
	return -1
}

func TestBinaryHingeSuite(t *testing.T) {
	for _, m := range []float64{1, 0.5, 0} {
		elemSuite{
			build:     func(opts ...Option) (Loss, error) { return NewBinaryHinge(m, opts...) },
			ref:       func(x, y float64) float64 { return math.Max(0, m-sgn(y)*x) },
			target:    signedRandTarget,
			badTarget: 0.5,
			kinks:     true,
		}.run(t)
	}
	if _, err := NewBinaryHinge(math.Inf(1)); err == nil {
		t.Error("infinite margin accepted")
	}
}

func TestBinaryPerceptronSuite(t *testing.T) {
	elemSuite{
		build:     func(opts ...Option) (Loss, error) { return NewBinaryPerceptron(opts...) },
		ref:       func(x, y float64) float64 { return math.Max(0, -sgn(y)*x) },
		target:    signedRandTarget,
		badTarget: 2,
		kinks:     true,
	}.run(t)
}

// refBinarySparsemax: the two-class sparsemax loss on [x, 0], from the
// Fenchel–Young form Σ_{j∈S} p_j(z_j − z_y) + ½(1 − ‖p‖²) with
// p = sparsemax([x, 0]) by the projection onto the simplex.
func refBinarySparsemax(x, y float64) float64 {
	z := []float64{x, 0}
	// Projection of z onto the simplex, two coordinates: τ from the
	// sorted values.
	hi, lo := math.Max(x, 0), math.Min(x, 0)
	tau := hi - 1 // support {argmax} when the gap is at least 1
	if hi-lo < 1 {
		tau = (hi + lo - 1) / 2
	}
	p := []float64{math.Max(0, z[0]-tau), math.Max(0, z[1]-tau)}
	k := 1 // the negative class is column 1 (logit 0)
	if y == 1 {
		k = 0
	}
	l := 0.5 * (1 - p[0]*p[0] - p[1]*p[1])
	for j := range z {
		l += p[j] * (z[j] - z[k])
	}
	return l
}

func TestBinarySparsemaxSuite(t *testing.T) {
	elemSuite{
		build:     func(opts ...Option) (Loss, error) { return NewBinarySparsemax(opts...) },
		ref:       refBinarySparsemax,
		target:    signedRandTarget,
		badTarget: 0.25,
		kinks:     true,
	}.run(t)
}

// TestBinaryAgainstTwoClass: the binary forms equal the multiclass losses
// on [x, 0] with the matching label (sparsemax: exactly; hinge-cs with
// the same margin: exactly).
func TestBinaryAgainstTwoClass(t *testing.T) {
	rng := rand.New(rand.NewPCG(301, 302))
	const n = 50
	x := randLogits(rng, n, 2)
	y := make([]float64, n)
	two := make([]float64, 2*n)
	lab := make([]int32, n)
	for i := range y {
		y[i] = float64(rng.IntN(2))
		two[2*i] = x[i]
		lab[i] = 1 - int32(y[i]) // column 0 is the positive class
	}
	for _, c := range []struct {
		bin, multi string
	}{{"binary-sparsemax", "sparsemax"}, {"binary-hinge", "hinge-cs"}} {
		lb, _, _ := Parse(c.bin, WithReduction(Sum))
		lm, _, _ := Parse(c.multi, WithReduction(Sum))
		gb, gm := make([]float64, n), make([]float64, 2*n)
		vb, err := lb.Eval64(Input[float64]{Logits: x, Cols: 1, Targets: y}, Output[float64]{Grad: gb})
		if err != nil {
			t.Fatal(err)
		}
		vm, err := lm.Eval64(Input[float64]{Logits: two, Cols: 2, Labels: lab}, Output[float64]{Grad: gm})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(vb-vm) > 1e-12*vm {
			t.Errorf("%s: %v, %s on [x, 0]: %v", c.bin, vb, c.multi, vm)
		}
		for i := range gb {
			if math.Abs(gb[i]-gm[2*i]) > 1e-12 {
				t.Fatalf("%s: grad[%d] %v, %s %v", c.bin, i, gb[i], c.multi, gm[2*i])
			}
		}
	}
	// Optax's sparse_plus at the joints is continuous with its derivative.
	f := func(v []float64) float64 {
		l, _ := NewBinarySparsemax(WithReduction(Sum))
		r, _ := l.Eval64(Input[float64]{Logits: v, Cols: 1, Targets: []float64{1, 0}}, Output[float64]{})
		return r
	}
	for _, at := range []float64{-1, 1} {
		v := []float64{at, at}
		l, _ := NewBinarySparsemax(WithReduction(Sum))
		g := make([]float64, 2)
		l.Eval64(Input[float64]{Logits: v, Cols: 1, Targets: []float64{1, 0}}, Output[float64]{Grad: g})
		if err := gradcheck.Check(f, g, v, 1e-6, 1e-6, 1e-5); err != nil {
			t.Errorf("at %v: %v", at, err)
		}
	}
}
