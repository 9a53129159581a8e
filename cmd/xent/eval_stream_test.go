package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

// shardData writes a data set whole (l.npy, y.npy) and cut into shards
// (l-NN.npy, y-NN.npy) at the given rows.
func shardData(t *testing.T, dir string, rows, cols int, cuts []int) ([]float32, []int64) {
	rng := rand.New(rand.NewPCG(14, 20))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	y := make([]int64, rows)
	for i := range y {
		y[i] = int64(rng.IntN(cols))
		if i%9 == 4 {
			y[i] = -100
		}
	}
	writeNPY(t, dir, "l.npy", x, rows, cols)
	writeNPY(t, dir, "y.npy", y, rows)
	b := append(append([]int{0}, cuts...), rows)
	for i := 0; i+1 < len(b); i++ {
		writeNPY(t, dir, fmt.Sprintf("l-%02d.npy", i), x[b[i]*cols:b[i+1]*cols], b[i+1]-b[i], cols)
		writeNPY(t, dir, fmt.Sprintf("y-%02d.npy", i), y[b[i]:b[i+1]], b[i+1]-b[i])
	}
	return x, y
}

func TestEvalShardsAndMerge(t *testing.T) {
	dir := t.TempDir()
	x, y := shardData(t, dir, 300, 12, []int{0, 1, 150, 299})
	p := func(n string) string { return filepath.Join(dir, n) }

	code, whole, errs := runCLI(t, "eval", "--logits", p("l.npy"), "--targets", p("y.npy"), "--json")
	if code != 0 {
		t.Fatalf("whole: %d %s", code, errs)
	}
	// The loss against an independent float64 evaluation.
	var res map[string]any
	json.Unmarshal([]byte(whole), &res)
	var sum float64
	n := 0
	for r := 0; r < 300; r++ {
		if y[r] == -100 {
			continue
		}
		row := x[r*12 : (r+1)*12]
		sum += refLSE(row) - float64(row[y[r]])
		n++
	}
	if got := res["loss"].(float64); math.Abs(got-sum/float64(n)) > 1e-6 {
		t.Fatalf("loss %v, float64 reference %v", got, sum/float64(n))
	}

	// Shards by glob and by list give the same bytes.
	code, globbed, errs := runCLI(t, "eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"), "--json", "--threads", "1", "--window", "1")
	if code != 0 || globbed != whole {
		t.Fatalf("glob: %d %s\n%s\nwant %s", code, errs, globbed, whole)
	}
	list := []string{p("l-03.npy"), p("l-00.npy"), p("l-02.npy"), p("l-01.npy"), p("l-04.npy")}
	labels := []string{p("y-03.npy"), p("y-00.npy"), p("y-02.npy"), p("y-01.npy"), p("y-04.npy")}
	code, listed, errs := runCLI(t, "eval", "--logits", strings.Join(list, ","), "--targets", strings.Join(labels, ","), "--json")
	if code != 0 || listed != whole {
		t.Fatalf("list in another order: %d %s\n%s\nwant %s", code, errs, listed, whole)
	}

	// Partials, merged in any order, give the same bytes; text too.
	var parts []string
	for i := range 5 {
		out := p(fmt.Sprintf("part-%d.xacc", i))
		if code, _, errs := runCLI(t, "eval", "--logits", p(fmt.Sprintf("l-%02d.npy", i)), "--targets", p(fmt.Sprintf("y-%02d.npy", i)), "--partial", out); code != 0 {
			t.Fatalf("partial %d: %s", i, errs)
		}
		parts = append(parts, out)
	}
	code, merged, errs := runCLI(t, "merge", parts[4], parts[2], "--json", parts[0], parts[3], parts[1])
	if code != 0 || merged != whole {
		t.Fatalf("merge: %d %s\n%s\nwant %s", code, errs, merged, whole)
	}
	// In two stages.
	if code, _, errs := runCLI(t, "merge", "--partial", p("ab.xacc"), parts[1], parts[3]); code != 0 {
		t.Fatal(errs)
	}
	code, staged, _ := runCLI(t, "merge", "--json", p("ab.xacc"), parts[0], parts[2], parts[4])
	if code != 0 || staged != whole {
		t.Fatalf("two-stage merge %s, want %s", staged, whole)
	}
	_, textWhole, _ := runCLI(t, "eval", "--logits", p("l.npy"), "--targets", p("y.npy"))
	_, textMerged, _ := runCLI(t, "merge", p("part-*.xacc"))
	if textWhole != textMerged || !strings.Contains(textWhole, "ece-adaptive") {
		t.Fatalf("text reports differ:\n%s\n%s", textWhole, textMerged)
	}
}

func TestEvalStreamErrors(t *testing.T) {
	dir := t.TempDir()
	shardData(t, dir, 60, 5, []int{20})
	p := func(n string) string { return filepath.Join(dir, n) }
	check := func(want int, msg string, args ...string) {
		t.Helper()
		code, _, errs := runCLI(t, args...)
		if code != want || !strings.Contains(errs, msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", args, code, errs, want, msg)
		}
	}
	// Shards whose counts or rows disagree.
	check(2, "2 logits files but 1 targets", "eval", "--logits", p("l-*.npy"), "--targets", p("y-00.npy"))
	check(1, "y-00.npy", "eval", "--logits", p("l-01.npy")+","+p("l-00.npy"), "--targets", p("y-00.npy")+","+p("y-01.npy"))
	check(1, "no file matches", "eval", "--logits", p("nothing-*.npy"), "--targets", p("y.npy"))
	// A loss that cannot be split does not go with shards.
	check(1, "not a sum of independent rows", "eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"), "--loss", "dro")
	// A truncated shard names its file.
	raw, _ := os.ReadFile(p("l-01.npy"))
	os.WriteFile(p("l-01.npy"), raw[:len(raw)-7], 0o644)
	check(1, "l-01.npy", "eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"))
	// A label out of range names its file and row.
	writeNPY(t, dir, "bad.npy", append(make([]int64, 19), 5), 20)
	check(1, "label 5 at row 19", "eval", "--logits", p("l-00.npy"), "--targets", p("bad.npy"))
	// --partial with per-row output is refused; so is an unknown dtype.
	check(2, "--partial", "eval", "--logits", p("l.npy"), "--targets", p("y.npy"), "--partial", p("x.xacc"), "--reduction", "none")
	check(2, "--dtype", "eval", "--logits", p("l.npy"), "--targets", p("y.npy"), "--dtype", "f8")

	// Corrupt and mismatched partials are named.
	good := p("good.xacc")
	if code, _, errs := runCLI(t, "eval", "--logits", p("l-00.npy"), "--targets", p("y-00.npy"), "--partial", good); code != 0 {
		t.Fatal(errs)
	}
	other := p("other.xacc")
	if code, _, errs := runCLI(t, "eval", "--logits", p("l-00.npy"), "--targets", p("y-00.npy"), "--partial", other, "--label-smoothing", "0.1"); code != 0 {
		t.Fatal(errs)
	}
	check(1, "other.xacc", "merge", good, other)
	check(1, "label smoothing", "merge", good, other)
	b, _ := os.ReadFile(good)
	b[len(b)/2] ^= 4
	os.WriteFile(p("bad.xacc"), b, 0o644)
	check(1, "bad.xacc", "merge", good, p("bad.xacc"))
	check(1, "checksum", "merge", p("bad.xacc"))
	os.WriteFile(p("short.xacc"), b[:10], 0o644)
	check(1, "short.xacc", "merge", p("short.xacc"))
	check(2, "no partial", "merge", "--json")
	// A failed evaluation leaves no partial behind.
	if _, err := os.Stat(p("x.xacc")); !os.IsNotExist(err) {
		t.Errorf("a partial was written: %v", err)
	}
}

// TestEvalHalfAndBFloat16 reads float16 and bfloat16 logits (values they
// hold exactly) and gets the float32 report, bit for bit.
func TestEvalHalfAndBFloat16(t *testing.T) {
	dir := t.TempDir()
	const rows, cols = 40, 6
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32((i*37)%61-30) / 4
	}
	y := make([]int64, rows)
	for i := range y {
		y[i] = int64(i % cols)
	}
	l32 := writeNPY(t, dir, "l32.npy", x, rows, cols)
	yp := writeNPY(t, dir, "y.npy", y, rows)
	_, want, _ := runCLI(t, "eval", "--logits", l32, "--targets", yp, "--json")
	f16 := make([]float32, len(x))
	copy(f16, x)
	writeHalf(t, filepath.Join(dir, "l16.npy"), npy.DType{Kind: npy.Float, Size: 2}, x, rows, cols, func(v float32) uint16 {
		b := math.Float32bits(v)
		if v == 0 {
			return uint16(b >> 16)
		}
		return uint16(b>>16)&0x8000 | uint16(int(b>>23&0xff)-127+15)<<10 | uint16(b>>13&0x3ff)
	})
	bf := func(v float32) uint16 { return uint16(math.Float32bits(v) >> 16) }
	writeHalf(t, filepath.Join(dir, "lbf.npy"), npy.DType{Kind: npy.Void, Size: 2}, x, rows, cols, bf)
	writeHalf(t, filepath.Join(dir, "lbfu.npy"), npy.DType{Kind: npy.Uint, Size: 2}, x, rows, cols, bf)
	for _, c := range []struct {
		file string
		args []string
	}{{"l16.npy", nil}, {"lbf.npy", []string{"--dtype", "bf16"}}, {"lbfu.npy", []string{"--dtype", "bf16"}}} {
		args := append([]string{"eval", "--logits", filepath.Join(dir, c.file), "--targets", yp, "--json"}, c.args...)
		code, got, errs := runCLI(t, args...)
		if code != 0 || got != want {
			t.Errorf("%s: %d %s\n%s\nwant %s", c.file, code, errs, got, want)
		}
	}
	// Raw 2-byte values without --dtype bf16 are refused clearly.
	code, _, errs := runCLI(t, "eval", "--logits", filepath.Join(dir, "lbf.npy"), "--targets", yp)
	if code == 0 || !strings.Contains(errs, "bfloat16") {
		t.Errorf("|V2 without --dtype: %d %q", code, errs)
	}
}

func writeHalf(t *testing.T, path string, d npy.DType, x []float32, rows, cols int, bits func(float32) uint16) {
	t.Helper()
	var hb bytes.Buffer
	if err := npy.WriteHeader(&hb, d, rows, cols); err != nil {
		t.Fatal(err)
	}
	b := hb.Bytes()
	for _, v := range x {
		u := bits(v)
		b = append(b, byte(u), byte(u>>8))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := npy.ReadFileHeader(path); err != nil {
		t.Fatal(err)
	}
}

// TestEvalGradStreamed writes the gradient and the log-sum-exp through
// the streaming path and compares with the in-memory path's files.
func TestEvalGradStreamed(t *testing.T) {
	dir := t.TempDir()
	shardData(t, dir, 50, 7, []int{20})
	p := func(n string) string { return filepath.Join(dir, n) }
	if code, _, errs := runCLI(t, "eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"), "--grad", p("g.npy"), "--lse", p("lse.npy")); code != 0 {
		t.Fatal(errs)
	}
	g, h, err := npy.ReadFile[float32](p("g.npy"))
	if err != nil || h.Shape[0] != 50 || h.Shape[1] != 7 {
		t.Fatalf("%v %v", h, err)
	}
	x, _, _ := npy.ReadFile[float32](p("l.npy"))
	y, _, _ := npy.ReadFile[int64](p("y.npy"))
	counted := 0
	for _, v := range y {
		if v != -100 {
			counted++
		}
	}
	// ∂mean/∂z = (softmax(z) − e_y)/counted for counted rows, 0 otherwise.
	for r := 0; r < 50; r++ {
		row := x[r*7 : (r+1)*7]
		lse := refLSE(row)
		for j := range 7 {
			want := 0.0
			if y[r] != -100 {
				want = math.Exp(float64(row[j]) - lse)
				if int64(j) == y[r] {
					want--
				}
				want /= float64(counted)
			}
			if math.Abs(float64(g[r*7+j])-want) > 1e-7 {
				t.Fatalf("grad[%d,%d] = %v, want %v", r, j, g[r*7+j], want)
			}
		}
	}
	lse, _, _ := npy.ReadFile[float32](p("lse.npy"))
	if len(lse) != 50 {
		t.Fatalf("%d log-sum-exps", len(lse))
	}
	// Per-row losses with --reduction none, over shards.
	code, out, errs := runCLI(t, "eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"), "--reduction", "none", "--json")
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res["loss"].([]any)) != 50 {
		t.Fatalf("none: %d %s %s", code, errs, out)
	}
}

// refLSE is a row's log-sum-exp in float64, max-shifted.
func refLSE(row []float32) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// TestEvalProgressBar: a bar with the rows and their rate on a terminal,
// nothing with --json or on a non-terminal; stdout the same either way.
func TestEvalProgressBar(t *testing.T) {
	dir := t.TempDir()
	shardData(t, dir, 300, 7, []int{100})
	p := func(s string) string { return filepath.Join(dir, s) }
	args := []string{"eval", "--logits", p("l-*.npy"), "--targets", p("y-*.npy"), "--window", "1"}
	code, plain, errs := runCLI(t, args...)
	if code != 0 || errs != "" {
		t.Fatalf("not a terminal: exit %d, stderr %q", code, errs)
	}
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	code, out, errs := runCLI(t, args...)
	if code != 0 || out != plain || !strings.Contains(errs, "/300, ") || !strings.Contains(errs, "rows/s") {
		t.Errorf("terminal: exit %d, stdout %q (want %q), stderr %q", code, out, plain, errs)
	}
	if code, _, errs := runCLI(t, append(args, "--json")...); code != 0 || errs != "" {
		t.Errorf("--json on a terminal: exit %d, stderr %q", code, errs)
	}
}

// TestEvalPathsThatLookLikeLists: a file whose name has a comma or a
// glob character in it is read as that file; the same characters still
// make lists and patterns when no such file exists.
func TestEvalPathsThatLookLikeLists(t *testing.T) {
	dir := t.TempDir()
	shardData(t, dir, 40, 7, []int{15})
	l, err := os.ReadFile(filepath.Join(dir, "l.npy"))
	if err != nil {
		t.Fatal(err)
	}
	comma, bracket := filepath.Join(dir, "logits,v2.npy"), filepath.Join(dir, "logits[1].npy")
	for _, p := range []string{comma, bracket} {
		if err := os.WriteFile(p, l, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	y := filepath.Join(dir, "y.npy")
	_, want, errs := runCLI(t, "eval", "--logits", filepath.Join(dir, "l.npy"), "--targets", y, "--json")
	if want == "" {
		t.Fatal(errs)
	}
	for _, p := range []string{comma, bracket} {
		code, got, errs := runCLI(t, "eval", "--logits", p, "--targets", y, "--json")
		if code != 0 || got != want {
			t.Errorf("--logits %s: exit %d, %q (%s); want the report of the same data, %q", p, code, got, errs, want)
		}
	}
	// As a list and as a pattern, the same characters keep their meaning.
	two := filepath.Join(dir, "l-00.npy") + "," + filepath.Join(dir, "l-01.npy")
	if code, got, errs := runCLI(t, "eval", "--logits", two, "--targets", filepath.Join(dir, "y-0[01].npy"), "--json"); code != 0 || got != want {
		t.Errorf("two shards by list and pattern: exit %d, %q (%s); want %q", code, got, errs, want)
	}
}
