package loss

import (
	"errors"
	"math"
	"testing"
)

// TestParseWith: cross-entropy's and BCE's own options are applied (the
// loss equals the one built directly), and refused for other losses.
func TestParseWith(t *testing.T) {
	z := []float64{1, 2, 3, 0.5, -1, 2}
	in := Input[float64]{Logits: z, Cols: 3, Labels64: []int64{2, 0}}
	l, _, err := ParseWith("cross-entropy", []Option{WithReduction(Sum)}, []CrossEntropyOption{WithLabelSmoothing(0.1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := NewCrossEntropy(WithReduction(Sum), WithLabelSmoothing(0.1))
	got, _ := l.Eval64(in, Output[float64]{})
	want, _ := direct.Eval64(in, Output[float64]{})
	plain, _ := NewCrossEntropy(WithReduction(Sum))
	p, _ := plain.Eval64(in, Output[float64]{})
	if math.Float64bits(got) != math.Float64bits(want) || got == p {
		t.Fatalf("label smoothing: %v, want %v (without: %v)", got, want, p)
	}
	targets := []float64{1, 0, 1, 0, 0, 1}
	b, _, err := ParseWith("bce", nil, nil, []float64{2, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	bd, _ := NewBCEWithLogits(WithPosWeight([]float64{2, 1, 1}))
	tin := Input[float64]{Logits: z, Cols: 3, Targets: targets}
	g1, _ := b.Eval64(tin, Output[float64]{})
	g2, _ := bd.Eval64(tin, Output[float64]{})
	if math.Float64bits(g1) != math.Float64bits(g2) {
		t.Fatalf("pos-weight: %v, want %v", g1, g2)
	}
	for _, c := range []struct {
		spec string
		ce   []CrossEntropyOption
		pw   []float64
	}{{"focal", []CrossEntropyOption{WithZLoss(1e-4)}, nil}, {"cross-entropy", nil, []float64{1, 1, 1}}} {
		if l, _, err := ParseWith(c.spec, nil, c.ce, c.pw); !errors.Is(err, ErrValue) || l != nil {
			t.Errorf("%s: %v, %v; want a nil loss and ErrValue", c.spec, l, err)
		}
	}
}
