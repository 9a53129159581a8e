package main

import (
	"fmt"
	"io"
	"math"

	"github.com/xentlab/xent/npy"
	"github.com/xentlab/xent/sample"
)

func init() {
	register(&command{
		name:    "sample",
		summary: "draw one token per row of .npy logits through a sampler chain (or write the final distributions)",
		run:     runSample,
	})
}

const sampleUsage = `--logits L.npy [--history H.npy] [--allowed M.npy] [--chain CHAIN] [--seed S]
       [--top-logprobs N] [--threads T] [--json] [--probs P.npy]

Draws one token per row of the logits (float32 or float64, [rows, V] or
[V]) through the chain, row i with random stream i, and prints each row's
token, its log-probability under the final distribution and under the raw
logits, and with --top-logprobs the N most probable raw alternatives.
With --probs it draws nothing and writes each row's final distribution
(float32 [rows, V], 0 for removed tokens) instead, to check the chain
against another engine.

CHAIN is stages separated by ";", each name[=value][,key=value...]:
  logit_bias=TOKEN:BIAS|...  penalties=LAST_N,repeat=R,frequency=F,presence=P
  dry=MULT,base=B,allowed_length=L,last_n=N,breakers=T T|T   top_n_sigma=N
  top_k=K  typical=P  top_p=P  min_p=P  xtc=PROB,threshold=T  temp=T[,range=D,exponent=E]
  greedy  dist  mirostat=TAU,eta=E,m=M  mirostat_v2=TAU,eta=E
Truncating stages take min_keep=N. "default" is llama.cpp's chain.

--history is integer [rows, n] (or [n] for one row), oldest first; -1
pads. --allowed is [rows, V] (bool or integers; nonzero: allowed).`

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", sampleUsage, stdout)
	logits := fs.String("logits", "", "logits .npy, [rows, V] or [V] (required)")
	hist := fs.String("history", "", "previous tokens .npy, integers [rows, n] or [n]; -1 pads")
	allowed := fs.String("allowed", "", "allowed tokens .npy, [rows, V] or [V]; nonzero: allowed")
	chainText := fs.String("chain", "default", "the sampler chain (see above)")
	seed := fs.Uint64("seed", 1, "random seed; row i draws from stream i")
	topN := fs.Int("top-logprobs", 0, "print the N most probable tokens under the raw logits")
	threads := fs.Int("threads", 0, "goroutines (0: all cores); the tokens do not depend on it")
	asJSON := fs.Bool("json", false, "print one JSON object")
	probs := fs.String("probs", "", "write the final distributions here (float32 .npy) instead of drawing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *logits == "" {
		return usagef("--logits is required")
	}
	if *topN < 0 {
		return usagef("--top-logprobs %d: want ≥ 0", *topN)
	}
	chain, err := sample.Parse(*chainText)
	if err != nil {
		return usagef("--chain: %v", err)
	}
	x, rows, V, err := readRows(*logits)
	if err != nil {
		return err
	}
	in := make([]sample.Input, rows)
	for r := range in {
		in[r].Logits = x[r*V : (r+1)*V]
	}
	if *hist != "" {
		if err := readHistory(*hist, in); err != nil {
			return err
		}
	}
	if *allowed != "" {
		if err := readAllowed(*allowed, in, V); err != nil {
			return err
		}
	}
	opts := []sample.Option{sample.Threads(*threads)}
	if *probs == "" {
		opts = append(opts, sample.LogProbs(*topN))
	}
	s, err := sample.New(chain, *seed, opts...)
	if err != nil {
		return usagef("--chain: %v", err)
	}
	if *probs != "" {
		p := make([]float32, rows*V)
		if err := s.ProbsBatch(in, p); err != nil {
			return err
		}
		if err := npy.WriteFile(*probs, p, rows, V); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"rows": rows, "vocab": V, "chain": sample.Format(s.Chain()), "seed": *seed, "probs": *probs})
		}
		fmt.Fprintf(stdout, "%d rows × %d: final distributions of %s written to %s\n", rows, V, sample.Format(s.Chain()), *probs)
		return nil
	}
	out := make([]sample.Result, rows)
	if err := s.SampleBatch(in, out); err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Token      int32                 `json:"token"`
			LogProb    float64               `json:"logprob"`
			RawLogProb float64               `json:"raw_logprob"`
			Top        []sample.TokenLogProb `json:"top_logprobs,omitempty"`
		}
		res := make([]row, rows)
		for i, o := range out {
			res[i] = row{o.Token, finite(o.LogProb), finite(o.RawLogProb), o.Top}
		}
		return writeJSON(stdout, map[string]any{"rows": rows, "vocab": V, "chain": sample.Format(s.Chain()), "seed": *seed,
			"stream_version": sample.StreamVersion, "results": res})
	}
	fmt.Fprintf(stdout, "chain %s, seed %d, %d rows × %d\n", sample.Format(s.Chain()), *seed, rows, V)
	fmt.Fprintf(stdout, "%5s %8s %10s %10s\n", "row", "token", "logprob", "raw")
	for i, o := range out {
		fmt.Fprintf(stdout, "%5d %8d %10.4f %10.4f", i, o.Token, o.LogProb, o.RawLogProb)
		for _, t := range o.Top {
			fmt.Fprintf(stdout, "  %d:%.4f", t.Token, t.LogProb)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// finite maps −Inf (a raw log-probability of a masked token) to the most
// negative float64, as JSON has no infinities.
func finite(x float64) float64 {
	if math.IsInf(x, -1) {
		return -math.MaxFloat64
	}
	return x
}

// readRows reads a [rows, V] or [V] float .npy as float32 rows.
func readRows(path string) ([]float32, int, int, error) {
	h, err := npy.ReadFileHeader(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("logits: %w", err)
	}
	if h.DType.Kind != npy.Float {
		return nil, 0, 0, fmt.Errorf("logits %s: dtype %s, want float32 or float64", path, h.DType)
	}
	var rows, V int
	switch len(h.Shape) {
	case 1:
		rows, V = 1, h.Shape[0]
	case 2:
		rows, V = h.Shape[0], h.Shape[1]
	default:
		return nil, 0, 0, fmt.Errorf("logits %s: shape %v, want [rows, V] or [V]", path, h.Shape)
	}
	if rows == 0 || V == 0 {
		return nil, 0, 0, fmt.Errorf("logits %s: shape %v has no logits", path, h.Shape)
	}
	if V > math.MaxInt32 {
		return nil, 0, 0, fmt.Errorf("logits %s: vocabulary of %d, more than 2³¹−1", path, V)
	}
	x, _, err := npy.ReadFile[float32](path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("logits: %w", err)
	}
	return x, rows, V, nil
}

// readHistory sets each row's history from an integer [rows, n] (or [n]
// for one row) .npy; -1 entries are padding and are skipped.
func readHistory(path string, in []sample.Input) error {
	h, err := npy.ReadFileHeader(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if h.DType.Kind == npy.Float {
		return fmt.Errorf("history %s: dtype %s, want integers", path, h.DType)
	}
	rows, n := 1, 0
	switch len(h.Shape) {
	case 1:
		n = h.Shape[0]
	case 2:
		rows, n = h.Shape[0], h.Shape[1]
	default:
		return fmt.Errorf("history %s: shape %v, want [rows, n] or [n]", path, h.Shape)
	}
	if rows != len(in) {
		return fmt.Errorf("history %s: %d rows, the logits have %d", path, rows, len(in))
	}
	t, _, err := npy.ReadFile[int64](path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	all := make([]int32, 0, len(t))
	for r := range in {
		start := len(all)
		for j, v := range t[r*n : (r+1)*n] {
			if v == -1 {
				continue
			}
			if v < 0 || v > math.MaxInt32 {
				return fmt.Errorf("history %s: row %d, position %d: token %d", path, r, j, v)
			}
			all = append(all, int32(v))
		}
		in[r].History = all[start:len(all):len(all)]
	}
	return nil
}

// readAllowed sets each row's mask from a [rows, V] (or [V]) .npy.
func readAllowed(path string, in []sample.Input, V int) error {
	h, err := npy.ReadFileHeader(path)
	if err != nil {
		return fmt.Errorf("allowed: %w", err)
	}
	want := []int{len(in), V}
	if len(h.Shape) == 1 && len(in) == 1 {
		want = []int{V}
	}
	if fmt.Sprint(h.Shape) != fmt.Sprint(want) {
		return fmt.Errorf("allowed %s: shape %v, want %v", path, h.Shape, want)
	}
	m, _, err := npy.ReadFile[float64](path)
	if err != nil {
		return fmt.Errorf("allowed: %w", err)
	}
	words := (V + 63) / 64
	bits := make([]uint64, len(in)*words)
	for r := range in {
		b := bits[r*words : (r+1)*words]
		for i, v := range m[r*V : (r+1)*V] {
			if v != 0 {
				b[i/64] |= 1 << (i % 64)
			}
		}
		in[r].Allowed = b
	}
	return nil
}
