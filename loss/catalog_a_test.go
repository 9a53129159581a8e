package loss

import (
	"encoding/binary"
	"math"
	"testing"
)

// The losses of this part of the catalog, by registry name, with the
// inputs they read besides logits and labels.
var catalogAHard = []string{
	"comp-sum", "gce", "mae", "exp-loss", "focal", "poly1", "nce-rce",
	"ldr-kl", "aldr-kl", "spherical-z", "dco", "stablemax-ce", "tempnet",
	"hinge-cs", "hinge-ww", "sparsemax", "ordinal",
}

// TestCatalogARegistry: every loss parses with its defaults, names itself
// as registered, and evaluates a small batch through the Loss interface.
func TestCatalogARegistry(t *testing.T) {
	x := []float32{1, 2, 0.5, -1, 0, 3, 0.25, 0.5}
	for _, name := range append(catalogAHard, "mixture", "hl-gauss", "two-hot") {
		l, s, err := Parse(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Name() != name || s.Summary == "" || s.Needs&(NeedsLabels|NeedsScalarTargets) == 0 {
			t.Errorf("%s: name %q, spec %+v", name, l.Name(), s)
		}
		in := Input[float32]{Logits: x, Cols: 4, Labels: []int32{1, 3}}
		switch name {
		case "mixture":
			in.Teacher = []float32{0, 0, 1, 0, 2, 1, 0, 0}
		case "hl-gauss", "two-hot":
			in = Input[float32]{Logits: make([]float32, 102), Cols: 51, Targets: []float32{0.3, -12}}
		}
		g := make([]float32, len(in.Logits))
		v, err := l.Eval32(in, Output[float32]{Grad: g})
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s: %v, %v", name, v, err)
		}
	}
}

// FuzzCatalogA feeds arbitrary logits and labels to every hard-label loss
// of this part of the catalog: the result is an error or a finite loss
// with a finite gradient, never a panic or a NaN.
func FuzzCatalogA(f *testing.F) {
	seed := func(which uint8, cols int, labels []byte, vals ...float32) {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		f.Add(which, cols, labels, b)
	}
	inf := float32(math.Inf(1))
	for w := range catalogAHard {
		seed(uint8(w), 3, []byte{0, 2}, 1, 2, 3, 4, 5, 6)
		seed(uint8(w), 2, []byte{1}, -inf, 0)
		seed(uint8(w), 1, []byte{0, 0, 0}, 1e30, -1e30, 7)
		seed(uint8(w), 4, []byte{200, 3}, float32(math.NaN()), inf, 0, 0, 1e4, -1e4, 3e38, -3e38)
	}
	seed(0, 0, nil)
	f.Fuzz(func(t *testing.T, which uint8, cols int, labels []byte, raw []byte) {
		name := catalogAHard[int(which)%len(catalogAHard)]
		l, _, err := Parse(name, WithIgnoreIndex(255))
		if err != nil {
			t.Fatal(err)
		}
		x := floatsFrom(raw)
		lab := make([]int32, len(labels))
		for i, v := range labels {
			lab[i] = int32(v)
		}
		g := make([]float32, len(x))
		v, err := l.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: lab}, Output[float32]{Grad: g})
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: non-finite loss %v without an error", name, v)
		}
		for i, e := range g {
			if e != e || math.IsInf(float64(e), 0) {
				t.Fatalf("%s: non-finite gradient %v at %d", name, e, i)
			}
		}
	})
}
