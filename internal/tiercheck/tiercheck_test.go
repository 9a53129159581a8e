package tiercheck

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/xentlab/xent/attention"
	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/softmax"
)

// want is the SHA-256 of every output of TestSameBitsEveryTier. It is the
// same on every kernel tier: CI runs this test with the AVX-512 kernels
// (natively and on an emulated CPU), with the AVX2 tier forced
// (GODEBUG=cpu.avx512f=off) and under the purego build tag, and each run
// must reproduce it. (GODEBUG=cpu.all=off also hides FMA from Go's own
// math.Exp, which then takes another path with other last bits: that
// emulates a different CPU, not a different tier of xent, and is not
// compared.) Change want only with a deliberate change of the numerics,
// and say which in the commit.
const (
	wantCore = "f4acdc64a5fb8912428a8775dd6182197f90bb99aa5f51b2cdc42878c9b1a01a"
	// wantHead is the hash of the GEMM-based computations: the fused head
	// and attention (forward and backward, every normalizer, prefill and
	// decoding shapes).
	wantHead = "c29e073d1829662f082c78f30e4501e698d86350c62c8833af8bc6239c989534"
)

type digest struct{ h hash.Hash }

func (d digest) f32(x ...float32) {
	for _, v := range x {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		d.h.Write(b[:])
	}
}

func (d digest) f64(x ...float64) {
	for _, v := range x {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		d.h.Write(b[:])
	}
}

func (d digest) str(s string) { d.h.Write([]byte(s)) }

// rowsOf returns a matrix whose rows take every path of the kernels:
// maxima in every range of vek.Shift32 and between them, masks, one-hot
// rows, ties, tails of every length modulo the vector sizes.
func rowsOf(rng *rand.Rand, rows, cols int) []float32 {
	x := make([]float32, rows*cols)
	offsets := []float64{0, 3, 30, 100, 150, 1e4, -30, -50, -100, -1e4, 84}
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		off := offsets[r%len(offsets)]
		for i := range row {
			row[i] = float32(rng.NormFloat64()*3 + off)
		}
		switch r % 7 {
		case 3:
			for i := range row {
				row[i] = float32(math.Inf(-1))
			}
			row[rng.IntN(cols)] = float32(off)
		case 5:
			for i := 0; i < cols; i += 3 {
				row[i] = float32(math.Inf(-1))
			}
		case 6:
			for i := range row {
				row[i] = float32(int(row[i]))
			}
		}
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v) * (1 + 1e-9)
	}
	return y
}

// TestSameBitsEveryTier hashes the outputs of the public row-wise
// functions and of every registered loss (value and gradient, float32 and
// float64) on fixed inputs.
func TestSameBitsEveryTier(t *testing.T) {
	if !cpu.X86.HasFMA {
		t.Skip("without FMA Go's math.Exp takes another path (see want)")
	}
	d := digest{sha256.New()}
	rng := rand.New(rand.NewPCG(2026, 12))
	for _, cols := range []int{1, 7, 16, 63, 64, 65, 1000, 16400} {
		rows := 23
		if cols > 5000 {
			rows = 3
		}
		x := rowsOf(rng, rows, cols)
		x64 := to64(x)
		y := make([]float32, len(x))
		y64 := make([]float64, len(x))
		l := make([]float32, rows)
		l64 := make([]float64, rows)
		for _, temp := range []float64{1, 0.6} {
			for _, th := range []int{1, 2} {
				opts := []softmax.Option{softmax.Temperature(temp), softmax.Threads(th)}
				for _, f := range []func() error{
					func() error { return softmax.Softmax(y, x, cols, opts...) },
					func() error { return softmax.LogSoftmax(y, x, cols, opts...) },
				} {
					if err := f(); err != nil {
						t.Fatal(err)
					}
					d.f32(y...)
				}
				if err := softmax.LogSumExp(l, x, cols, opts...); err != nil {
					t.Fatal(err)
				}
				d.f32(l...)
				for _, f := range []func() error{
					func() error { return softmax.Softmax(y64, x64, cols, opts...) },
					func() error { return softmax.LogSoftmax(y64, x64, cols, opts...) },
				} {
					if err := f(); err != nil {
						t.Fatal(err)
					}
					d.f64(y64...)
				}
				if err := softmax.LogSumExp(l64, x64, cols, opts...); err != nil {
					t.Fatal(err)
				}
				d.f64(l64...)
			}
		}
		if err := softmax.TwoPassSoftmax(y, x, cols); err != nil {
			t.Fatal(err)
		}
		d.f32(y...)
		if err := softmax.TwoPassLogSumExp(l, x, cols); err != nil {
			t.Fatal(err)
		}
		d.f32(l...)
		vek.Exp32(y, x)
		d.f32(y...)
		vek.Exp64(y64, x64)
		d.f64(y64...)
		d.f64(vek.Sum32(x), vek.Sum64(x64))
	}
	hashLosses(t, d, rng)
	if got := fmt.Sprintf("%x", d.h.Sum(nil)); got != wantCore {
		t.Errorf("softmax and losses hash to %s, want %s (tier %s)", got, wantCore, vek.Accelerated())
	}
	dh := digest{sha256.New()}
	hashHead(t, dh, rng)
	hashAttention(t, dh, rng)
	if got := fmt.Sprintf("%x", dh.h.Sum(nil)); got != wantHead {
		t.Errorf("the fused head hashes to %s, want %s (tier %s)", got, wantHead, vek.Accelerated())
	}
}

// hashLosses evaluates every registered loss with its defaults on inputs
// of the kind it reads.
func hashLosses(t *testing.T, d digest, rng *rand.Rand) {
	const rows, cols = 9, 37
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	x[5] = 12
	labels := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(cols))
	}
	soft := make([]float32, len(x))
	teacher := make([]float32, len(x))
	for i := range soft {
		soft[i] = float32(rng.Float64())
		teacher[i] = float32(rng.NormFloat64())
	}
	for r := 0; r < rows; r++ {
		var s float32
		for _, v := range soft[r*cols : (r+1)*cols] {
			s += v
		}
		for j := range soft[r*cols : (r+1)*cols] {
			soft[r*cols+j] /= s
		}
	}
	scalar := make([]float32, rows)
	for i := range scalar {
		scalar[i] = float32(rng.Float64())
	}
	for _, spec := range loss.Specs() {
		l, _, err := loss.Parse(spec.Name)
		if err != nil {
			t.Fatalf("%s: %v", spec.Name, err)
		}
		in := loss.Input[float32]{Logits: x, Cols: cols}
		switch {
		case spec.Needs&loss.NeedsLabels != 0:
			in.Labels = labels
		case spec.Needs&loss.NeedsTargets != 0:
			in.Targets = soft
		case spec.Needs&loss.NeedsScalarTargets != 0:
			in.Targets = scalar
		}
		if spec.Needs&loss.NeedsTeacher != 0 {
			in.Teacher = teacher
		}
		g := make([]float32, len(x))
		v, err := l.Eval32(in, loss.Output[float32]{Grad: g})
		d.str(spec.Name)
		if err != nil {
			d.str(err.Error()) // the same error on every tier
			continue
		}
		d.f64(v)
		d.f32(g...)
		in64 := loss.Input[float64]{Logits: to64(x), Cols: cols, Labels: in.Labels, Targets: to64(in.Targets), Teacher: to64(in.Teacher)}
		if in.Targets == nil {
			in64.Targets = nil
		}
		if in.Teacher == nil {
			in64.Teacher = nil
		}
		g64 := make([]float64, len(x))
		v64, err := l.Eval64(in64, loss.Output[float64]{Grad: g64})
		if err != nil {
			d.str(err.Error())
			continue
		}
		d.f64(v64)
		d.f64(g64...)
	}
}

// hashHead runs the fused classifier head forward and backward.
func hashHead(t *testing.T, d digest, rng *rand.Rand) {
	const n, dim, v = 37, 19, 301
	in := linear.Input{Hidden: make([]float32, n*dim), N: n, D: dim, Weight: make([]float32, v*dim), V: v, Targets: make([]int32, n)}
	for i := range in.Hidden {
		in.Hidden[i] = float32(rng.NormFloat64())
	}
	for i := range in.Weight {
		in.Weight[i] = float32(rng.NormFloat64() * 0.3)
	}
	for i := range in.Targets {
		in.Targets[i] = int32(rng.IntN(v))
	}
	out := linear.Output{GradHidden: make([]float32, n*dim), GradWeight: make([]float32, v*dim)}
	st, err := linear.Head{}.Eval(in, out)
	if err != nil {
		t.Fatal(err)
	}
	d.f64(st.Loss)
	d.f32(out.GradHidden...)
	d.f32(out.GradWeight...)
}

// hashAttention runs fused attention forward and backward with each
// normalizer, causal and not, with grouped-query heads: a prefill shape
// (the GEMM path) and two decoding shapes (a few query rows per key/value
// head: keys split across tasks, dot products and axpys against K and V
// in place; a head size that is not a multiple of 16).
func hashAttention(t *testing.T, d digest, rng *rand.Rand) {
	for _, sh := range []attention.Shape{
		{Batch: 1, Heads: 4, KVHeads: 2, Queries: 37, Keys: 300, Dim: 24},
		{Batch: 2, Heads: 4, KVHeads: 2, Queries: 1, Keys: 2500, Dim: 40},
		{Batch: 1, Heads: 6, KVHeads: 2, Queries: 2, Keys: 700, Dim: 128},
	} {
		hashAttentionShape(t, d, rng, sh)
	}
}

func hashAttentionShape(t *testing.T, d digest, rng *rand.Rand, sh attention.Shape) {
	n := func(rows int) []float32 {
		x := make([]float32, rows*sh.Dim)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	in := attention.Input[float32]{Q: n(sh.Batch * sh.Heads * sh.Queries), K: n(sh.Batch * sh.KVHeads * sh.Keys), V: n(sh.Batch * sh.KVHeads * sh.Keys), Shape: sh}
	dOut := n(sh.Batch * sh.Heads * sh.Queries)
	for _, norm := range []string{"softmax", "sigmoid", "softplus"} {
		nz, err := attention.ParseNormalizer(norm)
		if err != nil {
			t.Fatal(err)
		}
		for _, causal := range []bool{false, true} {
			cfg := attention.Config{Causal: causal, Normalizer: nz}
			out := attention.Output[float32]{Out: make([]float32, len(in.Q)), LSE: make([]float32, sh.Batch*sh.Heads*sh.Queries)}
			if err := attention.Forward(cfg, in, out); err != nil {
				d.str(err.Error())
				continue
			}
			g := attention.Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
			if err := attention.Backward(cfg, in, out, dOut, &g); err != nil {
				d.str(err.Error())
				continue
			}
			d.f32(out.Out...)
			d.f32(out.LSE...)
			d.f32(g.DQ...)
			d.f32(g.DK...)
			d.f32(g.DV...)
		}
	}
}
