package lab

import (
	"math"
	"slices"
	"testing"
)

func cleanLabels(n, classes int) []int32 {
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % classes)
	}
	return y
}

func TestSymmetricNoise(t *testing.T) {
	const n, classes = 20000, 10
	y := cleanLabels(n, classes)
	for _, rate := range []float64{0, 0.2, 0.4, 1} {
		noisy, k, err := Noise{Type: Symmetric, Rate: rate}.Apply(y, classes, 7)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(math.Round(rate * n)); k != want {
			t.Errorf("rate %g: %d changed, want %d", rate, k, want)
		}
		changed := 0
		// counts[c][d]: label c became d.
		counts := make([][]int, classes)
		for c := range counts {
			counts[c] = make([]int, classes)
		}
		for i := range y {
			if noisy[i] != y[i] {
				changed++
				counts[y[i]][noisy[i]]++
			}
		}
		if changed != k {
			t.Errorf("rate %g: %d labels differ, Apply said %d", rate, changed, k)
		}
		if k == 0 {
			continue
		}
		// Each of the 90 (c, d≠c) cells expects k/90 flips; allow 6σ.
		e := float64(k) / float64(classes*(classes-1))
		for c := range counts {
			for d, v := range counts[c] {
				if c != d && math.Abs(float64(v)-e) > 6*math.Sqrt(e) {
					t.Errorf("rate %g: %d→%d flipped %d times, expected about %.0f", rate, c, d, v, e)
				}
			}
		}
		// The flipped examples are spread over the classes as the data.
		for c := range counts {
			s := 0
			for _, v := range counts[c] {
				s += v
			}
			if ec := float64(k) / classes; math.Abs(float64(s)-ec) > 6*math.Sqrt(ec) {
				t.Errorf("rate %g: class %d lost %d labels, expected about %.0f", rate, c, s, ec)
			}
		}
	}
}

func TestNoiseSeeded(t *testing.T) {
	y := cleanLabels(1000, 10)
	a, _, _ := Noise{Rate: 0.3}.Apply(y, 10, 1)
	b, _, _ := Noise{Rate: 0.3}.Apply(y, 10, 1)
	c, _, _ := Noise{Rate: 0.3}.Apply(y, 10, 2)
	if !slices.Equal(a, b) {
		t.Error("same seed, different labels")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same labels")
	}
	if y[3] != 3 {
		t.Error("Apply modified its input")
	}
}

func TestAsymmetricNoise(t *testing.T) {
	const n, classes = 10000, 10
	y := cleanLabels(n, classes)
	const rate = 0.4
	noisy, k, err := Noise{Type: Asymmetric, Rate: rate}.Apply(y, classes, 3)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int32]int{}
	for i := range y {
		if noisy[i] == y[i] {
			continue
		}
		want, ok := MNISTPairs[y[i]]
		if !ok || noisy[i] != want {
			t.Fatalf("row %d: %d became %d", i, y[i], noisy[i])
		}
		per[y[i]]++
	}
	total := 0
	for s := range MNISTPairs {
		if want := int(math.Round(rate * n / classes)); per[s] != want {
			t.Errorf("class %d: %d flipped, want %d", s, per[s], want)
		}
		total += per[s]
	}
	if total != k {
		t.Errorf("%d flipped, Apply said %d", total, k)
	}
	// A custom table.
	noisy, k, err = Noise{Type: Asymmetric, Rate: 1, Pairs: map[int32]int32{0: 1}}.Apply([]int32{0, 0, 1, 2}, 3, 1)
	if err != nil || k != 2 || !slices.Equal(noisy, []int32{1, 1, 1, 2}) {
		t.Errorf("custom table: %v %d %v", noisy, k, err)
	}
}

func TestNoiseErrors(t *testing.T) {
	y := []int32{0, 1, 2}
	for _, c := range []struct {
		n       Noise
		classes int
		labels  []int32
	}{
		{Noise{Rate: -0.1}, 3, y},
		{Noise{Rate: 1.5}, 3, y},
		{Noise{Rate: math.NaN()}, 3, y},
		{Noise{Rate: 0.1}, 1, []int32{0}},
		{Noise{Rate: 0.1}, 3, []int32{0, 3}},
		{Noise{Type: Asymmetric, Rate: 0.1, Pairs: map[int32]int32{0: 5}}, 3, y},
		{Noise{Type: Asymmetric, Rate: 0.1, Pairs: map[int32]int32{1: 1}}, 3, y},
		{Noise{Type: 7, Rate: 0.1}, 3, y},
	} {
		if _, _, err := c.n.Apply(c.labels, c.classes, 1); err == nil {
			t.Errorf("%+v on %v (%d classes): no error", c.n, c.labels, c.classes)
		}
	}
	for _, s := range []string{"symmetric", "Asym", " sym "} {
		if _, err := ParseNoiseType(s); err != nil {
			t.Errorf("ParseNoiseType(%q): %v", s, err)
		}
	}
	if _, err := ParseNoiseType("pair"); err == nil {
		t.Error("ParseNoiseType(pair): no error")
	}
}
