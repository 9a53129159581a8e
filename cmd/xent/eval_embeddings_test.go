package main

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

func TestEvalEmbeddingsInfoNCE(t *testing.T) {
	dir := t.TempDir()
	// Two orthogonal anchors, each with its own positive: s = ±1/τ.
	emb := writeNPY(t, dir, "e.npy", []float64{1, 0, 0, 1}, 2, 2)
	pos := writeNPY(t, dir, "p.npy", []float64{2, 0, 0, 3}, 2, 2)
	grad := filepath.Join(dir, "g.npy")
	code, out, errs := runCLI(t, "eval", "--loss", "infonce:temperature=0.5", "--embeddings", emb, "--positives", pos, "--json", "--grad", grad)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	// Each row: −log(e²/(e² + e⁰)) = log(1 + e⁻²).
	want := math.Log1p(math.Exp(-2))
	if got := res["loss"].(float64); math.Abs(got-want) > 1e-12 || res["rows"].(float64) != 2 || res["dim"].(float64) != 2 || len(res) != 3 {
		t.Errorf("result %v, want loss %v", res, want)
	}
	g, h, err := npy.ReadFile[float32](grad)
	if err != nil || len(h.Shape) != 2 || h.Shape[0] != 2 || h.Shape[1] != 2 || len(g) != 4 {
		t.Fatalf("grad file: %v %v %v", g, h, err)
	}
	// Text output.
	code, out, _ = runCLI(t, "eval", "--loss", "infonce:temperature=0.5", "--embeddings", emb, "--positives", pos)
	if code != 0 || !strings.Contains(out, "infonce") || !strings.Contains(out, "2 embeddings") {
		t.Errorf("text output %q", out)
	}
}

func TestEvalEmbeddingsClasses(t *testing.T) {
	dir := t.TempDir()
	emb := writeNPY(t, dir, "e.npy", []float32{3, 4}, 1, 2)
	lab := writeNPY(t, dir, "y.npy", []int64{1}, 1)
	cls := writeNPY(t, dir, "w.npy", []float32{1, 0, 0, 1, -0.6, 0.8}, 3, 2)
	// Catalog A17: s = 10, logits [6, 8, 2.8], loss 0.131775218.
	code, out, errs := runCLI(t, "eval", "--loss", "norm-softmax", "--embeddings", emb, "--labels", lab, "--positives", cls, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	_ = json.Unmarshal([]byte(out), &res)
	if got := res["loss"].(float64); math.Abs(got-0.131775218153) > 1e-6 {
		t.Errorf("loss %v", got)
	}
	// Without class vectors they are imprinted: one class, loss 0.
	code, out, errs = runCLI(t, "eval", "--loss", "norm-softmax", "--embeddings", emb, "--labels", writeNPY(t, dir, "y0.npy", []int32{0}, 1), "--json")
	if code != 0 || !strings.Contains(out, `"loss":0`) {
		t.Errorf("imprinted: exit %d, %s %s", code, out, errs)
	}
	// EBV generates its basis.
	code, _, errs = runCLI(t, "eval", "--loss", "ebv", "--embeddings", emb, "--labels", lab)
	if code != 0 {
		t.Errorf("ebv: exit %d: %s", code, errs)
	}
}

func TestEvalEmbeddingsErrors(t *testing.T) {
	dir := t.TempDir()
	emb := writeNPY(t, dir, "e.npy", []float64{1, 0, 0, 1, 1, 1}, 3, 2)
	zero := writeNPY(t, dir, "z.npy", []float64{1, 0, 0, 0}, 2, 2)
	pos2 := writeNPY(t, dir, "p2.npy", []float64{1, 0, 0, 1}, 2, 2)
	flab := writeNPY(t, dir, "f.npy", []float64{0, 1, 0}, 3)
	lab := writeNPY(t, dir, "y.npy", []int64{0, 1, 5}, 3)
	for _, c := range []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"--embeddings", emb}, 2, "embedding loss"},
		{[]string{"--embeddings", emb, "--loss", "nope"}, 2, "infonce"},
		{[]string{"--embeddings", emb, "--loss", "infonce"}, 2, "needs --positives"},
		{[]string{"--embeddings", emb, "--loss", "infonce", "--positives", pos2}, 1, "3"},
		{[]string{"--embeddings", emb, "--loss", "infonce:tau=1", "--positives", pos2}, 2, "temperature=0.07"},
		{[]string{"--embeddings", emb, "--loss", "cosface", "--labels", flab}, 1, "integers"},
		{[]string{"--embeddings", emb, "--loss", "cosface"}, 2, "needs --labels"},
		{[]string{"--embeddings", emb, "--loss", "cosface", "--labels", lab, "--positives", pos2}, 1, "outside"},
		{[]string{"--embeddings", emb, "--loss", "gumbel-cbm", "--labels", lab}, 2, "does not take --labels"},
		{[]string{"--embeddings", emb, "--loss", "infonce", "--z-loss", "1"}, 2, "--z-loss"},
		{[]string{"--embeddings", zero, "--loss", "infonce", "--positives", pos2}, 1, "row 1"},
		{[]string{"--embeddings", filepath.Join(dir, "missing.npy"), "--loss", "infonce"}, 1, "missing.npy"},
	} {
		code, _, errs := runCLI(t, append([]string{"eval"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.mention) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q on one line", c.args, code, errs, c.code, c.mention)
		}
	}
}

func TestWriteEmbeddingLosses(t *testing.T) {
	var b bytes.Buffer
	writeEmbeddingLosses(&b)
	for _, name := range []string{"infonce", "cacr", "madacos", "fourier-head", "A30", "parameters: temperature=0.07"} {
		if !strings.Contains(b.String(), name) {
			t.Errorf("listing lacks %q:\n%s", name, b.String())
		}
	}
}
