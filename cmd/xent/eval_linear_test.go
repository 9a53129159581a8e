package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/npy"
)

// TestEvalHeadStreams: xent eval --hidden streams the hidden states
// through the head (a vocabulary of 2¹⁹ makes its token blocks 16 rows,
// so 37 rows take three) and writes ∂H block by block; the loss and ∂H are
// the bits of linear.Head.Eval on the whole arrays in memory, float64
// hidden states give float64 ∂H (the float32 result widened), and a NaN in
// a later block is an error that leaves no ∂H file behind.
func TestEvalHeadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 MiB classifier and 32 MiB logits blocks")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	n, d, v := 37, 3, 1<<19
	h := make([]float32, n*d)
	for i := range h {
		h[i] = float32(rng.NormFloat64())
	}
	w := make([]float32, v*d)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(rng.IntN(v))
	}
	y[5] = -100
	hp := writeNPY(t, dir, "h.npy", h, n, d)
	wp := writeNPY(t, dir, "w.npy", w, v, d)
	yp := writeNPY(t, dir, "y.npy", y, n)
	gh := filepath.Join(dir, "gh.npy")
	code, out, errs := runCLI(t, "eval", "--hidden", hp, "--classifier", wp, "--targets", yp, "--grad-hidden", gh, "--json", "--threads", "2")
	if code != 0 {
		t.Fatal(errs)
	}
	want := make([]float32, n*d)
	st, err := linear.Head{}.Eval(linear.Input{Hidden: h, N: n, D: d, Weight: w, V: v, Targets64: y}, linear.Output{GradHidden: want})
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if got, _ := rep["loss"].(float64); got != st.Loss {
		t.Errorf("loss %v, in-memory head %v", got, st.Loss)
	}
	got, hd, err := npy.ReadFile[float32](gh)
	if err != nil || hd.DType.Size != 4 || len(got) != n*d {
		t.Fatalf("grad-hidden: %v %v", hd, err)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("∂H[%d] = %v, in-memory head %v", i, got[i], want[i])
		}
	}

	// float64 hidden states: rounded as they are read, ∂H widened.
	h64 := make([]float64, n*d)
	for i, x := range h {
		h64[i] = float64(x)
	}
	hp64 := writeNPY(t, dir, "h64.npy", h64, n, d)
	gh64 := filepath.Join(dir, "gh64.npy")
	if code, _, errs := runCLI(t, "eval", "--hidden", hp64, "--classifier", wp, "--targets", yp, "--grad-hidden", gh64); code != 0 {
		t.Fatal(errs)
	}
	got64, hd, err := npy.ReadFile[float64](gh64)
	if err != nil || hd.DType.Size != 8 {
		t.Fatalf("grad-hidden of float64 states: %v %v", hd, err)
	}
	for i := range want {
		if got64[i] != float64(want[i]) {
			t.Fatalf("float64 ∂H[%d] = %v, want %v widened", i, got64[i], want[i])
		}
	}

	// A NaN in the third block: an error naming it, and no ∂H file.
	h[34*d+1] = float32(math.NaN())
	bad := writeNPY(t, dir, "bad.npy", h, n, d)
	ghBad := filepath.Join(dir, "gh-bad.npy")
	checkErrors(t, []errorCase{
		{[]string{"eval", "--hidden", bad, "--classifier", wp, "--targets", yp, "--grad-hidden", ghBad}, 1, "Hidden[34, 1]"},
		{[]string{"eval", "--hidden", hp, "--classifier", wp, "--targets", yp, "--partial", filepath.Join(dir, "p.xacc")}, 2, "--partial"},
	})
	if _, err := os.Stat(ghBad); !os.IsNotExist(err) {
		t.Errorf("a failed evaluation left %s (%v)", ghBad, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*gh-bad*")); len(m) != 0 {
		t.Errorf("a failed evaluation left %v", m)
	}
}
