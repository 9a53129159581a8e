package linear

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// streamOf returns a HiddenStream over the rows of h (d columns) that
// checks the calls come in order and whole rows, and collects the ∂H it
// is handed into dh (nil: no Grad).
func streamOf(t *testing.T, h []float32, d int, dh []float32) HiddenStream {
	next, nextG := 0, 0
	s := HiddenStream{Read: func(dst []float32, row int) error {
		if row != next || len(dst)%d != 0 || len(dst) == 0 {
			t.Errorf("Read(len %d, row %d), want whole rows from row %d", len(dst), row, next)
			return errors.New("out of order")
		}
		copy(dst, h[row*d:])
		next += len(dst) / d
		return nil
	}}
	if dh != nil {
		s.Grad = func(g []float32, row int) error {
			if row != nextG || len(g)%d != 0 {
				t.Errorf("Grad(len %d, row %d), want whole rows from row %d", len(g), row, nextG)
			}
			copy(dh[row*d:], g)
			nextG += len(g) / d
			return nil
		}
	}
	return s
}

// evalBoth runs Eval on in and EvalStream on the same values (the hidden
// states through streamOf), each into a fresh Output from mk; got's
// GradHidden holds what EvalStream handed to Grad.
func evalBoth(t *testing.T, h Head, in Input, mk func() Output) (want, got Output, wst, gst Stats, werr, gerr error) {
	want = mk()
	wst, werr = h.Eval(in, want)
	got = mk()
	dh := got.GradHidden
	got.GradHidden = nil
	sin := in
	sin.Hidden = nil
	gst, gerr = h.EvalStream(sin, streamOf(t, in.Hidden, in.D, dh), got)
	got.GradHidden = dh
	return
}

// TestStreamSameBits: EvalStream gives the bits of Eval for every option
// of the head, with and without each gradient, on several thread counts.
func TestStreamSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, hc := range headCases() {
		for _, th := range []int{1, 3} {
			for _, grads := range []bool{false, true} {
				n, d, v := 1+rng.IntN(60), 1+rng.IntN(20), 1+rng.IntN(300)
				in := newProblem(rng, n, d, v, hc.bias, 1).in
				if hc.rowW {
					in.RowWeights = make([]float32, n)
					for i := range in.RowWeights {
						in.RowWeights[i] = rng.Float32() * 2
					}
					in.Targets[0] = -1
				}
				h := hc.head
				h.Threads = th
				if h.BlockRows == 0 {
					h.BlockRows = 1 + rng.IntN(n+3)
				}
				mk := func() Output {
					o := Output{Rows: make([]float32, n), LSE: make([]float32, n), TargetRank: make([]int32, n)}
					if grads {
						o.GradHidden, o.GradWeight = make([]float32, n*d), make([]float32, v*d)
						if in.Bias != nil {
							o.GradBias = make([]float32, v)
						}
					}
					return o
				}
				want, got, wst, gst, werr, gerr := evalBoth(t, h, in, mk)
				ctx := fmt.Sprintf("%s threads %d grads %v [%d, %d]·[%d, %d]ᵀ", hc.name, th, grads, n, d, v, d)
				if werr != nil || gerr != nil {
					t.Fatalf("%s: Eval err %v, EvalStream err %v", ctx, werr, gerr)
				}
				if math.Float64bits(wst.Loss) != math.Float64bits(gst.Loss) || wst.SkippedTiles != gst.SkippedTiles || wst.Tiles != gst.Tiles {
					t.Errorf("%s: stats %+v, Eval %+v", ctx, gst, wst)
				}
				for _, pair := range []struct {
					what      string
					got, want []float32
				}{{"Rows", got.Rows, want.Rows}, {"LSE", got.LSE, want.LSE}, {"GradHidden", got.GradHidden, want.GradHidden},
					{"GradWeight", got.GradWeight, want.GradWeight}, {"GradBias", got.GradBias, want.GradBias}} {
					for i := range pair.want {
						if math.Float32bits(pair.got[i]) != math.Float32bits(pair.want[i]) {
							t.Fatalf("%s: %s[%d] = %v, Eval gives %v", ctx, pair.what, i, pair.got[i], pair.want[i])
						}
					}
				}
				for i := range want.TargetRank {
					if got.TargetRank[i] != want.TargetRank[i] {
						t.Fatalf("%s: TargetRank[%d] = %d, Eval gives %d", ctx, i, got.TargetRank[i], want.TargetRank[i])
					}
				}
			}
		}
	}
}

// TestStreamErrors: a non-finite hidden state is reported at its place in
// the whole matrix even in a later block, Read's error comes back wrapped,
// and the fields EvalStream replaces must be nil.
func TestStreamErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	n, d, v := 20, 3, 7
	in := newProblem(rng, n, d, v, false, 1).in
	hidden := in.Hidden
	in.Hidden = nil
	bad := append([]float32(nil), hidden...)
	bad[13*d+2] = float32(math.Inf(-1))
	_, err := Head{BlockRows: 4}.EvalStream(in, streamOf(t, bad, d, nil), Output{})
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "Hidden[13, 2]") {
		t.Errorf("Inf at row 13 of a later block: err = %v, want ErrValue naming Hidden[13, 2]", err)
	}
	// The in-memory path names the same element.
	_, err = Head{BlockRows: 4}.Eval(Input{Hidden: bad, N: n, D: d, Weight: in.Weight, V: v, Targets: in.Targets}, Output{})
	if err == nil || !strings.Contains(err.Error(), "Hidden[13, 2]") {
		t.Errorf("Eval: err = %v, want one naming Hidden[13, 2]", err)
	}
	boom := errors.New("disk gone")
	calls := 0
	_, err = Head{BlockRows: 4}.EvalStream(in, HiddenStream{Read: func(dst []float32, row int) error {
		calls++
		if row >= 8 {
			return boom
		}
		copy(dst, hidden[row*d:])
		return nil
	}}, Output{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "row 8") || calls != 3 {
		t.Errorf("a failing Read: err = %v after %d calls, want the read's error at row 8 after 3 calls", err, calls)
	}
	for _, c := range []struct {
		name string
		in   Input
		s    HiddenStream
		out  Output
		want string
	}{
		{"no Read", in, HiddenStream{}, Output{}, "Read"},
		{"Hidden set", Input{Hidden: hidden, N: n, D: d, Weight: in.Weight, V: v, Targets: in.Targets}, streamOf(t, hidden, d, nil), Output{}, "Input.Hidden"},
		{"GradHidden set", in, streamOf(t, hidden, d, nil), Output{GradHidden: make([]float32, n*d)}, "GradHidden"},
		{"bad target", Input{N: n, D: d, Weight: in.Weight, V: v, Targets: append(make([]int32, n-1), int32(v))}, streamOf(t, hidden, d, nil), Output{}, "row 19"},
	} {
		_, err := Head{}.EvalStream(c.in, c.s, c.out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// TestStreamBlockBytes: the hidden states EvalStream holds are bounded by
// the block size, not by N, even for a small vocabulary and wide hidden
// states (where a block sized by the logits alone would hold every row).
func TestStreamBlockBytes(t *testing.T) {
	n, d, v := 20000, 2048, 4
	in := Input{N: n, D: d, V: v, Weight: make([]float32, v*d), Targets: make([]int32, n)}
	for i := range in.Weight {
		in.Weight[i] = float32(i%7) / 7
	}
	s := HiddenStream{Read: func(dst []float32, row int) error {
		for i := range dst {
			dst[i] = float32((row*d+i)%5) / 5
		}
		return nil
	}}
	st, err := Head{}.EvalStream(in, s, Output{})
	if err != nil {
		t.Fatal(err)
	}
	if whole := int64(4 * n * d); st.ExtraBytes > blockBytes+(8<<20) || st.ExtraBytes >= whole {
		t.Errorf("held %d bytes of scratch for %d bytes of hidden states; want about one %d-byte block", st.ExtraBytes, whole, blockBytes)
	}
}
