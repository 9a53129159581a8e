package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

// runCLI runs one command line and returns its exit status and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeNPY[T npy.Elem](t *testing.T, dir, name string, x []T, shape ...int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := npy.WriteFile(p, x, shape...); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvalCrossEntropy(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 0, 0, 0}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{2, 0}, 2)
	grad := filepath.Join(dir, "g.npy")
	code, out, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels, "--json", "--grad", grad)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	// Row 0: log(e+e²+e³) − 3; row 1: log 3.
	want := (math.Log(math.E+math.Exp(2)+math.Exp(3)) - 3 + math.Log(3)) / 2
	if got := res["loss"].(float64); math.Abs(got-want) > 1e-6 {
		t.Errorf("loss %v, want %v", got, want)
	}
	if res["rows"].(float64) != 2 || res["cols"].(float64) != 3 || res["accuracy"].(float64) != 1 || res["top5"].(float64) != 1 {
		t.Errorf("result %v", res)
	}
	g, h, err := npy.ReadFile[float32](grad)
	if err != nil || len(h.Shape) != 2 || h.Shape[0] != 2 || h.Shape[1] != 3 {
		t.Fatalf("grad file: %v %v", h, err)
	}
	// Row 1 is uniform: p = 1/3; label 0; mean over 2 rows.
	if math.Abs(float64(g[3])-(1.0/3-1)/2) > 1e-6 || math.Abs(float64(g[4])-1.0/6) > 1e-6 {
		t.Errorf("grad %v", g)
	}
}

func TestEvalNoneAndKD(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float64{0, 0, 1, 1}, 2, 2)
	labels := writeNPY(t, dir, "y.npy", []int32{0, -100}, 2)
	code, out, errs := runCLI(t, "eval", "--logits", logits, "--targets", labels, "--reduction", "none", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var res struct{ Loss []float64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Loss) != 2 || math.Abs(res.Loss[0]-math.Log(2)) > 1e-12 || res.Loss[1] != 0 {
		t.Fatalf("%s %v", out, err)
	}
	teacher := writeNPY(t, dir, "t.npy", []float64{0, 0, 1, 1}, 2, 2)
	code, out, errs = runCLI(t, "eval", "--logits", logits, "--teacher", teacher, "--loss", "kd", "--temperature", "2", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	if !strings.Contains(out, `"loss":0`) {
		t.Errorf("self-distillation: %s", out)
	}
}

// TestEvalErrors: bad input gives one line on stderr, a non-zero exit, and
// no output file.
func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	vec := writeNPY(t, dir, "v.npy", []float32{1, 2, 3}, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{0, 1}, 2)
	bad := writeNPY(t, dir, "bad.npy", []int64{0, 7}, 2)
	short := writeNPY(t, dir, "short.npy", []int64{0}, 1)
	notNPY := filepath.Join(dir, "x.npy")
	os.WriteFile(notNPY, []byte("hello, world"), 0o644)
	full, _ := os.ReadFile(logits)
	trunc := filepath.Join(dir, "trunc.npy")
	os.WriteFile(trunc, full[:len(full)-3], 0o644)
	grad := filepath.Join(dir, "g.npy")
	cases := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"eval"}, 2, "--logits"},
		{[]string{"eval", "--logits", logits}, 2, "--targets"},
		{[]string{"eval", "--logits", filepath.Join(dir, "missing.npy"), "--targets", labels}, 1, "missing.npy"},
		{[]string{"eval", "--logits", notNPY, "--targets", labels}, 1, "not an .npy"},
		{[]string{"eval", "--logits", trunc, "--targets", labels}, 1, "trunc"},
		{[]string{"eval", "--logits", vec, "--targets", labels}, 1, "want [] or [1]"},
		{[]string{"eval", "--logits", logits, "--targets", bad, "--grad", grad}, 1, "row 1"},
		{[]string{"eval", "--logits", logits, "--targets", short}, 1, "[2]"},
		{[]string{"eval", "--logits", logits, "--targets", labels, "--loss", "nope"}, 2, "registered"},
		{[]string{"eval", "--logits", logits, "--targets", labels, "--reduction", "avg"}, 2, "reduction"},
		{[]string{"eval", "--logits", logits, "--targets", labels, "--label-smoothing", "2"}, 2, "smoothing"},
		{[]string{"eval", "--bogus"}, 2, "bogus"},
		{[]string{"nosuchcommand"}, 2, "unknown command"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.mention) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q in one line", c.args, code, errs, c.code, c.mention)
		}
	}
	if _, err := os.Stat(grad); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", grad)
	}
}

func TestBenchSmoke(t *testing.T) {
	for _, op := range []string{"softmax", "logsoftmax", "lse", "ce"} {
		code, out, errs := runCLI(t, "bench", op, "--rows", "8", "--cols", "100", "--reps", "1", "--json")
		if code != 0 {
			t.Fatalf("%s: %s", op, errs)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %q", op, out)
		}
		for _, k := range []string{"op", "rows", "cols", "threads", "ours_s", "baseline", "baseline_s", "speedup", "gbps"} {
			if _, ok := res[k]; !ok {
				t.Errorf("%s: key %s missing in %s", op, k, out)
			}
		}
	}
	if code, _, _ := runCLI(t, "bench", "nope"); code != 2 {
		t.Error("unknown bench op accepted")
	}
}

// TestEvalFusedHead: the fused path agrees with the logits path on the
// same problem, and writes its gradients.
func TestEvalFusedHead(t *testing.T) {
	dir := t.TempDir()
	n, d, v := 6, 4, 9
	h := make([]float32, n*d)
	w := make([]float32, v*d)
	for i := range h {
		h[i] = float32(math.Sin(float64(i)))
	}
	for i := range w {
		w[i] = float32(math.Cos(float64(3 * i)))
	}
	z := make([]float64, n*v)
	for i := 0; i < n; i++ {
		for j := 0; j < v; j++ {
			for k := 0; k < d; k++ {
				z[i*v+j] += float64(h[i*d+k]) * float64(w[j*d+k])
			}
		}
	}
	y := []int64{0, 8, 3, 3, -100, 5}
	hp := writeNPY(t, dir, "h.npy", h, n, d)
	wp := writeNPY(t, dir, "w.npy", w, v, d)
	yp := writeNPY(t, dir, "y.npy", y, n)
	zp := writeNPY(t, dir, "z.npy", z, n, v)
	gh := filepath.Join(dir, "gh.npy")
	code, out, errs := runCLI(t, "eval", "--hidden", hp, "--classifier", wp, "--targets", yp, "--label-smoothing", "0.1", "--grad-hidden", gh, "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	code2, out2, errs2 := runCLI(t, "eval", "--logits", zp, "--targets", yp, "--label-smoothing", "0.1", "--json")
	if code2 != 0 {
		t.Fatal(errs2)
	}
	var a, b map[string]float64
	json.Unmarshal([]byte(out), &a)
	json.Unmarshal([]byte(out2), &b)
	if math.Abs(a["loss"]-b["loss"]) > 1e-5*b["loss"] || a["accuracy"] != b["accuracy"] || a["top5"] != b["top5"] || a["rows"] != 6 || a["cols"] != 9 {
		t.Fatalf("fused %v vs logits %v", a, b)
	}
	if g, hd, err := npy.ReadFile[float32](gh); err != nil || len(g) != n*d || hd.Shape[1] != d {
		t.Fatalf("grad-hidden: %v %v", hd, err)
	}
	if code, _, errs := runCLI(t, "eval", "--hidden", hp, "--classifier", zp, "--targets", yp); code != 1 || !strings.Contains(errs, "D = 4") {
		t.Fatalf("mismatched D: exit %d %q", code, errs)
	}
}

// TestEvalLabelsAndTeacher: a loss that reads labels and a teacher (nkd)
// gets both; flags a loss does not take are refused.
func TestEvalLabelsAndTeacher(t *testing.T) {
	dir := t.TempDir()
	s := writeNPY(t, dir, "s.npy", []float32{1, 2, 0, 0, 1, 3}, 2, 3)
	te := writeNPY(t, dir, "t.npy", []float32{2, 1, 0, 1, 0, 2}, 2, 3)
	y := writeNPY(t, dir, "y.npy", []int64{1, 2}, 2)
	if code, out, errs := runCLI(t, "eval", "--logits", s, "--teacher", te, "--targets", y, "--loss", "nkd", "--json"); code != 0 || !strings.Contains(out, `"loss"`) {
		t.Fatalf("nkd: exit %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "eval", "--logits", s, "--teacher", te, "--loss", "nkd"); code != 2 || !strings.Contains(errs, "--targets") {
		t.Fatalf("nkd without labels: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "eval", "--logits", s, "--targets", y, "--loss", "kd"); code != 2 || !strings.Contains(errs, "--teacher") {
		t.Fatalf("kd without teacher: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "eval", "--logits", s, "--targets", y, "--teacher", te); code != 2 || !strings.Contains(errs, "--teacher") {
		t.Fatalf("cross-entropy with a teacher: exit %d %q", code, errs)
	}
}

// TestEvalOrdinal: ordinal labels run from 0 to K−1 = Cols; no accuracy
// or calibration keys are printed for cumulative logits.
func TestEvalOrdinal(t *testing.T) {
	dir := t.TempDir()
	z := writeNPY(t, dir, "z.npy", []float32{2, -1, 3, 1, -2, -3}, 3, 2)
	y := writeNPY(t, dir, "y.npy", []int64{1, 2, 0}, 3)
	code, out, errs := runCLI(t, "eval", "--logits", z, "--targets", y, "--loss", "ordinal", "--json")
	if code != 0 || strings.Contains(out, "accuracy") || !strings.Contains(out, `"loss"`) {
		t.Fatalf("exit %d %q %q", code, out, errs)
	}
}
