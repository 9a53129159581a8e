package evalacc

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

// benchData writes [rows, cols] float32 logits and labels and returns the
// paths and the data.
func benchData(b *testing.B, rows, cols int) (string, string, []float32, []int32) {
	rng := rand.New(rand.NewPCG(14, 99))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	y := make([]int64, rows)
	y32 := make([]int32, rows)
	for i := range y {
		y[i] = int64(rng.IntN(cols))
		y32[i] = int32(y[i])
	}
	dir := b.TempDir()
	lp, yp := filepath.Join(dir, "l.npy"), filepath.Join(dir, "y.npy")
	if err := npy.WriteFile(lp, x, rows, cols); err != nil {
		b.Fatal(err)
	}
	npy.WriteFile(yp, y, rows)
	recache(lp)
	return lp, yp, x, y32
}

// BenchmarkEvalStream streams a 128 MiB logits file from the page cache
// through the evaluation of xent eval; BenchmarkEvalInMemory evaluates the
// same logits already in memory with one call of the loss and one of
// metrics.Evaluate. Compare their MB/s.
func BenchmarkEvalStream(b *testing.B) {
	const rows, cols = 4096, 32768
	lp, yp, _, _ := benchData(b, rows, cols)
	cfg := DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = cols, Labels, EvalMetrics(cols)
	b.SetBytes(rows * cols * 4)
	for b.Loop() {
		e, err := NewEvaluator(cfg, Threads(1))
		if err != nil {
			b.Fatal(err)
		}
		lr, _ := npy.OpenRows(lp)
		tr, _ := npy.OpenRows(yp)
		if err := e.Add(Shard{Logits: lr, Targets: tr}); err != nil {
			b.Fatal(err)
		}
		lr.Close()
		tr.Close()
		if _, err := e.Partial().Report(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalInMemory(b *testing.B) {
	const rows, cols = 4096, 32768
	_, _, x, y := benchData(b, rows, cols)
	l, _, _ := loss.Parse("cross-entropy", loss.WithThreads(1))
	b.SetBytes(rows * cols * 4)
	for b.Loop() {
		if _, err := l.Eval32(loss.Input[float32]{Logits: x, Cols: cols, Labels: y}, loss.Output[float32]{}); err != nil {
			b.Fatal(err)
		}
		r, err := metrics.Evaluate(x, cols, y, metrics.TopK(1, 5), metrics.Threads(1))
		if err != nil {
			b.Fatal(err)
		}
		r.Calibration.Errors(15, metrics.EqualWidth)
		r.Calibration.Errors(15, metrics.EqualMass)
	}
}

func BenchmarkReadRows(b *testing.B) {
	const rows, cols = 1024, 32768
	lp, _, _, _ := benchData(b, rows, cols)
	b.SetBytes(rows * cols * 4)
	buf := make([]float32, 8*cols)
	for b.Loop() {
		lr, _ := npy.OpenRows(lp)
		for {
			if _, err := npy.ReadRows(lr, buf); err != nil {
				break
			}
		}
		lr.Close()
	}
}
