package mnist

import (
	"fmt"
	"testing"
	"time"

	"github.com/xentlab/xent/data"
)

func TestLoad(t *testing.T) {
	start := time.Now()
	train, test, err := Load()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST decoded in %v", elapsed)
	for _, s := range []struct {
		name   string
		set    data.Set
		rows   int
		first  int32
		counts [10]int
	}{
		// The class counts published with MNIST.
		{"train", train, 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{"test", test, 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	} {
		if err := s.set.Validate(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.set.Rows != s.rows || s.set.Cols != 784 || s.set.Classes != 10 || s.set.ClassNames != nil {
			t.Fatalf("%s: %d×%d, %d classes", s.name, s.set.Rows, s.set.Cols, s.set.Classes)
		}
		if s.set.Y[0] != s.first {
			t.Errorf("%s: first label %d, want %d", s.name, s.set.Y[0], s.first)
		}
		var counts [10]int
		for _, y := range s.set.Y {
			counts[y]++
		}
		if counts != s.counts {
			t.Errorf("%s: class counts %v, want %v", s.name, counts, s.counts)
		}
		lo, hi, sum := float32(1), float32(0), 0.0
		for _, v := range s.set.X {
			lo, hi = min(lo, v), max(hi, v)
			sum += float64(v)
		}
		// MNIST's mean pixel intensity is about 0.13.
		if mean := sum / float64(len(s.set.X)); lo != 0 || hi != 1 || mean < 0.12 || mean > 0.14 {
			t.Errorf("%s: pixels in [%v, %v], mean %v", s.name, lo, hi, mean)
		}
		// Images are 28×28 with an empty border: the corners are 0.
		for i := range 100 {
			r := s.set.Row(i)
			if r[0] != 0 || r[27] != 0 || r[783] != 0 || r[756] != 0 {
				t.Fatalf("%s: image %d has ink in a corner", s.name, i)
			}
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// The embedded digits decode in about a third of a second. This example
// is compiled but not run by go test, which checks the data in TestLoad.
// It prints 60000 10000 784 10 [5 0 4 1 9].
func ExampleLoad() {
	train, test, err := Load()
	if err != nil {
		panic(err)
	}
	fmt.Println(train.Rows, test.Rows, train.Cols, train.Classes, train.Y[:5])
}
