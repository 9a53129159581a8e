package metrics

import (
	"math"
	"testing"

	"github.com/xentlab/xent/internal/bigmem"
)

// TestTopKCapBeyondInt32: a cut-off above 2³¹ must not wrap the rank cap
// (2³²+1 once became a cap of 1, and every row counted as a top-3 hit).
func TestTopKCapBeyondInt32(t *testing.T) {
	// Two rows of 5 classes: the label is the top logit in row 0 and the
	// lowest in row 1 (rank 4).
	x := []float64{5, 1, 2, 3, 4, 0, 1, 2, 3, 4}
	y := []int32{0, 0}
	for _, big := range []int{1 << 31, 1<<32 + 1, math.MaxInt} {
		r, err := Evaluate(x, 5, y, TopK(1, 3, 5, big))
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{0.5, 0.5, 1, 1}
		for i, a := range r.Accuracy {
			if a != want[i] {
				t.Errorf("TopK(1, 3, 5, %d): accuracy@%d = %v, want %v", big, r.TopK[i], a, want[i])
			}
		}
		if a, err := Accuracy(x, 5, y, big); err != nil || a != 1 {
			t.Errorf("Accuracy(k = %d) = %v, %v; want 1", big, a, err)
		}
	}
}

// bigZeros returns n zeros without their memory, or skips the test.
func bigZeros(t *testing.T, n int) *bigmem.Slice {
	t.Helper()
	if testing.Short() {
		t.Skip("reads more than 8 GiB of mapped zeros (seconds)")
	}
	s, err := bigmem.Float32(n)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(s.Free)
	return s
}

// TestCountEqualBeyondInt32: the tie count of a row longer than 2³¹ does
// not wrap.
func TestCountEqualBeyondInt32(t *testing.T) {
	const n = 1<<31 + 3
	x := bigZeros(t, n).X
	if got := countEqual(x, 0); got != n {
		t.Errorf("countEqual = %d, want %d", got, n)
	}
}

// TestMultiLabelBeyondInt32: class 2³² is not label 0 (its index once
// wrapped to 0 when compared with the int32 labels).
func TestMultiLabelBeyondInt32(t *testing.T) {
	const n = 1<<32 + 1
	s := bigZeros(t, n)
	if err := s.Set(1<<32, 1); err != nil { // the top class
		t.Fatal(err)
	}
	r, err := EvaluateMultiLabel(s.X, n, [][]int32{{0}}, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Precision[0] != 0 || r.Recall[0] != 0 {
		t.Errorf("precision@1 %v, recall@1 %v; want 0 (class 2³² is not label 0)", r.Precision[0], r.Recall[0])
	}
}
