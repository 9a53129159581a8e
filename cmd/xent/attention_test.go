package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/xentlab/xent/npy"
)

// TestAttentionCLI: with K and V the identity and scale 1, the output rows
// are the attention weights of the scores q; the catalog's sigmoid vector
// (A20: scores [2, 0, −1], bias −ln 3) and the softmax of the same scores,
// and the gradient files' shapes.
func TestAttentionCLI(t *testing.T) {
	dir := t.TempDir()
	eye := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	q := writeNPY(t, dir, "q.npy", []float32{2, 0, -1}, 1, 1, 1, 3)
	k := writeNPY(t, dir, "k.npy", eye, 1, 1, 3, 3)
	v := writeNPY(t, dir, "v.npy", eye, 1, 1, 3, 3)
	dout := writeNPY(t, dir, "do.npy", []float32{1, 1, 1}, 1, 1, 1, 3)
	out, lse := filepath.Join(dir, "o.npy"), filepath.Join(dir, "l.npy")
	dq, dk, dv := filepath.Join(dir, "dq.npy"), filepath.Join(dir, "dk.npy"), filepath.Join(dir, "dv.npy")
	for _, c := range []struct {
		norm string
		want []float64
		f64  bool
	}{
		{"sigmoid", []float64{0.711234594, 0.25, 0.109231773}, false},
		{"sigmoid", []float64{0.711234594, 0.25, 0.109231773}, true},
		{"softmax", []float64{0.843794734, 0.114195199, 0.0420100661}, false},
	} {
		args := []string{"attention", "--q", q, "--k", k, "--v", v, "--scale", "1", "--normalizer", c.norm,
			"--out", out, "--lse", lse, "--dout", dout, "--dq", dq, "--dk", dk, "--dv", dv, "--json"}
		if c.f64 {
			args = append(args, "--float64")
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.norm, code, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("%q: %v", stdout, err)
		}
		got, h, err := npy.ReadFile[float64](out)
		if err != nil || len(h.Shape) != 4 || h.Shape[3] != 3 || (h.DType.Size == 8) != c.f64 {
			t.Fatalf("%s: out file %v %v", c.norm, h, err)
		}
		for j, w := range c.want {
			if math.Abs(got[j]-w) > 1e-6 {
				t.Errorf("%s: weights %v, want %v", c.norm, got, c.want)
				break
			}
		}
		// dq = ∂L/∂s with L = Σ out (dout = 1): for the sigmoid A(1 − A),
		// the catalog's dA/ds; for the softmax 0 (the weights sum to 1).
		g, _, err := npy.ReadFile[float64](dq)
		if err != nil {
			t.Fatal(err)
		}
		wantG := []float64{0.205379946, 0.1875, 0.0973001924}
		if c.norm == "softmax" {
			wantG = []float64{0, 0, 0}
		}
		for j, w := range wantG {
			if math.Abs(g[j]-w) > 1e-6 {
				t.Errorf("%s: dq %v, want %v", c.norm, g, wantG)
				break
			}
		}
		for _, p := range []string{lse, dk, dv} {
			if _, err := os.Stat(p); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestAttentionCLIErrors(t *testing.T) {
	dir := t.TempDir()
	q := writeNPY(t, dir, "q.npy", make([]float32, 6), 1, 2, 1, 3)
	k := writeNPY(t, dir, "k.npy", make([]float32, 9), 1, 1, 3, 3)
	k3 := writeNPY(t, dir, "k3.npy", make([]float32, 9), 3, 3)
	kbad := writeNPY(t, dir, "kbad.npy", make([]float32, 12), 1, 1, 3, 4)
	nan := writeNPY(t, dir, "nan.npy", []float32{0, 0, 0, 0, float32(math.NaN()), 0, 0, 0, 0}, 1, 1, 3, 3)
	out := filepath.Join(dir, "o.npy")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"attention", "--q", q, "--k", k, "--v", k}, 2},                                                    // no --out
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", out, "--dout", q}, 2},                         // partial backward
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", out, "--normalizer", "relu"}, 2},              // unknown normalizer
		{[]string{"attention", "--q", q, "--k", k3, "--v", k, "--out", out}, 1},                                     // rank
		{[]string{"attention", "--q", q, "--k", kbad, "--v", kbad, "--out", out}, 1},                                // d mismatch
		{[]string{"attention", "--q", q, "--k", nan, "--v", k, "--out", out}, 1},                                    // NaN key
		{[]string{"attention", "--q", q, "--k", k, "--v", nan, "--out", out}, 1},                                    // NaN value
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", out, "--softcap", "-1"}, 1},                   // bad option
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", out, "--bias", k}, 1},                         // bias shape
		{[]string{"attention", "--q", filepath.Join(dir, "missing.npy"), "--k", k, "--v", k, "--out", out}, 1},      // no file
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", out, "--key-padding", q}, 1},                  // padding dtype
		{[]string{"attention", "--q", q, "--k", k, "--v", k, "--out", filepath.Join(dir, "no", "dir", "o.npy")}, 1}, // unwritable
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args[1:], code, c.code, stderr)
		}
		if code != 0 && (len(stderr) == 0 || stderr[len(stderr)-1] != '\n' || countLines(stderr) != 1) {
			t.Errorf("%v: stderr %q, want one line", c.args[1:], stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: an output file was written", c.args[1:])
		}
	}
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

func TestBenchAttentionSmoke(t *testing.T) {
	for _, c := range [][]string{
		{"--baseline", "gemm"},
		{"--baseline", "stream", "--queries", "1", "--keys", "300", "--kv-heads", "2"},
		{"--baseline", "softmax", "--normalizer", "sigmoid", "--causal"},
		{"--baseline", "materialized", "--backward", "--causal"},
		{"--baseline", "none", "--normalizer", "softplus", "--window", "8"},
	} {
		args := append([]string{"bench", "attention", "--heads", "2", "--queries", "40", "--dim", "8", "--reps", "1", "--json"}, c...)
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: %s", c, errs)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %q", c, out)
		}
		for _, k := range []string{"op", "ours_s", "gflops", "baseline", "scratch_bytes"} {
			if _, ok := res[k]; !ok {
				t.Errorf("%v: key %s missing in %s", c, k, out)
			}
		}
	}
	if code, _, _ := runCLI(t, "bench", "attention", "--baseline", "nope"); code != 2 {
		t.Error("unknown baseline accepted")
	}
	if code, _, _ := runCLI(t, "bench", "attention", "--baseline", "materialized", "--normalizer", "sigmoid"); code != 2 {
		t.Error("materialized sigmoid accepted")
	}
}
