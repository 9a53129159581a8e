package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xentlab/xent/npy"
)

type sampleOut struct {
	Rows    int    `json:"rows"`
	Vocab   int    `json:"vocab"`
	Chain   string `json:"chain"`
	Results []struct {
		Token      int32   `json:"token"`
		LogProb    float64 `json:"logprob"`
		RawLogProb float64 `json:"raw_logprob"`
		Top        []struct {
			Token   int32   `json:"token"`
			LogProb float64 `json:"logprob"`
		} `json:"top_logprobs"`
	} `json:"results"`
}

func TestSampleCommand(t *testing.T) {
	dir := t.TempDir()
	// Row 0: token 2 is the largest; row 1: four equal logits.
	logits := writeNPY(t, dir, "l.npy", []float32{0, 1, 3, 2, 0, 0, 0, 0}, 2, 4)
	code, out, errs := runCLI(t, "sample", "--logits", logits, "--chain", "greedy", "--json", "--top-logprobs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res sampleOut
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if res.Rows != 2 || res.Vocab != 4 || res.Results[0].Token != 2 || res.Results[1].Token != 0 {
		t.Fatalf("greedy: %+v", res)
	}
	// Raw log-probability of token 2 in row 0: 3 − log(1 + e + e³ + e²).
	want := 3 - math.Log(1+math.E+math.Exp(3)+math.Exp(2))
	if r := res.Results[0]; math.Abs(r.RawLogProb-want) > 1e-5 || r.LogProb != 0 || len(r.Top) != 2 || r.Top[1].Token != 3 {
		t.Errorf("row 0: %+v, raw log-probability want %v", r, want)
	}
	// --probs: top_p 0.5 on four equal logits keeps two tokens.
	probs := filepath.Join(dir, "p.npy")
	if code, _, errs := runCLI(t, "sample", "--logits", logits, "--chain", "top_p=0.5", "--probs", probs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p, h, err := npy.ReadFile[float32](probs)
	if err != nil || len(h.Shape) != 2 || h.Shape[0] != 2 || h.Shape[1] != 4 {
		t.Fatalf("probs file: %v %v", h, err)
	}
	if p[4] != 0.5 || p[5] != 0.5 || p[6] != 0 || p[7] != 0 {
		t.Errorf("row 1 of the probabilities: %v, want [0.5 0.5 0 0]", p[4:])
	}
	// A history (padded with −1) and a penalty: token 2 of row 0 seen
	// twice with repeat 4: 3/4 < 1, so greedy takes token 3 (logit 2).
	hist := writeNPY(t, dir, "h.npy", []int64{-1, 2, 2, -1, -1, -1}, 2, 3)
	code, out, errs = runCLI(t, "sample", "--logits", logits, "--history", hist, "--chain", "penalties=-1,repeat=4;greedy", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Results[0].Token != 3 {
		t.Fatalf("penalty: exit %d, %s %s", code, out, errs)
	}
	// The mask: only tokens 0 and 1 of row 0 allowed.
	mask := writeNPY(t, dir, "m.npy", []int32{1, 1, 0, 0, 1, 1, 1, 1}, 2, 4)
	code, out, _ = runCLI(t, "sample", "--logits", logits, "--allowed", mask, "--chain", "greedy", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Results[0].Token != 1 {
		t.Fatalf("mask: exit %d, %s", code, out)
	}
	// Same seed, same tokens; the text output has one line per row.
	_, a, _ := runCLI(t, "sample", "--logits", logits, "--seed", "5", "--chain", "temp=2")
	_, b, _ := runCLI(t, "sample", "--logits", logits, "--seed", "5", "--chain", "temp=2", "--threads", "1")
	if a != b || len(strings.Split(strings.TrimSpace(a), "\n")) != 4 {
		t.Errorf("seed 5 twice:\n%s\n%s", a, b)
	}
}

func TestSampleCommandErrors(t *testing.T) {
	dir := t.TempDir()
	logits := writeNPY(t, dir, "l.npy", []float32{0, 1, 3, 2}, 1, 4)
	nan := writeNPY(t, dir, "n.npy", []float32{0, float32(math.NaN()), 3, 2}, 1, 4)
	ints := writeNPY(t, dir, "i.npy", []int64{0, 1}, 2)
	badHist := writeNPY(t, dir, "h.npy", []int64{7}, 1, 1)
	twoRows := writeNPY(t, dir, "h2.npy", []int64{0, 1}, 2, 1)
	probs := filepath.Join(dir, "p.npy")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sample"}, 2, "--logits is required"},
		{[]string{"sample", "--logits", logits, "--chain", "top_k=x"}, 2, "not an integer"},
		{[]string{"sample", "--logits", logits, "--chain", "dist;top_k=3"}, 2, "must be the last"},
		{[]string{"sample", "--logits", nan}, 1, "logit 1 is NaN"},
		{[]string{"sample", "--logits", ints}, 1, "want float32 or float64"},
		{[]string{"sample", "--logits", filepath.Join(dir, "missing.npy")}, 1, "logits"},
		{[]string{"sample", "--logits", logits, "--history", badHist}, 1, "history token 0 is 7"},
		{[]string{"sample", "--logits", logits, "--history", twoRows}, 1, "2 rows"},
		{[]string{"sample", "--logits", nan, "--probs", probs}, 1, "NaN"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want exit %d with %q on one line", c.args, code, errs, c.code, c.msg)
		}
	}
	if _, err := os.Stat(probs); !os.IsNotExist(err) {
		t.Errorf("a failed --probs run left %s", probs)
	}
}

func TestBenchSample(t *testing.T) {
	code, out, errs := runCLI(t, "bench", "sample", "--vocab", "5000", "--rows", "2", "--reps", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	for _, k := range []string{"chain_ms", "chain_fullsort_ms", "top_p_ms", "top_p_fullsort_ms", "softmax_ms"} {
		if v, ok := res[k].(float64); !ok || !(v > 0) {
			t.Errorf("%s = %v", k, res[k])
		}
	}
}

// FuzzSampleCommand runs "xent sample" on arbitrary chains and .npy
// contents: the exit status is 0, 1 or 2 with one line on stderr, and a
// success prints tokens inside the vocabulary.
func FuzzSampleCommand(f *testing.F) {
	f.Add("top_k=2;top_p=0.9", []byte{0, 0, 128, 63, 0, 0, 0, 64}, uint8(1))
	f.Add("default", []byte{0, 0, 128, 127, 0, 0, 0, 0}, uint8(2))
	f.Add("mirostat_v2=3", make([]byte, 64), uint8(4))
	f.Add("", []byte{1, 2, 3}, uint8(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, chain string, data []byte, rows uint8) {
		if strings.ContainsRune(chain, 0) {
			return
		}
		n := len(data) / 4
		r := int(rows%4) + 1
		if n == 0 || n%r != 0 {
			return
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		path := filepath.Join(dir, "l.npy")
		if err := npy.WriteFile(path, x, r, n/r); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "sample", "--logits", path, "--chain", chain, "--json")
		switch code {
		case 0:
			var res sampleOut
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Results) != r {
				t.Fatalf("chain %q: output %q: %v", chain, out, err)
			}
			for _, x := range res.Results {
				if x.Token < 0 || int(x.Token) >= n/r {
					t.Fatalf("chain %q: token %d outside [0, %d)", chain, x.Token, n/r)
				}
			}
		case 1, 2:
			if strings.Count(errs, "\n") != 1 {
				t.Fatalf("chain %q: stderr %q is not one line", chain, errs)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
