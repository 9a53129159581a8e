package calibrate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/metrics"
)

// cut gives x and labels to a fit in blocks ending at the given rows
// (empty blocks included), and counts the passes.
func cut[T Float](x []T, cols int, labels []int32, ends []int, passes *int) Blocks[T] {
	return func(fn func([]T, []int32) error) error {
		*passes++
		lo := 0
		for _, hi := range append(ends, len(labels)) {
			if err := fn(x[lo*cols:hi*cols], labels[lo:hi]); err != nil {
				return err
			}
			lo = hi
		}
		return nil
	}
}

func TestFitTemperatureBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const cols = 10
	for _, scale := range []float64{0.5, 2.5} {
		x, labels := synth(rng, 5000, cols, scale)
		whole, err := FitTemperature(x, cols, labels)
		if err != nil {
			t.Fatal(err)
		}
		var passes int
		var first float64
		for trial := 0; trial < 4; trial++ {
			var ends []int
			for e := 0; e < len(labels); e += rng.IntN(1500) {
				ends = append(ends, e)
			}
			passes = 0
			got, err := FitTemperatureBlocks(cols, cut(x, cols, labels, ends, &passes), Threads(1+trial%2))
			if err != nil {
				t.Fatal(err)
			}
			if trial == 0 {
				first = got
			} else if math.Float64bits(got) != math.Float64bits(first) {
				t.Fatalf("scale %v: blocks %v give T = %v, other blocks %v", scale, ends, got, first)
			}
			// The same solver on sums added in another order: the same
			// optimum up to rounding.
			if math.Abs(got/whole-1) > 1e-9 {
				t.Errorf("scale %v: T = %v in blocks, %v whole", scale, got, whole)
			}
		}
		t.Logf("scale %v: %d passes", scale, passes)
		if passes < 3 || passes > 104 {
			t.Errorf("scale %v: %d passes over the data", scale, passes)
		}
		nll, err := NLLBlocks(cols, cut(to32(x), cols, labels, []int{7, 7, 4000}, &passes), 1.7)
		if want := refNLL(to32(x), cols, labels, 1.7); err != nil || math.Abs(nll-want) > 1e-6*want {
			t.Errorf("NLLBlocks = %v, %v; reference %v", nll, err, want)
		}
	}
}

func TestBlocksErrors(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	labels := []int32{0, 1, 0, 1}
	var passes int
	x[5] = math.NaN()
	_, err := FitTemperatureBlocks(2, cut(x, 2, labels, []int{2}, &passes))
	if !errors.Is(err, metrics.ErrValue) || !strings.Contains(err.Error(), "rows from 2") || passes != 1 {
		t.Errorf("NaN in the second block: %v (%d passes)", err, passes)
	}
	x[5] = 6
	labels[3] = 2
	if _, err := NLLBlocks(2, cut(x, 2, labels, nil, &passes), 1); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
	labels[3] = 1
	if _, err := FitTemperatureBlocks(2, cut(x[:0], 2, labels[:0], []int{0}, &passes)); !errors.Is(err, metrics.ErrEmpty) {
		t.Errorf("no rows: %v", err)
	}
	boom := errors.New("read failed")
	failing := func(fn func([]float64, []int32) error) error { return fmt.Errorf("file: %w", boom) }
	if _, err := FitTemperatureBlocks(2, failing); !errors.Is(err, boom) {
		t.Errorf("a failing source: %v", err)
	}
	if _, err := NLLBlocks(2, cut(x, 2, labels, nil, &passes), 0); !errors.Is(err, ErrValue) {
		t.Errorf("t = 0: %v", err)
	}
}

// FuzzFitTemperatureBlocks: any logits and labels in any blocks give a
// temperature within the bounds or an error, never a panic, and the same
// bits however the rows are cut.
func FuzzFitTemperatureBlocks(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 0, 1, 0}, uint8(2), uint8(1))
	f.Add([]byte{200, 0, 0, 255, 7, 7, 1, 0, 1}, uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, c, step uint8) {
		cols := 1 + int(c%6)
		rows := len(raw) / (cols + 1)
		if rows == 0 {
			return
		}
		x := make([]float64, rows*cols)
		labels := make([]int32, rows)
		for r := 0; r < rows; r++ {
			for j := 0; j < cols; j++ {
				x[r*cols+j] = (float64(raw[r*(cols+1)+j]) - 128) / 16
			}
			labels[r] = int32(raw[r*(cols+1)+cols]) % int32(cols+1) // cols: out of range
		}
		var ends []int
		for e := 0; e < rows; e += 1 + int(step%5) {
			ends = append(ends, e)
		}
		var passes int
		got, err := FitTemperatureBlocks(cols, cut(x, cols, labels, ends, &passes))
		one, err1 := FitTemperatureBlocks(cols, cut(x, cols, labels, nil, &passes))
		if (err == nil) != (err1 == nil) {
			t.Fatalf("errors differ with the blocks: %v, %v", err, err1)
		}
		if err != nil {
			return
		}
		if !(got >= 0.01 && got <= 100) || math.Float64bits(got) != math.Float64bits(one) {
			t.Fatalf("T = %v in blocks, %v whole", got, one)
		}
	})
}
