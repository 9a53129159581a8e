package loss

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// The losses ported from PyTorch and Optax that read logits and labels
// or targets of the logits' shape, by registry name (with parameters).
var portedLabelLosses = []string{"nll", "multi-margin", "multi-margin:p=2,margin=0.5", "poly1:epsilon=2"}
var portedTargetLosses = []string{"sigmoid-focal", "sigmoid-focal:alpha=-1,gamma=0.5", "kl-div", "kl-div:log_target=1,batchmean=1",
	"kl-div:generalized=1", "binary-hinge", "binary-perceptron", "binary-sparsemax", "poly1"}

// TestPortedRegistry: every ported loss parses, names itself, reads what
// its spec says and evaluates a small batch.
func TestPortedRegistry(t *testing.T) {
	x := []float32{-1.5, -0.2, -2, -0.7, -0.1, -3}
	for _, name := range append(append([]string{}, portedLabelLosses...), portedTargetLosses...) {
		l, s, err := Parse(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		base, _, _ := strings.Cut(name, ":")
		if l.Name() != base || s.Summary == "" {
			t.Errorf("%s: name %q, spec %+v", name, l.Name(), s)
		}
		in := Input[float32]{Logits: x, Cols: 3}
		if s.Needs&NeedsLabels != 0 && (s.Needs&AcceptsSoftTargets == 0 || strings.Contains(name, ":")) {
			in.Labels = []int32{1, 0}
		} else {
			in.Targets = []float32{1, 0, 0, 0, 1, 0}
		}
		g := make([]float32, len(x))
		v, err := l.Eval32(in, Output[float32]{Grad: g})
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s: %v, %v", name, v, err)
		}
	}
}

// FuzzPortedLosses feeds arbitrary logits, labels and targets to every
// ported loss: an error or a finite loss with a finite gradient, never a
// panic or a NaN.
func FuzzPortedLosses(f *testing.F) {
	seed := func(which uint8, cols int, labels []byte, targets []byte, vals ...float32) {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		f.Add(which, cols, labels, targets, b)
	}
	inf := float32(math.Inf(1))
	n := len(portedLabelLosses) + len(portedTargetLosses)
	for w := 0; w < n; w++ {
		seed(uint8(w), 3, []byte{0, 2}, []byte{2, 0, 0, 0, 1, 2}, -1, -2, -3, -4, -5, -6)
		seed(uint8(w), 2, []byte{1}, []byte{1, 0}, -inf, 0)
		seed(uint8(w), 1, []byte{0, 0, 0}, []byte{2, 1, 0}, 1e30, -1e30, 7)
		seed(uint8(w), 4, []byte{200, 3}, []byte{9, 1, 2, 0, 1, 1, 1, 1}, float32(math.NaN()), inf, 0, 0, 1e4, -1e4, 3e38, -3e38)
	}
	seed(0, 0, nil, nil)
	f.Fuzz(func(t *testing.T, which uint8, cols int, labels, targets []byte, raw []byte) {
		var name string
		var in Input[float32]
		x := floatsFrom(raw)
		in.Logits, in.Cols = x, cols
		if k := int(which) % n; k < len(portedLabelLosses) {
			name = portedLabelLosses[k]
			in.Labels = make([]int32, len(labels))
			for i, v := range labels {
				in.Labels[i] = int32(v)
			}
		} else {
			name = portedTargetLosses[k-len(portedLabelLosses)]
			in.Targets = make([]float32, len(targets))
			for i, v := range targets {
				in.Targets[i] = float32(v)/2 - 0.5 // −0.5 … 127
			}
		}
		l, _, err := Parse(name, WithIgnoreIndex(255))
		if err != nil {
			l, _, err = Parse(name)
			if err != nil {
				t.Fatal(err)
			}
		}
		g := make([]float32, len(x))
		v, err := l.Eval32(in, Output[float32]{Grad: g})
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
