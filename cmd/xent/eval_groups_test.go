package main

import (
	"math"
	"strings"
	"testing"
)

// ceRow is −log softmax(z)_y in float64.
func ceRow(z []float64, y int) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s) - z[y]
}

func softmaxRow(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	p := make([]float64, len(z))
	var s float64
	for i, v := range z {
		p[i] = math.Exp(v - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// TestEvalGroupsBag: bag at the bag level (ρ = 0) is, per bag, the
// cross-entropy of the bag's mean target against its mean prediction,
// averaged over bags.
func TestEvalGroupsBag(t *testing.T) {
	dir := t.TempDir()
	z := []float64{1, 2, 0.5, -1, 0, 3, 2, 2, 2, 0.3, -0.7, 1.1}
	y := []float64{1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5, 0, 0, 1}
	const cols = 3
	logits := writeNPY(t, dir, "l.npy", z, 4, cols)
	targets := writeNPY(t, dir, "y.npy", y, 4, cols)
	want := func(bags [][]int) float64 {
		var total float64
		for _, rows := range bags {
			yb, pb := make([]float64, cols), make([]float64, cols)
			for _, r := range rows {
				p := softmaxRow(z[r*cols : (r+1)*cols])
				for k := 0; k < cols; k++ {
					yb[k] += y[r*cols+k] / float64(len(rows))
					pb[k] += p[k] / float64(len(rows))
				}
			}
			for k := 0; k < cols; k++ {
				total -= yb[k] * math.Log(pb[k])
			}
		}
		return total / float64(len(bags))
	}
	for _, c := range []struct {
		ids  []int32
		bags [][]int
	}{
		{nil, [][]int{{0, 1, 2, 3}}},
		{[]int32{7, 7, 2, 2}, [][]int{{0, 1}, {2, 3}}},
		{[]int32{0, 1, 0, 5}, [][]int{{0, 2}, {1}, {3}}},
	} {
		args := []string{"eval", "--loss", "bag", "--logits", logits, "--targets", targets, "--json"}
		if c.ids != nil {
			args = append(args, "--groups", writeNPY(t, dir, "g.npy", c.ids, 4))
		}
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.ids, code, errs)
		}
		if got, w := decodeJSON(t, out)["loss"].(float64), want(c.bags); math.Abs(got-w) > 1e-12 {
			t.Errorf("groups %v: loss %v, want %v", c.ids, got, w)
		}
	}
}

// TestEvalGroupsMFT: mft mode 2 is the mean over samples of each
// sample's mean token cross-entropy.
func TestEvalGroupsMFT(t *testing.T) {
	dir := t.TempDir()
	z := []float64{1, 2, 0.5, -1, 0, 3, 2, 2, 2, 0.3, -0.7, 1.1, 0, 0, 1}
	labels := []int64{0, 2, 1, 2, 0}
	const cols = 3
	logits := writeNPY(t, dir, "l.npy", z, 5, cols)
	targets := writeNPY(t, dir, "y.npy", labels, 5)
	groups := writeNPY(t, dir, "g.npy", []int32{4, 4, 4, 9, 9}, 5)
	tasks := writeNPY(t, dir, "t.npy", []int32{0, 0, 0, 0, 0}, 5)
	ce := func(r int) float64 { return ceRow(z[r*cols:(r+1)*cols], int(labels[r])) }
	want := ((ce(0)+ce(1)+ce(2))/3 + (ce(3)+ce(4))/2) / 2
	code, out, errs := runCLI(t, "eval", "--loss", "mft:mode=2", "--logits", logits, "--targets", targets, "--groups", groups, "--tasks", tasks, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := decodeJSON(t, out)["loss"].(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %v, want %v", got, want)
	}
}

// TestEvalGroupsEISL: the sum over sequences given by --groups equals the
// sum of evaluating each sequence on its own.
func TestEvalGroupsEISL(t *testing.T) {
	dir := t.TempDir()
	z := []float32{1, 2, 0.5, -1, 0, 3, 2, 2, 2, 0.3, -0.7, 1.1, 0, 0, 1}
	labels := []int64{0, 2, 1, 2, 0}
	const cols = 3
	run := func(args ...string) float64 {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"eval", "--loss", "eisl", "--reduction", "sum", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return decodeJSON(t, out)["loss"].(float64)
	}
	all := run("--logits", writeNPY(t, dir, "l.npy", z, 5, cols), "--targets", writeNPY(t, dir, "y.npy", labels, 5),
		"--groups", writeNPY(t, dir, "g.npy", []int32{1, 1, 0, 0, 0}, 5))
	a := run("--logits", writeNPY(t, dir, "la.npy", z[:2*cols], 2, cols), "--targets", writeNPY(t, dir, "ya.npy", labels[:2], 2))
	b := run("--logits", writeNPY(t, dir, "lb.npy", z[2*cols:], 3, cols), "--targets", writeNPY(t, dir, "yb.npy", labels[2:], 3))
	if math.Abs(all-(a+b)) > 1e-5*math.Abs(a+b) {
		t.Errorf("grouped %v, separate %v + %v", all, a, b)
	}
	one := run("--logits", writeNPY(t, dir, "l1.npy", z, 5, cols), "--targets", writeNPY(t, dir, "y1.npy", labels, 5))
	if one == all {
		t.Errorf("one sequence and two give the same loss %v: the groups were ignored", one)
	}
}

func TestEvalGroupsErrors(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{0, 1}, 2)
	g := writeNPY(t, dir, "g.npy", []int32{0, 1}, 2)
	short := writeNPY(t, dir, "s.npy", []int32{0}, 1)
	fg := writeNPY(t, dir, "f.npy", []float32{0, 1}, 2)
	neg := writeNPY(t, dir, "n.npy", []int32{0, -1}, 2)
	for _, c := range []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"--groups", g}, 2, "bag, eisl and mft"},
		{[]string{"--loss", "eisl", "--tasks", g}, 2, "--tasks"},
		{[]string{"--loss", "eisl", "--groups", short}, 1, "want 2"},
		{[]string{"--loss", "eisl", "--groups", fg}, 1, "want integers"},
		{[]string{"--loss", "mft", "--tasks", neg}, 1, "task id -1"},
	} {
		code, _, errs := runCLI(t, append([]string{"eval", "--logits", logits, "--targets", labels}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.mention) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d mentioning %q", c.args, code, errs, c.code, c.mention)
		}
	}
}

// TestEvalSCENames: sce-labels (what xent lab trains) takes labels; sce,
// the teacher variant, refuses them, naming the other.
func TestEvalSCENames(t *testing.T) {
	dir := t.TempDir()
	z := []float64{0, 1, 2, 2, 0, -1}
	logits := writeNPY(t, dir, "l.npy", z, 2, 3)
	labels := writeNPY(t, dir, "y.npy", []int64{2, 0}, 2)
	code, out, errs := runCLI(t, "eval", "--loss", "sce-labels:alpha=0.01,beta=1", "--logits", logits, "--targets", labels, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var want float64
	for i, y := range []int{2, 0} {
		p := softmaxRow(z[i*3 : (i+1)*3])
		want += (-0.01*math.Log(p[y]) + 4*(1-p[y])) / 2
	}
	if got := decodeJSON(t, out)["loss"].(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("sce-labels %v, want %v", got, want)
	}
	code, _, errs = runCLI(t, "eval", "--loss", "sce", "--logits", logits, "--targets", labels)
	if code != 2 || !strings.Contains(errs, "sce-labels") {
		t.Errorf("sce on labels: exit %d, %q", code, errs)
	}
}
