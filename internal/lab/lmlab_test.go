package lab

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tinyLMConfig is a run of a second or so on the fixture corpus.
func tinyLMConfig(root string) LMConfig {
	c := DefaultLMConfig()
	c.Corpus = CorpusConfig{Root: root, Vocab: 96, ValEvery: 4}
	c.Context, c.Embed, c.Hidden = 4, 8, 32
	c.Batch, c.Steps, c.LR = 64, 60, 1e-2
	c.ValTokens, c.ValPoints, c.LogEvery = 300, 3, 10
	return c
}

func loadFixture(t *testing.T, c LMConfig) *Corpus {
	t.Helper()
	corp, err := LoadCorpus(context.Background(), c.Corpus)
	if err != nil {
		t.Fatal(err)
	}
	return corp
}

func TestRunLM(t *testing.T) {
	c := tinyLMConfig(writeLMFixture(t, 8, 3))
	if testing.Short() {
		c.Steps = 40
	}
	corp := loadFixture(t, c)
	var starts, dones, steps, vals int
	ev := LMEvents{
		Start: func(r LMRunInfo) { starts++ },
		Done:  func(r LMRunInfo, res LMHeadResult) { dones++ },
		Step:  func(r LMRunInfo, step int, loss float64) { steps++ },
		Val:   func(r LMRunInfo, p LMPoint) { vals++ },
	}
	res, err := RunLM(context.Background(), c, corp, ev)
	if err != nil {
		t.Fatal(err)
	}
	if starts != 3 || dones != 3 || steps != 3*c.Steps || vals != 3*c.ValPoints {
		t.Errorf("events: %d starts, %d dones, %d steps, %d validations", starts, dones, steps, vals)
	}
	if res.ValScored != c.ValTokens || res.Corpus.Vocab != len(corp.Vocab) || len(res.Heads) != 3 {
		t.Fatalf("scored %d, vocabulary %d, %d heads", res.ValScored, res.Corpus.Vocab, len(res.Heads))
	}
	// The honest floor: a model that reads its context beats the unigram
	// model of the training tokens on unseen packages, and even the
	// entropy of the scored validation tokens' own unigram distribution
	// (the best any model that ignores the context could do).
	if !(res.UnigramLoss > 1) {
		t.Fatalf("unigram loss %v", res.UnigramLoss)
	}
	valPos := corp.Val.Positions(c.Context)
	freq := map[int32]float64{}
	for i := range res.ValScored {
		freq[corp.Val.Tokens[valPos[i*len(valPos)/res.ValScored]]]++
	}
	var entropy float64
	for _, n := range freq {
		q := n / float64(res.ValScored)
		entropy -= q * math.Log(q)
	}
	if !(entropy > 1 && entropy <= res.UnigramLoss) {
		t.Fatalf("validation unigram entropy %v, unigram model's loss %v", entropy, res.UnigramLoss)
	}
	for _, h := range res.Heads {
		if !(h.ValLoss < entropy) {
			t.Errorf("%s: validation loss %.4f, not below the validation tokens' unigram entropy %.4f", h.Head.Name, h.ValLoss, entropy)
		}
		if h.ValPerplexity != math.Exp(h.ValLoss) || len(h.Val) != c.ValPoints || h.Val[len(h.Val)-1].Step != c.Steps {
			t.Errorf("%s: perplexity %v for loss %v, validations %v", h.Head.Name, h.ValPerplexity, h.ValLoss, h.Val)
		}
		if len(h.Train) != (c.Steps+c.LogEvery-1)/c.LogEvery || h.Train[0].Loss <= h.Train[len(h.Train)-1].Loss {
			t.Errorf("%s: training curve %v", h.Head.Name, h.Train)
		}
		if h.ScratchBytes < int64(4*c.Batch*res.Corpus.Vocab) || !(h.StepSeconds > 0) || !(h.HeadSeconds > 0) {
			t.Errorf("%s: scratch %d, step %v s, head %v s", h.Head.Name, h.ScratchBytes, h.StepSeconds, h.HeadSeconds)
		}
	}
	t.Logf("unigram model %.4f, entropy %.4f; validation: %.4f, %.4f, %.4f", res.UnigramLoss, entropy, res.Heads[0].ValLoss, res.Heads[1].ValLoss, res.Heads[2].ValLoss)
	fused, filtered, mat := res.Heads[0], res.Heads[1], res.Heads[2]
	for _, p := range filtered.Train {
		if p.Skipped < 0 || p.Skipped > 1 {
			t.Errorf("filtered: %v of the tiles skipped at step %d", p.Skipped, p.Step)
		}
	}
	for _, p := range append(fused.Train, mat.Train...) {
		if p.Skipped != 0 {
			t.Errorf("exact head: %v of the tiles skipped at step %d", p.Skipped, p.Step)
		}
	}
	if fused.Tiles == 0 || fused.SkippedTiles != 0 || filtered.Tiles != fused.Tiles || mat.Tiles != 0 {
		t.Errorf("tiles: fused %d/%d, filtered %d/%d, materialized %d", fused.SkippedTiles, fused.Tiles, filtered.SkippedTiles, filtered.Tiles, mat.Tiles)
	}
	// Exact fused and materialized heads differ only by rounding.
	for i := range fused.Val {
		if d := math.Abs(fused.Val[i].Loss - mat.Val[i].Loss); d > 1e-3 {
			t.Errorf("validation %d: fused %v, materialized %v", i, fused.Val[i].Loss, mat.Val[i].Loss)
		}
	}
}

func TestRunLMThreads(t *testing.T) {
	c := tinyLMConfig(writeLMFixture(t, 8, 2))
	c.Steps, c.ValPoints = 6, 2
	corp := loadFixture(t, c)
	curves := func(threads int) [][]LMPoint {
		c.Threads = threads
		res, err := RunLM(context.Background(), c, corp, LMEvents{})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]LMPoint
		for _, h := range res.Heads {
			out = append(out, h.Train, h.Val)
		}
		return out
	}
	one, two := curves(1), curves(3)
	if !reflect.DeepEqual(one, two) {
		t.Errorf("the loss curves depend on the thread count:\n%v\n%v", one, two)
	}
}

func TestRunLMErrors(t *testing.T) {
	c := tinyLMConfig(writeLMFixture(t, 4, 1))
	corp := loadFixture(t, c)
	bad := c
	bad.Steps = 0
	if _, err := RunLM(context.Background(), bad, corp, LMEvents{}); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("0 steps: %v", err)
	}
	bad = c
	bad.Context = 10000
	if _, err := RunLM(context.Background(), bad, corp, LMEvents{}); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("context longer than every file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunLM(ctx, c, corp, LMEvents{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for _, f := range []func(*LMConfig){
		func(c *LMConfig) { c.Corpus.Vocab = 1 },
		func(c *LMConfig) { c.Corpus.ValEvery = 1 },
		func(c *LMConfig) { c.Embed = 0 },
		func(c *LMConfig) { c.Hidden = 0 },
		func(c *LMConfig) { c.Batch = 0 },
		func(c *LMConfig) { c.LR = math.NaN() },
		func(c *LMConfig) { c.FilterEps = 0 },
		func(c *LMConfig) { c.ValTokens = -1 },
		func(c *LMConfig) { c.ValPoints = 0 },
		func(c *LMConfig) { c.LogEvery = 0 },
	} {
		b := DefaultLMConfig()
		f(&b)
		if b.Validate() == nil {
			t.Errorf("%+v: valid", b)
		}
	}
	if err := DefaultLMConfig().Validate(); err != nil {
		t.Error(err)
	}
	q := DefaultLMConfig()
	q.Quick()
	if err := q.Validate(); err != nil || q.Steps >= DefaultLMConfig().Steps {
		t.Errorf("quick: %v, %d steps", err, q.Steps)
	}
}

func TestWriteLMReport(t *testing.T) {
	c := tinyLMConfig(writeLMFixture(t, 6, 1))
	c.Steps, c.ValPoints = 4, 2
	res, err := RunLM(context.Background(), c, loadFixture(t, c), LMEvents{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rep")
	var render func(f *Figure, path string) error
	if testing.Short() {
		render = func(f *Figure, path string) error { return os.WriteFile(path, []byte("png"), 0o644) }
	}
	if err := WriteLMReport(dir, res, ReportOptions{Command: "xent lab lm --steps 4", Render: render}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ReportFile, "results.json", "lm-train-loss.png", "lm-train-loss.json", "lm-val-loss.png", "lm-val-loss.json", "lm-skipped-tiles.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"xent lab lm --steps 4", "`fused, filter 2^-12` skipped ", "| fused ", "| fused, filter 2^-12 ", "| materialized ", "| unigram model ", "head scratch", "(lm-val-loss.png)"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if err := WriteLMReport(dir, res, ReportOptions{Render: render}); !errors.Is(err, ErrExists) {
		t.Errorf("second write without Force: %v", err)
	}
	if err := WriteLMReport(dir, res, ReportOptions{Render: render, Force: true}); err != nil {
		t.Errorf("with Force: %v", err)
	}
	if err := WriteLMReport(filepath.Join(t.TempDir(), "x"), &LMResults{}, ReportOptions{}); err == nil {
		t.Error("report of no run: no error")
	}
	var tab bytes.Buffer
	if err := WriteLMTable(&tab, res); err != nil || strings.Count(tab.String(), "\n") != 6 {
		t.Errorf("table (%v):\n%s", err, tab.String())
	}
}

func TestEpsText(t *testing.T) {
	for eps, want := range map[float64]string{BF16FilterEps: "2^-12", 0.5: "2^-1", 1: "1", 0.001: "0.001", 3: "3"} {
		if got := epsText(eps); got != want {
			t.Errorf("epsText(%g) = %q, want %q", eps, got, want)
		}
	}
}

// TestGenerateLM checks generation: the samples come out, bounded, the
// same for the same seed and any thread count, and lay out as source.
func TestGenerateLM(t *testing.T) {
	c := tinyLMConfig(writeLMFixture(t, 8, 3))
	c.Steps = 20
	corp := loadFixture(t, c)
	c.Threads = 1
	a, err := RunLM(context.Background(), c, corp, LMEvents{})
	if err != nil {
		t.Fatal(err)
	}
	c.Threads = 2
	b, err := RunLM(context.Background(), c, corp, LMEvents{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Samples) != c.Generate || a.SampleChain != LMGenChain {
		t.Fatalf("%d samples with chain %q", len(a.Samples), a.SampleChain)
	}
	for i, s := range a.Samples {
		if s.Tokens < 1 || s.Tokens > lmGenTokens || strings.Count(s.Text, "\n") > lmGenLines || strings.Contains(s.Text, UnkToken) {
			t.Errorf("sample %d: %d tokens, text %q", i, s.Tokens, s.Text)
		}
		if s.Text != b.Samples[i].Text {
			t.Errorf("sample %d differs between 1 and 2 threads:\n%s\n%s", i, s.Text, b.Samples[i].Text)
		}
	}
	var md bytes.Buffer
	if err := WriteLMMarkdown(&md, a, nil, "xent lab lm"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Generated Go") || !strings.Contains(md.String(), "```go\n"+a.Samples[0].Prompt) {
		t.Errorf("the report does not show the samples:\n%s", md.String())
	}
}

func TestDetokenize(t *testing.T) {
	vocab := []string{UnkToken, NewlineToken, "func", "main", "(", ")", "{", "}", "x", ":=", "f", "1", ",", "return", "if", "[", "]", "."}
	ids := func(words ...string) []int32 {
		var out []int32
		for _, w := range words {
			for i, v := range vocab {
				if v == w {
					out = append(out, int32(i))
				}
			}
		}
		return out
	}
	got := Detokenize(vocab, ids("func", "main", "(", ")", "{", "\n", "x", ":=", "f", "(", "1", ",", "x", "[", "1", "]", ")", "\n", "if", "(", "x", ")", "{", "\n", "return", "f", ".", "x", "\n", "}", "\n", "}"))
	want := "func main() {\n\tx := f(1, x[1])\n\tif (x) {\n\t\treturn f.x\n\t}\n}"
	if got != want {
		t.Errorf("Detokenize:\n%s\nwant\n%s", got, want)
	}
}

func TestFilterVerdict(t *testing.T) {
	exact := LMHeadResult{StepSeconds: 1, ValLoss: 3}
	for _, c := range []struct {
		step, loss float64
		want       string
	}{
		{0.8, 3.005, "paid here"},
		{0.8, 3.2, "traded accuracy"},
		{1.0, 3.0, "did not pay here**: the loss is the same"},
		{0.99, 2.99, "did not pay"},
		{1.2, 3.5, "did not pay here**: no faster"},
	} {
		got := filterVerdict(LMHeadResult{StepSeconds: c.step, ValLoss: c.loss}, exact)
		if !strings.Contains(got, c.want) {
			t.Errorf("step %v, loss %v: %q, want %q", c.step, c.loss, got, c.want)
		}
	}
}

func TestMemorySummary(t *testing.T) {
	res := &LMResults{Config: LMConfig{Batch: 4096}, Corpus: CorpusStats{Vocab: 32768}, Heads: []LMHeadResult{
		{Head: LMHead{Name: "fused"}, ScratchBytes: 32 << 20},
		{Head: LMHead{Name: "f", FilterEps: 1.0 / 4096}, ScratchBytes: 33 << 20},
		{Head: LMHead{Name: "materialized", Materialized: true}, ScratchBytes: 512 << 20},
	}}
	got := memorySummary(res)
	for _, want := range []string{"fused head 32.0 MiB", "materialized head 512.0 MiB", "16.0× as much", "[4096, 32 768]", "logits alone are 512.0 MiB", "2^27.0"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	res.Heads = res.Heads[:1]
	if memorySummary(res) != "" {
		t.Error("a summary without the materialized head")
	}
}
