package xentbeam

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

func TestMain(m *testing.M) {
	code := ptest.MainRetWithDefault(m, "prism")
	if xentBin != "" {
		os.Remove(xentBin)
	}
	os.Exit(code)
}

// xentBin is the xent command of the core module, built once.
var xentBin string

func buildXent(t *testing.T) string {
	t.Helper()
	if xentBin != "" {
		return xentBin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build xent with")
	}
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("xent-beam-test-%d", os.Getpid()))
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/xent")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building xent: %v\n%s", err, out)
	}
	xentBin = bin
	return bin
}

func runXent(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(buildXent(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xent %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// writeShards writes random logits (as float32, or as the raw bfloat16
// bits of values bfloat16 holds exactly) and labels, cut into shards of
// the given sizes, and returns the two patterns.
func writeShards(t *testing.T, dir string, rng *rand.Rand, cols int, sizes []int, bf16 bool) (string, string) {
	t.Helper()
	for i, n := range sizes {
		x := make([]float32, n*cols)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * 3)
			if bf16 {
				x[j] = math.Float32frombits(math.Float32bits(x[j]) &^ 0xffff)
			}
		}
		y := make([]int64, n)
		for j := range y {
			y[j] = int64(rng.IntN(cols))
			if rng.IntN(7) == 0 {
				y[j] = -100
			}
		}
		lp := filepath.Join(dir, fmt.Sprintf("logits-%03d.npy", i))
		if bf16 {
			raw := make([]byte, 2*len(x))
			for j, v := range x {
				binary.LittleEndian.PutUint16(raw[2*j:], uint16(math.Float32bits(v)>>16))
			}
			writeRaw(t, lp, npy.DType{Kind: npy.Uint, Size: 2}, n, cols, raw)
		} else if err := npy.WriteFile(lp, x, n, cols); err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(filepath.Join(dir, fmt.Sprintf("labels-%03d.npy", i)), y, n); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "logits-*.npy"), filepath.Join(dir, "labels-*.npy")
}

// writeRaw writes an .npy file of dtype d and shape [rows, cols] holding
// the raw bytes data.
func writeRaw(t *testing.T, path string, d npy.DType, rows, cols int, data []byte) {
	var b bytes.Buffer
	if err := npy.WriteHeader(&b, d, rows, cols); err != nil {
		t.Fatal(err)
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineMatchesXentEval runs the pipeline on the prism runner and
// compares its report and merged partial, byte for byte, with what xent
// eval writes for the same files.
func TestPipelineMatchesXentEval(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 40))
	for _, c := range []struct {
		name  string
		cols  int
		sizes []int
		bf16  bool
		o     func(*Options)
		flags []string
	}{
		{"float32", 37, []int{50, 0, 1, 213, 7, 0, 120}, false, func(*Options) {}, nil},
		{"bfloat16-smoothing-sum", 11, []int{3, 64, 1, 0, 30}, true,
			func(o *Options) { o.BFloat16, o.LabelSmoothing, o.Reduction = true, 0.1, "sum" },
			[]string{"--dtype", "bf16", "--label-smoothing", "0.1", "--reduction", "sum"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			lp, yp := writeShards(t, dir, rng, c.cols, c.sizes, c.bf16)
			o := DefaultOptions()
			c.o(&o)
			out := Output{Report: filepath.Join(dir, "report.json"), JSON: true, Partial: filepath.Join(dir, "merged.xacc"), Window: 4 * c.cols * 9}
			p, err := Pipeline(context.Background(), lp, yp, o, out)
			if err != nil {
				t.Fatal(err)
			}
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			gotReport, err := os.ReadFile(out.Report)
			if err != nil {
				t.Fatal(err)
			}
			gotPartial, err := os.ReadFile(out.Partial)
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"eval", "--logits", lp, "--targets", yp}, c.flags...)
			want := runXent(t, append(args, "--json")...)
			if !bytes.Equal(gotReport, want) {
				t.Errorf("pipeline report\n%s\nxent eval --json\n%s", gotReport, want)
			}
			wantPartial := filepath.Join(dir, "eval.xacc")
			runXent(t, append(args, "--partial", wantPartial)...)
			if wp, _ := os.ReadFile(wantPartial); !bytes.Equal(gotPartial, wp) {
				t.Errorf("the merged partial (%d bytes) differs from xent eval --partial's (%d bytes)", len(gotPartial), len(wp))
			}
			var rows int
			for _, n := range c.sizes {
				rows += n
			}
			if !strings.Contains(string(gotReport), fmt.Sprintf(`"rows":%d`, rows)) {
				t.Errorf("report %s: want %d rows", gotReport, rows)
			}
		})
	}
}

func TestPipelineErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(14, 41))
	lp, _ := writeShards(t, dir, rng, 5, []int{4, 4}, false)
	os.Remove(filepath.Join(dir, "labels-001.npy"))
	out := Output{Report: filepath.Join(dir, "r.json")}
	if _, err := Pipeline(ctx, lp, filepath.Join(dir, "labels-*.npy"), DefaultOptions(), out); err == nil || !strings.Contains(err.Error(), "2 logits files") {
		t.Errorf("2 logits for 1 labels file: %v", err)
	}
	if _, err := Pipeline(ctx, filepath.Join(dir, "none-*.npy"), "", DefaultOptions(), out); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("no match: %v", err)
	}
	o := DefaultOptions()
	o.Loss = "ctc"
	if _, err := Pipeline(ctx, lp, "", o, out); err == nil {
		t.Error("a sequence loss accepted")
	}
	// A shard whose labels are cut short fails the pipeline, naming it.
	npy.WriteFile(filepath.Join(dir, "labels-001.npy"), []int64{1, 2, 3}, 3)
	p, err := Pipeline(ctx, lp, filepath.Join(dir, "labels-*.npy"), DefaultOptions(), out)
	if err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err == nil || !strings.Contains(err.Error(), "labels-001.npy") {
		t.Errorf("3 labels for 4 rows: %v", err)
	}
}

// TestCombineFns merges the binary forms of random splits in random
// orders and trees, as a runner may, and checks the bits against one
// accumulator fed everything.
func TestCombineFns(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 42))
	const cols = 9
	cfg := metrics.AccConfig{Cols: cols, TopK: []int{1, 3}, Bins: 10, EqualMass: true, Entropy: true, Margins: true}
	whole, _ := metrics.NewAccumulator(cfg)
	var forms [][]byte
	for range 20 {
		n := rng.IntN(6)
		x := make([]float32, n*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]int32, n)
		for i := range y {
			y[i] = int32(rng.IntN(cols))
		}
		a, _ := metrics.NewAccumulator(cfg)
		if err := a.Add32(x, y); err != nil {
			t.Fatal(err)
		}
		whole.Add32(x, y)
		b, _ := a.MarshalBinary()
		forms = append(forms, b)
	}
	want, _ := whole.MarshalBinary()
	fn := &AccumulatorFn{}
	for trial := range 5 {
		rng.Shuffle(len(forms), func(i, j int) { forms[i], forms[j] = forms[j], forms[i] })
		// Two accumulators fed alternately, then merged.
		accs := [2][]byte{fn.CreateAccumulator(), fn.CreateAccumulator()}
		for i, f := range forms {
			var err error
			if accs[i%2], err = fn.AddInput(accs[i%2], f); err != nil {
				t.Fatal(err)
			}
		}
		got, err := fn.MergeAccumulators(accs[trial%2], accs[1-trial%2])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fn.ExtractOutput(got), want) {
			t.Fatalf("trial %d: the merged accumulator differs from the whole", trial)
		}
	}
	// pass@k: counts of problems.
	pk := &PassKFn{}
	all, _ := metrics.NewPassKAccumulator(1, 5)
	acc := pk.CreateAccumulator()
	for range 10 {
		a, _ := metrics.NewPassKAccumulator(1, 5)
		n := 5 + rng.IntN(10)
		c := rng.IntN(n + 1)
		if err := a.Add(n, c); err != nil {
			t.Fatal(err)
		}
		all.Add(n, c)
		b, _ := a.MarshalBinary()
		var err error
		if acc, err = pk.AddInput(acc, b); err != nil {
			t.Fatal(err)
		}
	}
	if wb, _ := all.MarshalBinary(); !bytes.Equal(pk.ExtractOutput(acc), wb) {
		t.Error("pass@k: the merged accumulator differs from the whole")
	}
	// Mismatched and damaged forms are errors.
	other, _ := metrics.NewAccumulator(metrics.AccConfig{Cols: cols + 1, TopK: []int{1}, Bins: 10})
	ob, _ := other.MarshalBinary()
	if _, err := fn.MergeAccumulators(want, ob); err == nil {
		t.Error("accumulators of different configurations merged")
	}
	bad := append([]byte{}, want...)
	bad[len(bad)/2] ^= 4
	if _, err := fn.AddInput(want, bad); !errors.Is(err, metrics.ErrValue) {
		t.Errorf("damaged form: %v", err)
	}
	ev1, _ := evalacc.NewEvaluator(withCols(evalacc.DefaultConfig("cross-entropy"), 3))
	ev2, _ := evalacc.NewEvaluator(withCols(evalacc.DefaultConfig("focal"), 3))
	b1, _ := ev1.Partial().MarshalBinary()
	b2, _ := ev2.Partial().MarshalBinary()
	if _, err := (&PartialFn{}).MergeAccumulators(b1, b2); !errors.Is(err, evalacc.ErrMismatch) {
		t.Errorf("partials of two losses: %v", err)
	}
}

func withCols(c evalacc.Config, cols int) evalacc.Config {
	c.Cols, c.Targets = cols, evalacc.Labels
	return c
}
