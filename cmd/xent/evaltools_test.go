package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/calibrate"
)

// checkImage fails unless path holds a decodable PNG or a well-formed SVG
// document, as its extension says.
func checkImage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(path) {
	case ".png":
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
			t.Fatalf("%s: %v pixels", path, r)
		}
	case ".svg":
		d := xml.NewDecoder(bytes.NewReader(b))
		root := ""
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if s, ok := tok.(xml.StartElement); ok && root == "" {
				root = s.Name.Local
			}
		}
		if root != "svg" {
			t.Fatalf("%s: root element %q", path, root)
		}
	default:
		t.Fatalf("%s: not an image name", path)
	}
}

// decodeJSON parses one JSON object printed by a command.
func decodeJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	return res
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want)) }

// errorCase is a command line that must fail with the given exit status
// and one stderr line mentioning something.
type errorCase struct {
	args    []string
	code    int
	mention string
}

func checkErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.mention) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q in one line", c.args, code, out, errs, c.code, c.mention)
		}
	}
}

// twoGroups is a binary toy set whose softmax probabilities at scale s
// are calibrated when s = 1: 40 rows with logits s·(ln 3, 0), p₀ = 3/4 at
// s = 1, of which 30 are labelled 0; 20 rows with logits s·(ln 1.5, 0),
// p₀ = 0.6, of which 12 are labelled 0. One more row is labelled -100
// (ignored). Temperature scaling must find T = s.
func twoGroups(s float64) (logits []float64, labels []int64) {
	for i := 0; i < 40; i++ {
		logits = append(logits, s*math.Log(3), 0)
		labels = append(labels, int64(min(i/30, 1)))
	}
	for i := 0; i < 20; i++ {
		logits = append(logits, s*math.Log(1.5), 0)
		labels = append(labels, int64(min(i/12, 1)))
	}
	logits = append(logits, 5, -5)
	labels = append(labels, -100)
	return logits, labels
}

// twoGroupsWant returns the NLL, Brier score and top-label ECE (both
// groups fall in different bins of 15) of twoGroups(s) by hand.
func twoGroupsWant(s float64) (nll, brier, ece float64) {
	for _, g := range []struct {
		n      float64
		ratio  float64 // e^{z₀ − z₁} at s = 1
		labels float64 // fraction labelled 0
	}{{40, 3, 0.75}, {20, 1.5, 0.6}} {
		p := math.Pow(g.ratio, s) / (math.Pow(g.ratio, s) + 1)
		w := g.n / 60
		nll += w * -(g.labels*math.Log(p) + (1-g.labels)*math.Log(1-p))
		brier += w * (g.labels*2*(1-p)*(1-p) + (1-g.labels)*2*p*p)
		ece += w * math.Abs(p-g.labels)
	}
	return nll, brier, ece
}

func TestCalibrateKnownTemperature(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []float64{1, 2, 0.5} {
		x, y := twoGroups(s)
		lp := writeNPY(t, dir, fmt.Sprintf("l%g.npy", s), x, len(y), 2)
		yp := writeNPY(t, dir, "y.npy", y, len(y))
		plot := filepath.Join(dir, fmt.Sprintf("r%g.png", s))
		code, out, errs := runCLI(t, "calibrate", "--logits", lp, "--targets", yp, "--plot", plot, "--json")
		if code != 0 {
			t.Fatalf("s = %g: exit %d: %s", s, code, errs)
		}
		res := decodeJSON(t, out)
		nllBefore, _, eceBefore := twoGroupsWant(s)
		nllAfter, _, _ := twoGroupsWant(1)
		want := map[string]float64{
			"temperature": s, "nll_before": nllBefore, "nll_after": nllAfter,
			"ece_before": eceBefore, "ece_after": 0, "rows": 60, "cols": 2, "bins": 15,
		}
		for k, v := range want {
			got, ok := res[k].(float64)
			if !ok || !near(got, v, 1e-8) {
				t.Errorf("s = %g: %s = %v, want %v", s, k, res[k], v)
			}
		}
		checkImage(t, plot)
	}

	// float32 logits, text output and an SVG diagram.
	x, y := twoGroups(2)
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	lp := writeNPY(t, dir, "l32.npy", x32, len(y), 2)
	yp := writeNPY(t, dir, "y32.npy", y, len(y))
	svg := filepath.Join(dir, "r.svg")
	code, out, errs := runCLI(t, "calibrate", "--logits", lp, "--targets", yp, "--plot", svg, "--bins", "10")
	if code != 0 {
		t.Fatal(errs)
	}
	if !strings.HasPrefix(out, "temperature 2 ") && !strings.HasPrefix(out, "temperature 1.99999") {
		t.Errorf("text output:\n%s", out)
	}
	for _, w := range []string{"nll", "ece", "10 equal-width bins", "mce", svg} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
	checkImage(t, svg)
}

func TestCalibrateErrors(t *testing.T) {
	dir := t.TempDir()
	x, y := twoGroups(2)
	lp := writeNPY(t, dir, "l.npy", x, len(y), 2)
	yp := writeNPY(t, dir, "y.npy", y, len(y))
	short := writeNPY(t, dir, "short.npy", y[:10], 10)
	floatY := writeNPY(t, dir, "fy.npy", []float64{0, 1}, 2)
	bad := make([]int64, len(y))
	bad[7] = 2
	badY := writeNPY(t, dir, "bad.npy", bad, len(bad))
	ignored := make([]int64, len(y))
	for i := range ignored {
		ignored[i] = -100
	}
	allIgnored := writeNPY(t, dir, "ign.npy", ignored, len(ignored))
	vec := writeNPY(t, dir, "v.npy", x, len(x))
	notNPY := filepath.Join(dir, "x.npy")
	os.WriteFile(notNPY, []byte("not numpy"), 0o644)
	full, _ := os.ReadFile(lp)
	trunc := filepath.Join(dir, "trunc.npy")
	os.WriteFile(trunc, full[:len(full)-5], 0o644)

	// A diagram from an earlier run must survive every failed run intact.
	plot := filepath.Join(dir, "r.png")
	if code, _, errs := runCLI(t, "calibrate", "--logits", lp, "--targets", yp, "--plot", plot); code != 0 {
		t.Fatal(errs)
	}
	before, _ := os.ReadFile(plot)
	p := func(args ...string) []string { return append([]string{"calibrate", "--plot", plot}, args...) }
	checkErrors(t, []errorCase{
		{p(), 2, "--logits"},
		{p("--logits", lp), 2, "--targets"},
		{p("--logits", lp, "--targets", yp, "--bins", "0"), 2, "--bins 0"},
		{p("--logits", lp, "--targets", yp, "--bins", "x"), 2, "bins"},
		{[]string{"calibrate", "--logits", lp, "--targets", yp, "--plot", filepath.Join(dir, "r.jpg")}, 2, ".png or .svg"},
		{p("--logits", filepath.Join(dir, "missing.npy"), "--targets", yp), 1, "missing.npy"},
		{p("--logits", notNPY, "--targets", yp), 1, "not an .npy"},
		{p("--logits", trunc, "--targets", yp), 1, "trunc"},
		{p("--logits", vec, "--targets", yp), 1, "2-D"},
		{p("--logits", lp, "--targets", short), 1, "10 values, want 61"},
		{p("--logits", lp, "--targets", floatY), 1, "want integers"},
		{p("--logits", lp, "--targets", badY), 1, "row 7"},
		{p("--logits", lp, "--targets", allIgnored), 1, "ignore index"},
		{p("--logits", lp, "--targets", yp, "extra"), 2, "extra"},
	})
	if after, _ := os.ReadFile(plot); !bytes.Equal(before, after) {
		t.Error("a failed run changed the diagram of an earlier run")
	}
	if _, err := os.Stat(filepath.Join(dir, "r.jpg")); !os.IsNotExist(err) {
		t.Error("a failed run wrote r.jpg")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 10 {
		for _, e := range ents {
			t.Log(e.Name())
		}
		t.Errorf("%d files in the directory, want 10 (inputs and one diagram, no temporary files)", len(ents))
	}
}

// binom returns C(n, k) as a float64 (exact for the small n used here).
func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestPassK(t *testing.T) {
	dir := t.TempDir()
	one := writeNPY(t, dir, "one.npy", []int64{2}, 1)
	code, out, errs := runCLI(t, "passk", "--n-samples", "5", "--correct", one, "--k", "2", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	res := decodeJSON(t, out)
	// 1 − C(3,2)/C(5,2) = 1 − 3/10.
	if got := res["pass@2"].(float64); math.Abs(got-0.7) > 1e-15 || res["problems"] != 1.0 || res["n_samples"] != 5.0 {
		t.Errorf("n = 5, c = 2, k = 2: %v", res)
	}

	c := []int32{0, 1, 2, 7, 10, 10, 3}
	cp := writeNPY(t, dir, "c.npy", c, len(c))
	code, out, errs = runCLI(t, "passk", "--n-samples", "10", "--correct", cp, "--k", "5,1, 10,3,5", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	res = decodeJSON(t, out)
	if len(res) != 4+2 {
		t.Errorf("keys %v, want pass@1, 3, 5, 10, problems, n_samples", res)
	}
	for _, k := range []int{1, 3, 5, 10} {
		var want float64
		for _, ci := range c {
			want += 1 - binom(10-int(ci), k)/binom(10, k)
		}
		want /= float64(len(c))
		if got, ok := res[fmt.Sprintf("pass@%d", k)].(float64); !ok || math.Abs(got-want) > 1e-14 {
			t.Errorf("pass@%d = %v, want %v", k, res[fmt.Sprintf("pass@%d", k)], want)
		}
	}
	code, out, errs = runCLI(t, "passk", "--n-samples", "10", "--correct", cp, "--k", "1,10")
	if code != 0 || !strings.Contains(out, "pass@1 ") || !strings.Contains(out, "pass@10") || !strings.Contains(out, "7 problems, 10 samples") {
		t.Errorf("text output: exit %d %q %q", code, out, errs)
	}

	over := writeNPY(t, dir, "over.npy", []int64{1, 6}, 2)
	neg := writeNPY(t, dir, "neg.npy", []int64{1, -1}, 2)
	fl := writeNPY(t, dir, "fl.npy", []float64{1, 2}, 2)
	mat := writeNPY(t, dir, "mat.npy", []int64{1, 2}, 1, 2)
	empty := writeNPY(t, dir, "empty.npy", []int64{}, 0)
	checkErrors(t, []errorCase{
		{[]string{"passk", "--correct", one}, 2, "--n-samples"},
		{[]string{"passk", "--n-samples", "5"}, 2, "--correct"},
		{[]string{"passk", "--n-samples", "-5", "--correct", one}, 2, "--n-samples -5"},
		{[]string{"passk", "--n-samples", "5", "--correct", one, "--k", "6"}, 2, "k ≤ --n-samples"},
		{[]string{"passk", "--n-samples", "5", "--correct", one, "--k", "0"}, 2, "--k 0"},
		{[]string{"passk", "--n-samples", "5", "--correct", one, "--k", "-1"}, 2, "--k -1"},
		{[]string{"passk", "--n-samples", "5", "--correct", one, "--k", "1,x"}, 2, `"x" is not an integer`},
		{[]string{"passk", "--n-samples", "5", "--correct", over}, 1, "problem 1 has 6 correct"},
		{[]string{"passk", "--n-samples", "5", "--correct", neg}, 1, "problem 1 has -1 correct"},
		{[]string{"passk", "--n-samples", "5", "--correct", fl}, 1, "want integers"},
		{[]string{"passk", "--n-samples", "5", "--correct", mat}, 1, "1-D"},
		{[]string{"passk", "--n-samples", "5", "--correct", empty}, 1, "empty"},
		{[]string{"passk", "--n-samples", "5", "--correct", filepath.Join(dir, "nope.npy")}, 1, "nope.npy"},
	})
}

// aurocPairs is the Mann–Whitney AUROC by counting pairs.
func aurocPairs(pos, neg []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestOOD(t *testing.T) {
	dir := t.TempDir()
	// Rows (v, 0): max logit v, MSP 1/(1 + e^−v), −energy T·log(e^{v/T} + 1),
	// all increasing in v ≥ 0, so every score ranks the rows alike.
	in := []float64{1, 0, 2, 0, 3, 0, 4, 0}
	out := []float64{0.5, 0, 2.5, 0}
	ip := writeNPY(t, dir, "in.npy", in, 4, 2)
	op := writeNPY(t, dir, "out.npy", out, 2, 2)

	// Mahalanobis in 1-D: class means 0 and 10, tied variance 1, so the
	// score is −min_c (x − μ_c)².
	ftrain := writeNPY(t, dir, "ft.npy", []float64{-1, 1, 9, 11}, 4, 1)
	ytrain := writeNPY(t, dir, "yt.npy", []int64{0, 0, 1, 1}, 4)
	fin := []float64{0, 10, 0.5, 9.9}
	fout := []float64{0.2, 5}
	fip := writeNPY(t, dir, "fi.npy", fin, 4, 1)
	fop := writeNPY(t, dir, "fo.npy", fout, 2, 1)
	maha := func(x []float64) []float64 {
		s := make([]float64, len(x))
		for i, v := range x {
			s[i] = -math.Min(v*v, (v-10)*(v-10))
		}
		return s
	}

	plot := filepath.Join(dir, "hist.png")
	code, stdout, errs := runCLI(t, "ood", "--in-logits", ip, "--out-logits", op, "--temperature", "2",
		"--features-train", ftrain, "--labels-train", ytrain, "--features-in", fip, "--features-out", fop,
		"--plot", plot, "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var res struct {
		InRows      int `json:"in_rows"`
		OutRows     int `json:"out_rows"`
		Temperature float64
		Scores      map[string]oodResult
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// At 95% TPR every in-distribution row is kept: the threshold is the
	// lowest in-distribution score (v = 1), above which 1 of 2 OOD rows lie.
	want := map[string]oodResult{
		"msp":         {AUROC: 0.75, FPR95: 0.5, Threshold: 1 / (1 + math.Exp(-1))},
		"max_logit":   {AUROC: 0.75, FPR95: 0.5, Threshold: 1},
		"energy":      {AUROC: 0.75, FPR95: 0.5, Threshold: 2 * math.Log(math.Exp(0.5)+1)},
		"mahalanobis": {AUROC: aurocPairs(maha(fin), maha(fout)), FPR95: 0.5, Threshold: -0.25},
	}
	if res.Temperature != 2 || res.InRows != 4 || res.OutRows != 2 || len(res.Scores) != len(want) {
		t.Fatalf("%s", stdout)
	}
	for name, w := range want {
		g := res.Scores[name]
		if !near(g.AUROC, w.AUROC, 1e-12) || !near(g.FPR95, w.FPR95, 1e-12) || !near(g.Threshold, w.Threshold, 1e-9) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
		p := filepath.Join(dir, "hist-"+name+".png")
		if g.Plot != p {
			t.Errorf("%s: plot %q, want %q", name, g.Plot, p)
		}
		checkImage(t, p)
	}
	if w := 7.0 / 8; want["mahalanobis"].AUROC != w {
		t.Errorf("Mahalanobis AUROC by pairs %v, want %v", want["mahalanobis"].AUROC, w)
	}

	// Text output without features: three scores, the orientation said.
	code, stdout, errs = runCLI(t, "ood", "--in-logits", ip, "--out-logits", op, "--plot", filepath.Join(dir, "h.svg"))
	if code != 0 {
		t.Fatal(errs)
	}
	for _, w := range []string{"higher = in-dist", "MSP", "max logit", "energy (−E, T = 1)", "0.7500", "4 in-distribution, 2 out-of-distribution"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("text output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "Mahalanobis") {
		t.Errorf("Mahalanobis without features:\n%s", stdout)
	}
	for _, name := range []string{"msp", "max_logit", "energy"} {
		checkImage(t, filepath.Join(dir, "h-"+name+".svg"))
	}
	if _, err := os.Stat(filepath.Join(dir, "h-mahalanobis.svg")); !os.IsNotExist(err) {
		t.Error("Mahalanobis histogram without features")
	}
	if code, errs, _ := runCLI(t, "help", "ood"); code != 0 || !strings.Contains(errs, "HIGHER score means MORE in-distribution") {
		t.Errorf("help: %d %q", code, errs)
	}
}

func TestOODErrors(t *testing.T) {
	dir := t.TempDir()
	ip := writeNPY(t, dir, "in.npy", []float32{1, 0, 2, 0}, 2, 2)
	op := writeNPY(t, dir, "out.npy", []float32{1, 0, 2}, 1, 3)
	op2 := writeNPY(t, dir, "out2.npy", []float32{1, 0}, 1, 2)
	nan := writeNPY(t, dir, "nan.npy", []float64{math.NaN(), 0}, 1, 2)
	ft := writeNPY(t, dir, "ft.npy", []float64{0, 1, 2, 3}, 2, 2)
	yt := writeNPY(t, dir, "yt.npy", []int64{0, 1}, 2)
	ygap := writeNPY(t, dir, "ygap.npy", []int64{0, 2}, 2)
	yneg := writeNPY(t, dir, "yneg.npy", []int64{0, -1}, 2)
	fi := writeNPY(t, dir, "fi.npy", []float64{0, 1, 2, 3}, 2, 2)
	fi3 := writeNPY(t, dir, "fi3.npy", []float64{0, 1, 2, 3, 4, 5}, 2, 3)
	fiRows := writeNPY(t, dir, "fir.npy", []float64{0, 1}, 1, 2)
	fo := writeNPY(t, dir, "fo.npy", []float64{0, 1}, 1, 2)
	pdf := filepath.Join(dir, "h.pdf")
	plot := filepath.Join(dir, "h.png")
	base := func(args ...string) []string {
		return append([]string{"ood", "--in-logits", ip, "--out-logits", op2, "--plot", plot}, args...)
	}
	m := func(ftr, ytr, fin, fout string) []string {
		return base("--features-train", ftr, "--labels-train", ytr, "--features-in", fin, "--features-out", fout)
	}
	checkErrors(t, []errorCase{
		{[]string{"ood", "--out-logits", op}, 2, "--in-logits"},
		{[]string{"ood", "--in-logits", ip}, 2, "--out-logits"},
		{base("--temperature", "0"), 2, "--temperature 0"},
		{base("--shrinkage", "2"), 2, "--shrinkage 2"},
		{base("--plot", pdf), 2, ".png or .svg"},
		{base("--features-train", ft), 2, "needs all of"},
		{[]string{"ood", "--in-logits", ip, "--out-logits", op}, 1, "3 classes, in-logits 2"},
		{[]string{"ood", "--in-logits", ip, "--out-logits", nan}, 1, "NaN"},
		{m(ft, ygap, fi, fo), 1, "class 1 has no example"},
		{m(ft, yneg, fi, fo), 1, "label -1 at row 1"},
		{m(ft, yt, fi, fo), 1, "features-train " + ft + ": metrics.NewMahalanobis: covariance is zero"},
		{m(ft, yt, fi3, fo), 1, "3 features, features-train 2"},
		{m(ft, yt, fiRows, fo), 1, "1 rows, want 2"},
		{m(ft, yt, fi, fi), 1, "2 rows, want 1"},
		{m(ft, writeNPY(t, dir, "y3.npy", []int64{0, 1, 1}, 3), fi, fo), 1, "want 2"},
	})
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "h") {
			t.Errorf("a failed run wrote %s", e.Name())
		}
	}
}

func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fitParams runs xent fit --json and returns its parameter values.
func fitParams(t *testing.T, args ...string) (map[string]float64, map[string]any) {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"fit", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	res := decodeJSON(t, out)
	vals := map[string]float64{}
	for k, v := range res["params"].(map[string]any) {
		e := v.(map[string]any)
		vals[k] = e["value"].(float64)
		if !(e["lo"].(float64) <= vals[k] && vals[k] <= e["hi"].(float64)) {
			t.Errorf("%s: value outside its interval: %v", k, e)
		}
	}
	return vals, res
}

func checkParams(t *testing.T, law string, got, want map[string]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: parameters %v, want %v", law, got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !near(g, w, tol) {
			t.Errorf("%s: %s = %v, want %v", law, k, g, w)
		}
	}
}

func TestFitPowerLaw(t *testing.T) {
	dir := t.TempDir()
	// Exact points of L = 1.8 + (4.7e7/N)^0.34.
	var b strings.Builder
	b.WriteString("# a size sweep\nN, Loss\n\n")
	for k := 0; k < 8; k++ {
		n := math.Pow(10, 6+0.5*float64(k))
		fmt.Fprintf(&b, "%g, %.17g\n", n, 1.8+math.Pow(4.7e7/n, 0.34))
	}
	data := writeText(t, dir, "p.csv", b.String())
	plot := filepath.Join(dir, "p.png")
	got, res := fitParams(t, "--law", "power", "--data", data, "--bootstrap", "10", "--plot", plot)
	checkParams(t, "power", got, map[string]float64{"linf": 1.8, "n0": 4.7e7, "alpha": 0.34}, 1e-6)
	if res["points"] != 8.0 || res["rss"].(float64) > 1e-18 || res["level"] != 0.95 || res["bootstrap"] != 10.0 || res["plot"] != plot {
		t.Errorf("%v", res)
	}
	checkImage(t, plot)

	code, out, errs := runCLI(t, "fit", "--law", "power", "--data", data, "--bootstrap", "0", "--plot", filepath.Join(dir, "p.svg"), "--n-max", "1e12")
	if code != 0 {
		t.Fatal(errs)
	}
	for _, w := range []string{"L(N) = L∞ + (N₀/N)^α", "8 points", "L∞", "N₀", "α", "1.8", "(no bootstrap)"} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
	checkImage(t, filepath.Join(dir, "p.svg"))
}

func TestFitNMT(t *testing.T) {
	dir := t.TempDir()
	// Exact points of L = 0.8·(1e8/Ne)^0.2·(1e8/Nd)^0.3 + 1.5 on a grid whose
	// geometric means (the normalisation) are 1e8.
	var b strings.Builder
	b.WriteString("ne,nd,loss\n")
	sizes := []float64{1e7, 1e8, 1e9}
	for _, ne := range sizes {
		for _, nd := range sizes {
			fmt.Fprintf(&b, "%g,%g,%.17g\n", ne, nd, 0.8*math.Pow(1e8/ne, 0.2)*math.Pow(1e8/nd, 0.3)+1.5)
		}
	}
	data := writeText(t, dir, "n.csv", b.String())
	plot := filepath.Join(dir, "n.svg")
	got, res := fitParams(t, "--law", "nmt", "--data", data, "--bootstrap", "10", "--plot", plot)
	checkParams(t, "nmt", got, map[string]float64{"alpha": 0.8, "pe": 0.2, "pd": 0.3, "linf": 1.5}, 1e-6)
	fixed := res["fixed"].(map[string]any)
	if !near(fixed["ne_bar"].(float64), 1e8, 1e-12) || !near(fixed["nd_bar"].(float64), 1e8, 1e-12) || res["points"] != 9.0 {
		t.Errorf("%v", res)
	}
	checkImage(t, plot)
}

func TestFitAnnealing(t *testing.T) {
	dir := t.TempDir()
	// Exact points of L = 2.9 + 0.45·S₁^−0.5 − 80·S₂ (λ = 0.999) along a
	// warm-up-stable-decay schedule (linear warm-up to step 100, constant to
	// step 2000, linear decay to a tenth at step 3000), the areas
	// accumulated here step by step; one row every 50 steps, so the
	// schedule is linear between logged rows, and a row at step 0 (its
	// learning rate 0 makes the interpolated warm-up exact; its loss is
	// not fitted).
	const steps, warm, stable, peak = 3000, 100, 2000, 3e-4
	lr := func(s int) float64 { // rate of step s ≥ 1
		switch {
		case s <= warm:
			return peak * float64(s) / warm
		case s <= stable:
			return peak
		}
		return peak * (1 - 0.9*float64(s-stable)/(steps-stable))
	}
	var b strings.Builder
	b.WriteString("step,loss,lr\n0,11.2,0\n")
	var s1, s2, m float64
	prev := lr(1)
	for s := 1; s <= steps; s++ {
		eta := lr(s)
		m = 0.999*m + (prev - eta)
		s1, s2, prev = s1+eta, s2+m, eta
		if s%50 == 0 {
			fmt.Fprintf(&b, "%d,%.17g,%.17g\n", s, 2.9+0.45*math.Pow(s1, -0.5)-80*s2, eta)
		}
	}
	data := writeText(t, dir, "a.csv", b.String())
	plot := filepath.Join(dir, "a.png")
	got, res := fitParams(t, "--law", "lr-anneal", "--data", data, "--bootstrap", "4", "--plot", plot)
	checkParams(t, "lr-anneal", got, map[string]float64{"l0": 2.9, "a": 0.45, "alpha": 0.5, "c": 80}, 1e-5)
	if res["points"] != 60.0 || res["fixed"].(map[string]any)["lambda"] != 0.999 {
		t.Errorf("%v", res)
	}
	checkImage(t, plot)
}

func TestFitErrors(t *testing.T) {
	dir := t.TempDir()
	power := writeText(t, dir, "p.csv", "n,loss\n1e6,3\n1e7,2.5\n1e8,2.2\n1e9,2.1\n")
	badRow := writeText(t, dir, "bad.csv", "n,loss\n1e6,3\n1e7,2.5\n1e8,x\n1e9,2.1\n")
	twoPoints := writeText(t, dir, "two.csv", "n,loss\n1e6,3\n1e7,2.5\n")
	curve := writeText(t, dir, "c.csv", "step,loss\n1,3\n2,2.5\n3,2.2\n4,2.1\n")
	threeAnneal := writeText(t, dir, "a3.csv", "step,loss,lr\n10,3,1e-3\n20,2.5,1e-3\n30,2.2,1e-4\n")
	nmtHeader := writeText(t, dir, "nh.csv", "enc,dec,loss\n1,2,3\n")
	nmtNeg := writeText(t, dir, "nn.csv", "ne,nd,loss\n1e6,1e6,3\n1e7,-1e6,2\n")
	nmtFields := writeText(t, dir, "nf.csv", "ne,nd,loss\n1e6,1e6,3\n1e7,1e6\n")
	nmtFew := writeText(t, dir, "n3.csv", "ne,nd,loss\n1e6,1e6,3\n1e7,1e6,2.8\n1e6,1e7,2.7\n")
	empty := writeText(t, dir, "e.csv", "# nothing\n")
	plot := filepath.Join(dir, "f.png")
	f := func(args ...string) []string { return append([]string{"fit", "--plot", plot}, args...) }
	checkErrors(t, []errorCase{
		{f("--data", power), 2, "--law is required"},
		{f("--law", "linear", "--data", power), 2, `--law "linear"`},
		{f("--law", "power"), 2, "--data"},
		{f("--law", "power", "--data", power, "--level", "1"), 2, "--level 1"},
		{f("--law", "power", "--data", power, "--bootstrap", "-1"), 2, "--bootstrap -1"},
		{f("--law", "lr-anneal", "--data", curve, "--decay", "1"), 2, "--decay 1"},
		{f("--law", "power", "--data", power, "--n-max", "1e3"), 2, "--n-max 1000"},
		{f("--law", "nmt", "--data", power, "--n-max", "1e12"), 2, "--n-max applies to --law power only"},
		{f("--law", "power", "--data", power, "--decay", "0.99"), 2, "--decay applies to --law lr-anneal only"},
		{[]string{"fit", "--law", "power", "--data", power, "--plot", filepath.Join(dir, "f.gif")}, 2, ".png or .svg"},
		{f("--law", "power", "--data", filepath.Join(dir, "missing.csv")), 1, "missing.csv"},
		{f("--law", "power", "--data", badRow), 1, "line 4"},
		{f("--law", "power", "--data", twoPoints), 1, "2 points, but --law power has 3 parameters"},
		{f("--law", "power", "--data", curve), 1, "columns step,loss, but --law power needs n,loss"},
		{f("--law", "lr-anneal", "--data", power), 1, "needs step,loss,lr"},
		{f("--law", "lr-anneal", "--data", threeAnneal), 1, "3 points, but --law lr-anneal has 4"},
		{f("--law", "nmt", "--data", power), 1, `header "n,loss", want ne,nd,loss`},
		{f("--law", "nmt", "--data", nmtHeader), 1, "line 1"},
		{f("--law", "nmt", "--data", nmtNeg), 1, `line 3: nd "-1e6" is not > 0`},
		{f("--law", "nmt", "--data", nmtFields), 1, "line 3: 2 fields"},
		{f("--law", "nmt", "--data", nmtFew), 1, "3 points, but --law nmt has 4"},
		{f("--law", "nmt", "--data", empty), 1, "no header"},
		{f("--law", "power", "--data", empty), 1, "no header"},
	})
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "f.") {
			t.Errorf("a failed run wrote %s", e.Name())
		}
	}
}

func TestCalibrationKeys(t *testing.T) {
	for _, s := range []float64{1, 2} {
		x, y := twoGroups(s)
		keys, err := calibrationKeys(x, 2, y, -100)
		if err != nil {
			t.Fatal(err)
		}
		nll, brier, ece := twoGroupsWant(s)
		// Two distinct confidences: 15 equal-mass bins merge into two,
		// the same groups as the equal-width bins; the larger gap is the
		// first group's.
		p := math.Pow(3, s) / (math.Pow(3, s) + 1)
		want := map[string]float64{"nll": nll, "brier": brier, "ece": ece, "ece_adaptive": ece, "mce": math.Abs(p - 0.75)}
		if len(keys) != len(want) {
			t.Errorf("keys %v", keys)
		}
		for k, w := range want {
			if g, ok := keys[k]; !ok || !near(g, w, 1e-12) {
				t.Errorf("s = %g: %s = %v, want %v", s, k, g, w)
			}
		}
		res := map[string]any{}
		if err := addCalibrationKeys(res, x, 2, y, -100); err != nil || len(res) != 5 || res["ece"] != keys["ece"] {
			t.Errorf("addCalibrationKeys: %v %v", res, err)
		}
		var b strings.Builder
		printCalibrationKeys(&b, res)
		if !strings.Contains(b.String(), fmt.Sprintf("nll %.6f  brier %.6f", nll, brier)) || !strings.Contains(b.String(), fmt.Sprintf("ece %.6f", ece)) {
			t.Errorf("text:\n%s", b.String())
		}
	}
	if keys, err := calibrationKeys([]float64{1, 2}, 2, []int64{-100}, -100); err != nil || len(keys) != 0 {
		t.Errorf("all rows ignored: %v %v", keys, err)
	}
	var b strings.Builder
	printCalibrationKeys(&b, map[string]any{"loss": 1.0})
	if b.Len() != 0 {
		t.Errorf("printed %q without keys", b.String())
	}
	if _, err := calibrationKeys([]float64{1, 2, 3, 4}, 2, []int64{0, 2}, -100); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("label out of range: %v", err)
	}
}

// TestEvalCalibrationKeys checks the keys through xent eval once eval
// reports them.
func TestEvalCalibrationKeys(t *testing.T) {
	dir := t.TempDir()
	x, y := twoGroups(2)
	lp := writeNPY(t, dir, "l.npy", x, len(y), 2)
	yp := writeNPY(t, dir, "y.npy", y, len(y))
	code, out, errs := runCLI(t, "eval", "--logits", lp, "--targets", yp, "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	res := decodeJSON(t, out)
	if _, ok := res["ece"]; !ok {
		t.Skip("xent eval does not report the calibration keys yet")
	}
	nll, brier, ece := twoGroupsWant(2)
	for k, w := range map[string]float64{"nll": nll, "brier": brier, "ece": ece, "ece_adaptive": ece, "mce": 0.15} {
		if g, ok := res[k].(float64); !ok || !near(g, w, 1e-12) {
			t.Errorf("%s = %v, want %v", k, res[k], w)
		}
	}
	code, out, _ = runCLI(t, "eval", "--logits", lp, "--targets", yp)
	if code != 0 || !strings.Contains(out, "nll ") || !strings.Contains(out, "ece-adaptive") {
		t.Errorf("text output:\n%s", out)
	}
}

// TestOODStreamed scores the logits a few rows at a time and checks the
// report against the scores of the whole matrices; a NaN in a later block
// is named by its file and row.
func TestOODStreamed(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(14, 30))
	const cols = 6
	mk := func(name string, rows int, shift float64) (string, []float64) {
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = float64(float32(rng.NormFloat64() * 2))
		}
		for r := 0; r < rows; r++ {
			x[r*cols+rng.IntN(cols)] += shift
		}
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		return writeNPY(t, dir, name, x32, rows, cols), x
	}
	ip, a := mk("in.npy", 203, 4)
	op, b := mk("out.npy", 97, 1)
	old := oodWindow
	oodWindow = 8 * cols * 10 // ten rows a block
	defer func() { oodWindow = old }()
	code, stdout, errs := runCLI(t, "ood", "--in-logits", ip, "--out-logits", op, "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var res struct {
		Scores map[string]oodResult
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// The reference: the probability of the largest logit, by its
	// definition, over the whole matrices.
	msp := func(x []float64) []float64 {
		var s []float64
		for r := 0; r < len(x)/cols; r++ {
			row := x[r*cols : (r+1)*cols]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			var z float64
			for _, v := range row {
				z += math.Exp(v - m)
			}
			s = append(s, 1/z)
		}
		return s
	}
	if g, w := res.Scores["msp"].AUROC, aurocPairs(msp(a), msp(b)); !near(g, w, 1e-12) {
		t.Errorf("MSP AUROC %v, want %v", g, w)
	}
	a[150*cols+2] = math.NaN()
	x32 := make([]float32, len(a))
	for i, v := range a {
		x32[i] = float32(v)
	}
	bad := writeNPY(t, dir, "bad.npy", x32, 203, cols)
	code, _, errs = runCLI(t, "ood", "--in-logits", bad, "--out-logits", op)
	if code != 1 || !strings.Contains(errs, "bad.npy, rows 150 to 159") {
		t.Errorf("NaN at row 150: exit %d, %s", code, errs)
	}
}

// TestCalibrateStreamed: the report does not depend on how many rows are
// read at a time (the fit's sums are exact), matches the in-memory fit,
// and a NaN in a later block is named by its file and rows.
func TestCalibrateStreamed(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(14, 31))
	const rows, cols = 500, 8
	x := make([]float32, rows*cols)
	y := make([]int64, rows)
	for r := 0; r < rows; r++ {
		y[r] = int64(rng.IntN(cols))
		for j := 0; j < cols; j++ {
			x[r*cols+j] = float32(rng.NormFloat64() * 3)
		}
		x[r*cols+int(y[r])] += 2
		if r%11 == 3 {
			y[r] = -100
		}
	}
	lp := writeNPY(t, dir, "l.npy", x, rows, cols)
	yp := writeNPY(t, dir, "y.npy", y, rows)
	args := []string{"calibrate", "--logits", lp, "--targets", yp, "--json"}
	code, whole, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatal(errs)
	}
	old := calibrationWindow
	defer func() { calibrationWindow = old }()
	calibrationWindow = 8 * cols * 7 // seven rows a block
	code, small, errs := runCLI(t, args...)
	if code != 0 || small != whole {
		t.Fatalf("7-row blocks: %d %s\n%s\nwhole: %s", code, errs, small, whole)
	}
	var res struct {
		Temperature float64
		Rows        int
	}
	json.Unmarshal([]byte(whole), &res)
	var kx []float64
	var ky []int32
	for r := 0; r < rows; r++ {
		if y[r] != -100 {
			for j := 0; j < cols; j++ {
				kx = append(kx, float64(x[r*cols+j]))
			}
			ky = append(ky, int32(y[r]))
		}
	}
	want, err := calibrate.FitTemperature(kx, cols, ky)
	if err != nil || res.Rows != len(ky) || math.Abs(res.Temperature/want-1) > 1e-9 {
		t.Errorf("T = %v over %d rows; in memory %v over %d (%v)", res.Temperature, res.Rows, want, len(ky), err)
	}
	x[301*cols+1] = float32(math.NaN())
	bad := writeNPY(t, dir, "bad.npy", x, rows, cols)
	code, _, errs = runCLI(t, "calibrate", "--logits", bad, "--targets", yp)
	if code != 1 || !strings.Contains(errs, "bad.npy, rows 301 to 307") {
		t.Errorf("NaN at row 301: exit %d, %s", code, errs)
	}
}
