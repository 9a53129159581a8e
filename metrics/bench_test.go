package metrics

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// Benchmarks over a 65536 × 1000 float32 logit matrix (262 MB, far larger
// than the caches), so they measure throughput from memory. ReadOnly is
// the yardstick: one vector max per row, the least any row-wise metric
// must do.
const benchRows, benchCols = 1 << 16, 1000

var benchData = sync.OnceValues(func() ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, benchRows*benchCols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	labels := make([]int32, benchRows)
	for r := range labels {
		labels[r] = int32(rng.IntN(benchCols))
		x[r*benchCols+int(labels[r])] += 4 // about 60% top-1 correct
	}
	return x, labels
})

func BenchmarkReadOnly(b *testing.B) {
	x, _ := benchData()
	b.SetBytes(int64(len(x) * 4))
	out := make([]float32, benchRows)
	for b.Loop() {
		par.For(benchRows, rowGrain(benchCols), par.Threads(0), func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				out[r], _ = vek.MaxNaN32(x[r*benchCols : (r+1)*benchCols])
			}
		})
	}
}

func BenchmarkAccuracyTop5(b *testing.B) {
	x, labels := benchData()
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		if _, err := Accuracy(x, benchCols, labels, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopLabelECE(b *testing.B) {
	x, labels := benchData()
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		c, err := TopLabel(x, benchCols, labels)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ECE(15); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	x, labels := benchData()
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		if _, err := Evaluate(x, benchCols, labels, TopK(1, 5)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateAll(b *testing.B) {
	x, labels := benchData()
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		if _, err := Evaluate(x, benchCols, labels, TopK(1, 5), WithEntropy(), WithMargins()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAUROC(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	pos, neg := make([]float64, 100000), make([]float64, 100000)
	for i := range pos {
		pos[i], neg[i] = rng.NormFloat64()+1, rng.NormFloat64()
	}
	for b.Loop() {
		AUROC(pos, neg)
	}
}

// BenchmarkExpInCache is the compute yardstick: one exp-sum per row on a
// row that is already in the L1 cache, for as many rows as the matrix has.
func BenchmarkExpInCache(b *testing.B) {
	x, _ := benchData()
	row := x[:benchCols]
	b.SetBytes(int64(len(x) * 4))
	sums := make([]float64, benchRows)
	for b.Loop() {
		par.For(benchRows, rowGrain(benchCols), par.Threads(0), func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				sums[r] = vek.ExpSum32(row, 10, 1)
			}
		})
	}
}
