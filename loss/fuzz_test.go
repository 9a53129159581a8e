package loss

import (
	"encoding/binary"
	"math"
	"testing"
)

// floatsFrom decodes little-endian float32s from b.
func floatsFrom(b []byte) []float32 {
	var x []float32
	for len(b) >= 4 {
		x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(b)))
		b = b[4:]
	}
	return x
}

// FuzzCrossEntropy feeds arbitrary logits, labels and options: the result
// is an error or a finite loss with a finite gradient, never a panic.
func FuzzCrossEntropy(f *testing.F) {
	seed := func(cols int, eps, z, capV float64, labels []byte, vals ...float32) {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		f.Add(cols, eps, z, capV, labels, b)
	}
	inf := float32(math.Inf(1))
	seed(3, 0, 0, 0, []byte{0, 2}, 1, 2, 3, 4, 5, 6)
	seed(2, 0.1, 1e-3, 0, []byte{1}, -inf, 0)
	seed(1, 0, 0, 5, []byte{0, 0, 0}, 1e30, -1e30, 7)
	seed(4, 0.5, 0, 30, []byte{200, 3}, float32(math.NaN()), inf, 0, 0, 1, 2, 3, 4)
	seed(0, 0, 0, 0, nil)
	f.Fuzz(func(t *testing.T, cols int, eps, z, capV float64, labels []byte, raw []byte) {
		x := floatsFrom(raw)
		ce, err := NewCrossEntropy(WithLabelSmoothing(eps), WithZLoss(z), WithSoftCap(capV), WithIgnoreIndex(255))
		if err != nil {
			return
		}
		lab := make([]int32, len(labels))
		for i, l := range labels {
			lab[i] = int32(l)
		}
		g := make([]float32, len(x))
		v, err := ce.Eval32(Input[float32]{Logits: x, Cols: cols, Labels: lab}, Output[float32]{Grad: g})
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite loss %v without an error", v)
		}
		for i, e := range g {
			if e != e || math.IsInf(float64(e), 0) {
				t.Fatalf("non-finite gradient %v at %d", e, i)
			}
		}
	})
}

// FuzzBCE: arbitrary logits, targets and pos_weight give an error or a
// finite loss and gradient.
func FuzzBCE(f *testing.F) {
	f.Add(2, []byte{0, 0, 128, 63, 0, 0, 0, 0}, []byte{0, 0, 128, 63, 0, 0, 0, 0}, 1.5)
	f.Add(1, []byte{0, 0, 128, 127}, []byte{0, 0, 0, 0}, 0.0)
	f.Fuzz(func(t *testing.T, cols int, rawX, rawY []byte, pw float64) {
		x, y := floatsFrom(rawX), floatsFrom(rawY)
		var pws []float64
		if cols > 0 && cols < 64 {
			pws = make([]float64, cols)
			for i := range pws {
				pws[i] = pw
			}
		}
		b, err := NewBCEWithLogits(WithPosWeight(pws))
		if err != nil {
			return
		}
		g := make([]float32, len(x))
		v, err := b.Eval32(Input[float32]{Logits: x, Cols: cols, Targets: y}, Output[float32]{Grad: g})
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite loss %v without an error", v)
		}
		for i, e := range g {
			if e != e || math.IsInf(float64(e), 0) {
				t.Fatalf("non-finite gradient %v at %d", e, i)
			}
		}
	})
}

// FuzzKD: arbitrary student and teacher logits and temperature give an
// error or a finite loss and gradient.
func FuzzKD(f *testing.F) {
	f.Add(2, []byte{0, 0, 128, 63, 0, 0, 0, 0}, []byte{0, 0, 0, 64, 0, 0, 128, 191}, 2.0)
	f.Add(1, []byte{0, 0, 128, 255}, []byte{0, 0, 0, 0}, 1e-30)
	f.Fuzz(func(t *testing.T, cols int, rawS, rawT []byte, temp float64) {
		s, te := floatsFrom(rawS), floatsFrom(rawT)
		k, err := NewKD(temp)
		if err != nil {
			return
		}
		g := make([]float32, len(s))
		v, err := k.Eval32(Input[float32]{Logits: s, Cols: cols, Teacher: te}, Output[float32]{Grad: g})
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite loss %v without an error", v)
		}
		for i, e := range g {
			if e != e || math.IsInf(float64(e), 0) {
				t.Fatalf("non-finite gradient %v at %d", e, i)
			}
		}
	})
}
