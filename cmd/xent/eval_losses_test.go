package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

// TestEvalNewLosses: the losses ported from PyTorch and Optax evaluate
// from the command line on hand-computed values; a logit vector [N]
// works for the elementwise losses and its gradient keeps the shape [N].
func TestEvalNewLosses(t *testing.T) {
	dir := t.TempDir()
	vec := writeNPY(t, dir, "v.npy", []float32{2, -0.5, 0}, 3)
	sign := writeNPY(t, dir, "s.npy", []float32{1, -1, 0}, 3)
	lp := writeNPY(t, dir, "lp.npy", []float64{-1, -2, -0.5, -3}, 2, 2)
	lab := writeNPY(t, dir, "lab.npy", []int64{1, -100}, 2)
	prob := writeNPY(t, dir, "p.npy", []float64{0.5, 0.5, 1, 0}, 2, 2)
	mm := writeNPY(t, dir, "mm.npy", []float64{0.1, 0.2, 0.4, 0.8, 0.5, -0.3, 0.2, 0.9}, 2, 4)
	mmy := writeNPY(t, dir, "mmy.npy", []int64{3, 0}, 2)
	soft := writeNPY(t, dir, "soft.npy", []float64{1, 0, 0, 0, 1, 0, 0, 0}, 2, 4)
	grad := filepath.Join(dir, "g.npy")
	cases := []struct {
		args []string
		want float64
	}{
		// max(0, 1 − 2), max(0, 1 − 0.5), max(0, 1 − 0) over 3 elements.
		{[]string{"--loss", "binary-hinge", "--logits", vec, "--targets", sign, "--grad", grad}, (0 + 0.5 + 1) / 3.0},
		{[]string{"--loss", "binary-perceptron", "--logits", vec, "--targets", sign, "--reduction", "sum"}, 0},
		// sparse_plus(−2) = 0, sparse_plus(−0.5) = 0.0625, sparse_plus(0) = 0.25.
		{[]string{"--loss", "binary-sparsemax", "--logits", vec, "--targets", sign, "--reduction", "sum"}, 0.3125},
		// PyTorch: nll_loss([[−1, −2], [−0.5, −3]], [1, −100]) = 2.
		{[]string{"--loss", "nll", "--logits", lp, "--targets", lab}, 2},
		// Σ t(log t − x) / 4 elements, the zero target counting 0.
		{[]string{"--loss", "kl-div", "--logits", lp, "--targets", prob}, (0.5*(math.Log(0.5)+1) + 0.5*(math.Log(0.5)+2) + 0.5) / 4},
		{[]string{"--loss", "kl-div:batchmean=1", "--logits", lp, "--targets", prob}, (0.5*(math.Log(0.5)+1) + 0.5*(math.Log(0.5)+2) + 0.5) / 2},
		// PyTorch: multi_margin_loss(p=1) mean = 0.36875 with weights [1, 2, 3, 0.5].
		{[]string{"--loss", "multi-margin", "--logits", mm, "--targets", mmy, "--weights", writeNPY(t, dir, "w.npy", []float64{1, 2, 3, 0.5}, 4)}, 0.36875},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, append(append([]string{"eval"}, c.args...), "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
		if got := decodeJSON(t, out)["loss"].(float64); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%v: loss %v, want %v", c.args, got, c.want)
		}
	}
	g, h, err := npy.ReadFile[float32](grad)
	if err != nil || len(h.Shape) != 1 || h.Shape[0] != 3 || g[0] != 0 || math.Abs(float64(g[1])-1.0/3) > 1e-7 {
		t.Errorf("vector gradient %v %v %v", g, h, err)
	}
	// poly1 with one-hot soft targets equals poly1 with labels.
	_, o1, _ := runCLI(t, "eval", "--loss", "poly1:epsilon=2", "--logits", mm, "--targets", soft, "--json")
	_, o2, _ := runCLI(t, "eval", "--loss", "poly1:epsilon=2", "--logits", mm, "--targets", writeNPY(t, dir, "y0.npy", []int64{0, 0}, 2), "--json")
	if a, b := decodeJSON(t, o1)["loss"].(float64), decodeJSON(t, o2)["loss"].(float64); math.Abs(a-b) > 1e-6 {
		t.Errorf("poly1 soft %v, labels %v", a, b)
	}
	// For the other losses a vector is one example's logits [C], which
	// takes one label, not one per element.
	if code, _, errs := runCLI(t, "eval", "--logits", vec, "--targets", lab); code != 1 || !strings.Contains(errs, "want [] or [1]") {
		t.Errorf("cross-entropy on a vector: exit %d, %s", code, errs)
	}
}

// FuzzEvalVector runs the elementwise losses on arbitrary logit and
// target vectors (lengths may disagree): exit 0 with a gradient file of
// the vector's shape, or 1 or 2 with one line and no file.
func FuzzEvalVector(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []byte{1, 0})
	f.Add(uint8(3), []byte{0, 0, 0xc0, 0x7f}, []byte{2})
	f.Add(uint8(5), []byte{}, []byte{})
	f.Add(uint8(6), []byte{0, 0, 0x80, 0xff, 1, 2, 3, 4}, []byte{0, 1, 1})
	names := []string{"binary-hinge", "binary-perceptron", "binary-sparsemax", "sigmoid-focal", "bce", "kl-div", "kl-div:log_target=1"}
	f.Fuzz(func(t *testing.T, which uint8, raw, targets []byte) {
		dir := t.TempDir()
		var x []float32
		for len(raw) >= 4 {
			x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(raw)))
			raw = raw[4:]
		}
		y := make([]float32, len(targets))
		for i, v := range targets {
			y[i] = float32(v)/2 - 0.5
		}
		logits := writeNPY(t, dir, "l.npy", x, len(x))
		tg := writeNPY(t, dir, "t.npy", y, len(y))
		grad := filepath.Join(dir, "g.npy")
		code, _, errs := runCLI(t, "eval", "--loss", names[int(which)%len(names)], "--logits", logits, "--targets", tg, "--grad", grad, "--json")
		_, statErr := os.Stat(grad)
		switch code {
		case 0:
			g, h, err := npy.ReadFile[float32](grad)
			if err != nil || len(h.Shape) != 1 || len(g) != len(x) {
				t.Fatalf("gradient file %v %v", h, err)
			}
		case 1, 2:
			if !os.IsNotExist(statErr) || errs == "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("exit %d: file %v, stderr %q", code, statErr, errs)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
