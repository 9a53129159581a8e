package evalacc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

// data is one data set held in memory, with the inputs a configuration
// needs.
type data struct {
	rows, cols int
	x          []float32
	labels     []int64
	targets    []float32 // soft [rows, cols] or scalar [rows]
	teacher    []float32
}

func makeData(rng *rand.Rand, cfg *Config, rows int) *data {
	cols := cfg.Cols
	d := &data{rows: rows, cols: cols, x: make([]float32, rows*cols)}
	for i := range d.x {
		d.x[i] = float32(rng.NormFloat64() * 2)
	}
	switch cfg.Targets {
	case Labels:
		d.labels = make([]int64, rows)
		for i := range d.labels {
			d.labels[i] = int64(rng.IntN(cols))
			if rng.IntN(6) == 0 {
				d.labels[i] = cfg.IgnoreIndex
			}
		}
	case SoftTargets:
		d.targets = make([]float32, rows*cols)
		for r := 0; r < rows; r++ {
			var s float32
			for j := 0; j < cols; j++ {
				d.targets[r*cols+j] = 0.05 + rng.Float32()
				s += d.targets[r*cols+j]
			}
			for j := 0; j < cols; j++ {
				d.targets[r*cols+j] /= s
			}
		}
	case ScalarTargets:
		d.targets = make([]float32, rows)
		for i := range d.targets {
			d.targets[i] = 0.05 + 0.9*rng.Float32()
		}
	}
	if cfg.Teacher {
		d.teacher = make([]float32, rows*cols)
		for i := range d.teacher {
			d.teacher[i] = float32(rng.NormFloat64() * 2)
		}
	}
	return d
}

// binaryTargets turns soft targets into 0/1 for the elementwise losses.
func (d *data) binaryTargets() {
	for i, v := range d.targets {
		d.targets[i] = float32(math.Round(float64(v * float32(d.cols) / 2)))
		d.targets[i] = min(d.targets[i], 1)
	}
}

// writeShards writes d cut at the given row boundaries into files and
// returns the shards (opened) and a function closing them.
func writeShards(t testing.TB, dir string, d *data, cfg *Config, cuts []int) ([]Shard, func()) {
	t.Helper()
	var shards []Shard
	var readers []*npy.RowReader
	open := func(p string) *npy.RowReader {
		r, err := npy.OpenRows(p)
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, r)
		return r
	}
	bounds := append(append([]int{0}, cuts...), d.rows)
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]
		base := filepath.Join(dir, fmt.Sprintf("s%03d", i))
		s := Shard{LogitsName: base + "-logits.npy"}
		if err := npy.WriteFile(s.LogitsName, d.x[lo*d.cols:hi*d.cols], hi-lo, d.cols); err != nil {
			t.Fatal(err)
		}
		s.Logits = open(s.LogitsName)
		s.TargetsName = base + "-targets.npy"
		switch cfg.Targets {
		case Labels:
			npy.WriteFile(s.TargetsName, d.labels[lo:hi], hi-lo)
			s.Targets = open(s.TargetsName)
		case SoftTargets:
			npy.WriteFile(s.TargetsName, d.targets[lo*d.cols:hi*d.cols], hi-lo, d.cols)
			s.Targets = open(s.TargetsName)
		case ScalarTargets:
			npy.WriteFile(s.TargetsName, d.targets[lo:hi], hi-lo)
			s.Targets = open(s.TargetsName)
		}
		if cfg.Teacher {
			s.TeacherName = base + "-teacher.npy"
			npy.WriteFile(s.TeacherName, d.teacher[lo*d.cols:hi*d.cols], hi-lo, d.cols)
			s.Teacher = open(s.TeacherName)
		}
		shards = append(shards, s)
	}
	return shards, func() {
		for _, r := range readers {
			r.Close()
		}
	}
}

func evaluate(t testing.TB, cfg Config, shards []Shard, opts ...Option) *Partial {
	t.Helper()
	e, err := NewEvaluator(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if err := e.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return e.Partial()
}

// inMemory evaluates the loss on the whole data set in one call; false
// if the loss does not take the configuration's options.
func inMemory(t testing.TB, cfg Config, d *data) (float64, bool) {
	t.Helper()
	opts := cfg.options(1)
	opts = append(opts, loss.WithReduction(cfg.Reduction))
	l, _, err := loss.Parse(cfg.Loss, opts...)
	if err != nil {
		return 0, false
	}
	in := loss.Input[float32]{Logits: d.x, Cols: d.cols, Labels64: d.labels, Targets: d.targets, Teacher: d.teacher}
	v, err := l.Eval32(in, loss.Output[float32]{})
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// configFor returns a configuration with the inputs the loss needs, or
// false for a loss that is not evaluated row by row.
func configFor(s loss.Spec, cols int) (Config, bool) {
	cfg := DefaultConfig(s.Name)
	cfg.Cols = cols
	n := s.Needs
	switch {
	case n&loss.NeedsSequences != 0 || notSplittable[s.Name]:
		return cfg, false
	case n&loss.NeedsLabels != 0:
		cfg.Targets = Labels
	case n&loss.NeedsTargets != 0:
		cfg.Targets = SoftTargets
	case n&loss.NeedsScalarTargets != 0:
		cfg.Targets = ScalarTargets
	}
	cfg.Teacher = n&loss.NeedsTeacher != 0
	return cfg, true
}

// TestEveryLossMatchesOneCall evaluates every registered loss that can be
// split, in shards and small blocks, and compares the mean and the sum
// with one call of the loss on the whole data; the others are refused.
func TestEveryLossMatchesOneCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 10))
	compared := map[string]bool{}
	defer func() {
		if len(compared) < 35 {
			t.Errorf("only %d losses compared: %v", len(compared), compared)
		}
	}()
	for _, s := range loss.Specs() {
		cols := 7
		for _, p := range s.Params {
			if p.Name == "bins" {
				cols = int(p.Default)
			}
		}
		cfg, ok := configFor(s, cols)
		if !ok {
			if _, err := NewEvaluator(cfg); !errors.Is(err, ErrNotSplittable) {
				t.Errorf("%s: err = %v, want ErrNotSplittable", s.Name, err)
			}
			continue
		}
		variants := []func(*Config){func(*Config) {}}
		if cfg.Targets == Labels {
			variants = append(variants, func(c *Config) {
				c.ClassWeights = []float64{0.5, 2, 1, 3, 0.25, 1, 1.5}
				for len(c.ClassWeights) < c.Cols {
					c.ClassWeights = append(c.ClassWeights, 1)
				}
				c.ClassWeights = c.ClassWeights[:c.Cols]
			})
		}
		if s.Name == "kl-div" {
			variants = append(variants, func(c *Config) { c.Loss = "kl-div:batchmean=1" })
		}
		for vi, v := range variants {
			for _, red := range []loss.Reduction{loss.Mean, loss.Sum} {
				c := cfg
				v(&c)
				c.Reduction = red
				d := makeData(rng, &c, 150)
				if s.Needs&loss.NeedsTargets != 0 {
					d.binaryTargets()
				}
				want, ok := inMemory(t, c, d)
				if !ok {
					continue
				}
				shards, done := writeShards(t, t.TempDir(), d, &c, []int{0, 1, 60, 60, 149})
				e, err := NewEvaluator(c, Window(3*4*cols))
				if err != nil {
					done()
					t.Errorf("%s (variant %d): %v", s.Name, vi, err)
					continue
				}
				for _, sh := range shards {
					if err := e.Add(sh); err != nil {
						t.Fatalf("%s: %v", s.Name, err)
					}
				}
				done()
				r, err := e.Partial().Report()
				if err != nil {
					t.Fatal(err)
				}
				compared[s.Name] = true
				if math.Abs(r.Loss-want) > 2e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("%s (variant %d, %s): streamed %v, one call %v", s.Name, vi, red, r.Loss, want)
				}
			}
		}
	}
}

// TestShardsSameBits cuts one data set into random shards (empty and
// one-row shards included), evaluates them with random windows and
// thread counts, merges the partials in random orders (some through their
// binary form) and checks the bits against one pass.
func TestShardsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 11))
	for trial := 0; trial < 12; trial++ {
		cols := 2 + rng.IntN(40)
		cfg := DefaultConfig("cross-entropy")
		cfg.Cols, cfg.Targets = cols, Labels
		cfg.Metrics = EvalMetrics(cols)
		if trial%3 == 1 {
			cfg.LabelSmoothing, cfg.ZLoss = 0.1, 1e-3
		}
		if trial%4 == 2 {
			cfg.ClassWeights = make([]float64, cols)
			for i := range cfg.ClassWeights {
				cfg.ClassWeights[i] = 0.25 + rng.Float64()
			}
		}
		rows := rng.IntN(400)
		d := makeData(rng, &cfg, rows)
		dir := t.TempDir()
		one, done := writeShards(t, filepath.Join(mkdir(t, dir, "one")), d, &cfg, nil)
		whole := evaluate(t, cfg, one, Threads(1), Window(1<<20))
		done()
		wb, _ := whole.MarshalBinary()

		var cuts []int
		for c := 0; c < rows; {
			switch rng.IntN(4) {
			case 0: // empty shard
			case 1:
				c++
			default:
				c += rng.IntN(rows/3 + 1)
			}
			c = min(c, rows)
			cuts = append(cuts, c)
		}
		shards, done := writeShards(t, mkdir(t, dir, "cut"), d, &cfg, cuts)
		var parts []*Partial
		for _, s := range shards {
			parts = append(parts, evaluate(t, cfg, []Shard{s}, Threads(1+rng.IntN(3)), Window(4*cols*(1+rng.IntN(20)))))
		}
		done()
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 {
			i, j := rng.IntN(len(parts)), rng.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			o := parts[j]
			if rng.IntN(2) == 0 {
				b, _ := o.MarshalBinary()
				o = new(Partial)
				if err := o.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := parts[i].Merge(o); err != nil {
				t.Fatal(err)
			}
			parts = append(parts[:j], parts[j+1:]...)
		}
		mb, _ := parts[0].MarshalBinary()
		if !bytes.Equal(mb, wb) {
			t.Fatalf("trial %d (%d rows, cuts %v): the partials differ", trial, rows, cuts)
		}
		wr, err1 := whole.Report()
		mr, err2 := parts[0].Report()
		if err1 != nil || err2 != nil || !reflect.DeepEqual(wr, mr) {
			t.Fatalf("trial %d: reports differ: %+v %v\n%+v %v", trial, wr, err1, mr, err2)
		}
	}
}

func mkdir(t testing.TB, parts ...string) string {
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMetricsMatchEvaluate compares the metrics with metrics.Evaluate on
// the counted rows, and the JSON keys with those xent eval prints.
func TestMetricsMatchEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 12))
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = 30, Labels, EvalMetrics(30)
	d := makeData(rng, &cfg, 500)
	shards, done := writeShards(t, t.TempDir(), d, &cfg, []int{100, 333})
	defer done()
	r, err := evaluate(t, cfg, shards, Window(4*30*17)).Report()
	if err != nil {
		t.Fatal(err)
	}
	var kx []float32
	var ky []int32
	for i, y := range d.labels {
		if y != cfg.IgnoreIndex {
			kx = append(kx, d.x[i*30:(i+1)*30]...)
			ky = append(ky, int32(y))
		}
	}
	want, err := metrics.Evaluate(kx, 30, ky, metrics.TopK(1, 5))
	if err != nil {
		t.Fatal(err)
	}
	m := r.Metrics
	if m.Counted != int64(len(ky)) || m.Accuracy != want.Accuracy[0] || m.Top5 != want.Accuracy[1] {
		t.Fatalf("counted %d accuracy %v top5 %v, want %d %v %v", m.Counted, m.Accuracy, m.Top5, len(ky), want.Accuracy[0], want.Accuracy[1])
	}
	ew, _ := want.Calibration.Errors(15, metrics.EqualWidth)
	em, _ := want.Calibration.Errors(15, metrics.EqualMass)
	for _, c := range [][2]float64{{m.NLL, want.NLL}, {m.Brier, want.Brier}, {m.ECE, ew.ECE}, {m.MCE, ew.MCE}, {m.ECEAdaptive, em.ECE}} {
		if math.Abs(c[0]-c[1]) > 1e-12 {
			t.Errorf("%v, metrics.Evaluate %v", c[0], c[1])
		}
	}
	keys := r.JSON()
	for _, k := range []string{"loss", "rows", "cols", "accuracy", "top5", "nll", "brier", "ece", "ece_adaptive", "mce"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "loss ") || !strings.Contains(text.String(), "ece-adaptive") {
		t.Errorf("text report:\n%s", text.String())
	}
}

// TestHalfInputsSameBits evaluates float16 and bfloat16 files holding
// values they represent exactly, and checks the bits against float32
// files of the same values.
func TestHalfInputsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 13))
	const rows, cols = 64, 9
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = cols, Labels, EvalMetrics(cols)
	d := makeData(rng, &cfg, rows)
	for i := range d.x {
		d.x[i] = float32(rng.IntN(129)-64) / 8 // exact in float16 and bfloat16
	}
	dir := t.TempDir()
	shards, done := writeShards(t, dir, d, &cfg, nil)
	want := evaluate(t, cfg, shards)
	done()
	wb, _ := want.MarshalBinary()
	for _, form := range []struct {
		d    npy.DType
		bits func(float32) uint16
		opts []npy.RowOption
	}{
		{npy.DType{Kind: npy.Float, Size: 2}, halfBits, nil},
		{npy.DType{Kind: npy.Uint, Size: 2}, func(v float32) uint16 { return uint16(math.Float32bits(v) >> 16) }, []npy.RowOption{npy.BFloat16()}},
		{npy.DType{Kind: npy.Void, Size: 2}, func(v float32) uint16 { return uint16(math.Float32bits(v) >> 16) }, []npy.RowOption{npy.BFloat16()}},
	} {
		p := filepath.Join(dir, "half.npy")
		raw := make([]byte, 2*len(d.x))
		for i, v := range d.x {
			binary.LittleEndian.PutUint16(raw[2*i:], form.bits(v))
		}
		writeRaw(t, p, form.d, []int{rows, cols}, raw)
		lr, err := npy.OpenRows(p, form.opts...)
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := npy.OpenRows(shards[0].TargetsName)
		got := evaluate(t, cfg, []Shard{{Logits: lr, LogitsName: p, Targets: tr, TargetsName: shards[0].TargetsName}})
		lr.Close()
		tr.Close()
		gb, _ := got.MarshalBinary()
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s: the partial differs from float32's", form.d)
		}
	}
}

// halfBits encodes a float32 that float16 holds exactly (normal or zero).
func halfBits(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	if v == 0 {
		return sign
	}
	exp := int(b>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// writeRaw writes an .npy file of dtype d and the given shape holding the
// raw bytes data.
func writeRaw(t testing.TB, path string, d npy.DType, shape []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := npy.WriteHeader(&b, d, shape...); err != nil {
		t.Fatal(err)
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHooksMatchOneCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	const rows, cols = 90, 11
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets = cols, Labels
	d := makeData(rng, &cfg, rows)
	shards, done := writeShards(t, t.TempDir(), d, &cfg, []int{40})
	defer done()
	l, _, _ := loss.Parse("cross-entropy")
	grad, lse, perRow := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
	l.Eval32(loss.Input[float32]{Logits: d.x, Cols: cols, Labels64: d.labels}, loss.Output[float32]{Grad: grad, LSE: lse, Rows: perRow})
	var gotG []float32
	var gotL, gotR []float64
	e, err := NewEvaluator(cfg, Window(4*cols*7),
		Gradient(1, func(g32 []float32, _ []float64) error { gotG = append(gotG, g32...); return nil }),
		LSE(func(v []float64) error { gotL = append(gotL, v...); return nil }),
		PerRow(func(v []float64) error { gotR = append(gotR, v...); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if err := e.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	// The one call's gradient is of the mean; the hook's of the sum with
	// scale 1, so compare with W times it.
	for _, s := range shards {
		s.Targets.Close()
	}
	var wr []*npy.RowReader
	var names []string
	for _, s := range shards {
		r, _ := npy.OpenRows(s.TargetsName)
		wr = append(wr, r)
		names = append(names, s.TargetsName)
	}
	W, err := e.TotalWeight(rows, wr, names)
	if err != nil {
		t.Fatal(err)
	}
	var counted int
	for _, y := range d.labels {
		if y != cfg.IgnoreIndex {
			counted++
		}
	}
	if W != float64(counted) {
		t.Fatalf("total weight %v, want %d", W, counted)
	}
	for i := range grad {
		if math.Abs(float64(gotG[i])/W-float64(grad[i])) > 1e-7 {
			t.Fatalf("gradient %d: %v/W, one call %v", i, gotG[i], grad[i])
		}
	}
	for i := range lse {
		if float32(gotL[i]) != lse[i] || float32(gotR[i]) != perRow[i] {
			t.Fatalf("row %d: lse %v loss %v, one call %v %v", i, gotL[i], gotR[i], lse[i], perRow[i])
		}
	}
}

func TestErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = 5, Labels, EvalMetrics(5)
	d := makeData(rng, &cfg, 50)
	dir := t.TempDir()

	// A label out of range names the file and the row.
	d.labels[37] = 5
	shards, done := writeShards(t, mkdir(t, dir, "a"), d, &cfg, []int{20})
	e, _ := NewEvaluator(cfg, Window(4*5*4))
	e.Add(shards[0])
	err := e.Add(shards[1])
	done()
	if err == nil || !strings.Contains(err.Error(), "s001-targets.npy") || !strings.Contains(err.Error(), "row 17") {
		t.Errorf("label out of range: %v", err)
	}
	d.labels[37] = 1

	// NaN logits in a counted row: named by file and row (metrics see it
	// first when the loss tolerates it, the loss otherwise).
	d.x[41*5+2] = float32(math.NaN())
	shards, done = writeShards(t, mkdir(t, dir, "b"), d, &cfg, nil)
	e, _ = NewEvaluator(cfg, Window(4*5*8))
	err = e.Add(shards[0])
	done()
	if err == nil || !strings.Contains(err.Error(), "s000-logits.npy") || !strings.Contains(err.Error(), "41") && !strings.Contains(err.Error(), "row 1") {
		t.Errorf("NaN logit: %v", err)
	}
	d.x[41*5+2] = 0

	// Row counts that differ, columns that differ, a truncated file.
	shards, done = writeShards(t, mkdir(t, dir, "c"), d, &cfg, nil)
	done()
	npy.WriteFile(shards[0].TargetsName, d.labels[:49], 49)
	lr, _ := npy.OpenRows(shards[0].LogitsName)
	tr, _ := npy.OpenRows(shards[0].TargetsName)
	e, _ = NewEvaluator(cfg)
	if err := e.Add(Shard{Logits: lr, Targets: tr, LogitsName: "L", TargetsName: "T"}); err == nil || !strings.Contains(err.Error(), "T") || !strings.Contains(err.Error(), "[49]") {
		t.Errorf("49 labels for 50 rows: %v", err)
	}
	lr.Close()
	tr.Close()
	cfg6 := cfg
	cfg6.Cols, cfg6.Metrics = 6, EvalMetrics(6)
	e, _ = NewEvaluator(cfg6)
	lr, _ = npy.OpenRows(shards[0].LogitsName)
	if err := e.Add(Shard{Logits: lr, LogitsName: "L"}); err == nil || !strings.Contains(err.Error(), "5 columns") {
		t.Errorf("5 columns for 6: %v", err)
	}
	lr.Close()
	raw, _ := os.ReadFile(shards[0].LogitsName)
	os.WriteFile(shards[0].LogitsName, raw[:len(raw)-30], 0o644)
	if _, err := npy.OpenRows(shards[0].LogitsName); !errors.Is(err, npy.ErrTruncated) {
		t.Errorf("truncated file: %v", err)
	}
	// A truncated stream (not a file) stops at the row it lacks.
	sr, _ := npy.NewRowReader(bytes.NewReader(raw[:len(raw)-30]))
	npy.WriteFile(filepath.Join(dir, "t50.npy"), d.labels, 50)
	tr, _ = npy.OpenRows(filepath.Join(dir, "t50.npy"))
	e, _ = NewEvaluator(cfg, Window(4*5*8))
	err = e.Add(Shard{Logits: sr, Targets: tr, LogitsName: "stream", TargetsName: "t50"})
	tr.Close()
	if !errors.Is(err, npy.ErrTruncated) || !strings.Contains(err.Error(), "stream") || !strings.Contains(err.Error(), "row 48") {
		t.Errorf("truncated stream: %v", err)
	}

	// Partials of different evaluations do not merge.
	base := evaluate(t, cfg, nil)
	for name, change := range map[string]func(*Config){
		"loss":      func(c *Config) { c.Loss = "focal" },
		"smoothing": func(c *Config) { c.LabelSmoothing = 0.1 },
		"reduction": func(c *Config) { c.Reduction = loss.Sum },
		"ignore":    func(c *Config) { c.IgnoreIndex = 0 },
		"weights":   func(c *Config) { c.ClassWeights = []float64{1, 1, 1, 1, 2} },
		"wide":      func(c *Config) { c.Wide = true },
		"classes":   func(c *Config) { c.Cols, c.Metrics = 6, EvalMetrics(6) },
		"metrics":   func(c *Config) { c.Metrics = nil },
	} {
		c := cfg
		change(&c)
		o := evaluate(t, c, nil)
		if err := base.Merge(o); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), strings.Fields(diff(&base.cfg, &o.cfg))[0]) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A loss over sequences or bags is refused; so is reduction none.
	for _, spec := range []string{"ctc", "bag", "dro"} {
		c := cfg
		c.Loss, c.Metrics = spec, nil
		if _, err := NewEvaluator(c); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
	c := cfg
	c.Reduction = loss.None
	if _, err := NewEvaluator(c); err == nil {
		t.Error("reduction none accepted")
	}
}

func TestCorruptPartial(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 16))
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = 4, Labels, EvalMetrics(4)
	d := makeData(rng, &cfg, 30)
	shards, done := writeShards(t, t.TempDir(), d, &cfg, nil)
	p := evaluate(t, cfg, shards)
	done()
	good, _ := p.MarshalBinary()
	for i := range good {
		b := append([]byte{}, good...)
		b[i] ^= 0x01
		var q Partial
		if err := q.UnmarshalBinary(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := range good {
		var q Partial
		if err := q.UnmarshalBinary(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

// TestBoundedMemory evaluates a 48 MiB logits file through a 256 KiB
// window and checks that the evaluation allocated a small fraction of the
// file (the allocation total bounds the peak heap from above).
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 48 MiB file")
	}
	const rows, cols = 3072, 4096
	dir := t.TempDir()
	lp := filepath.Join(dir, "logits.npy")
	f, err := os.Create(lp)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := npy.NewRowWriter[float32](f, rows, cols)
	rng := rand.New(rand.NewPCG(14, 17))
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		w.Write(row)
	}
	f.Close()
	labels := make([]int64, rows)
	for i := range labels {
		labels[i] = int64(rng.IntN(cols))
	}
	tp := filepath.Join(dir, "labels.npy")
	npy.WriteFile(tp, labels, rows)

	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets = cols, Labels
	cfg.Metrics = &metrics.AccConfig{Cols: cols, TopK: []int{1, 5}, Bins: 15}
	e, err := NewEvaluator(cfg, Window(256<<10), Threads(2))
	if err != nil {
		t.Fatal(err)
	}
	lr, _ := npy.OpenRows(lp)
	tr, _ := npy.OpenRows(tp)
	defer lr.Close()
	defer tr.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := e.Add(Shard{Logits: lr, Targets: tr, LogitsName: lp, TargetsName: tp}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if e.Partial().Rows() != rows {
		t.Fatalf("%d rows", e.Partial().Rows())
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB to evaluate a %d MiB file; heap in use %d KiB", alloc>>10, rows*cols*4>>20, after.HeapInuse>>10)
	if alloc > 8<<20 {
		t.Fatalf("allocated %d bytes to evaluate %d bytes of logits through a 256 KiB window", alloc, rows*cols*4)
	}
}

func FuzzPartialUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(14, 18))
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = 3, Labels, EvalMetrics(3)
	d := makeData(rng, &cfg, 6)
	shards, done := writeShards(f, f.TempDir(), d, &cfg, nil)
	p := evaluate(f, cfg, shards)
	done()
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add(b[5 : len(b)-4])
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, sealPartial(data)} {
			var q Partial
			if err := q.UnmarshalBinary(in); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error not wrapping ErrCorrupt: %v", err)
				}
				continue
			}
			if _, err := q.Report(); err != nil {
				t.Fatalf("a decoded partial does not report: %v", err)
			}
			b, _ := q.MarshalBinary()
			var r Partial
			if err := r.UnmarshalBinary(b); err != nil {
				t.Fatalf("re-encoding rejected: %v", err)
			}
			if err := r.Merge(&q); err != nil {
				t.Fatalf("a partial does not merge with itself: %v", err)
			}
		}
	})
}
