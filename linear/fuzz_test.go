package linear

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/xentlab/xent/loss"
)

// FuzzHead builds a small head from the fuzzer's bytes (shapes, targets
// that may be out of range or ignored, values that may be huge or not
// finite, a shift, a block size, filtering) and checks that Eval and
// EvalStream never panic and agree: both fail (with the same error, but
// for the order in which they meet the hidden states) or both give the
// same bits of the loss, the per-row losses and every gradient.
func FuzzHead(f *testing.F) {
	f.Add([]byte{3, 2, 4, 1, 0, 0, 1, 2, 3, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0})
	f.Add([]byte{5, 3, 7, 2, 3, 1, 0xff, 9, 0x7f, 0x80, 0, 0, 0x7f, 0xc0, 0, 1, 0x42, 0xc8, 0, 0})
	f.Add([]byte{1, 1, 1, 0, 0, 0, 0, 0x7f, 0x7f, 0xff, 0xff})
	f.Add([]byte{8, 4, 3, 0, 1, 2, 6, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0x3e, 0x80, 0, 0, 0xbf, 0, 0, 0, 0x41, 0x20, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 7 {
			return
		}
		n, d, v := int(data[0]%9), 1+int(data[1]%5), 1+int(data[2]%9)
		shift, blockRows, flags := int(data[3]%4), int(data[4]%5), data[5]
		rest := data[6:]
		next := func() byte {
			if len(rest) == 0 {
				return 0
			}
			b := rest[0]
			rest = rest[1:]
			return b
		}
		targets := make([]int32, n)
		for i := range targets {
			targets[i] = int32(next()%byte(v+2)) - 1 // −1 (ignored) to v (out of range)
		}
		val := func(i int) float32 {
			if len(rest) >= 4 {
				x := math.Float32frombits(binary.BigEndian.Uint32(rest))
				rest = rest[4:]
				return x
			}
			return float32(math.Sin(float64(i)))
		}
		hidden := make([]float32, n*d)
		for i := range hidden {
			hidden[i] = val(i)
		}
		weight := make([]float32, v*d)
		for i := range weight {
			weight[i] = val(i + 7)
		}
		h := Head{Shift: shift, BlockRows: blockRows, Threads: 1 + int(flags%2),
			Loss: []loss.CrossEntropyOption{loss.WithIgnoreIndex(-1)}}
		if flags&2 != 0 {
			h.Loss = append(h.Loss, loss.WithLabelSmoothing(0.1))
		}
		if flags&4 != 0 {
			h.FilterEps, h.TileCols, h.TileRows = 1e-3, 2, 2
		}
		if flags&8 != 0 {
			h.Loss = append(h.Loss, loss.WithReduction(loss.Sum))
		}
		grads := flags&16 != 0
		mk := func() Output {
			o := Output{Rows: make([]float32, n)}
			if grads {
				o.GradHidden, o.GradWeight = make([]float32, n*d), make([]float32, v*d)
			}
			return o
		}
		in := Input{Hidden: hidden, N: n, D: d, Weight: weight, V: v, Targets: targets}
		want, got, wst, gst, werr, gerr := evalBoth(t, h, in, mk)
		// Both fail or neither. The first error is the same, except that
		// Eval checks every hidden state before it computes and
		// EvalStream only when it reads the block: a problem in an
		// earlier block (an overflowing logit) can come first.
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() && !strings.Contains(werr.Error(), "Hidden[") {
			t.Fatalf("Eval err %v, EvalStream err %v", werr, gerr)
		}
		if werr != nil {
			return
		}
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b }
		if !same(wst.Loss, gst.Loss) {
			t.Fatalf("loss %v, EvalStream %v", wst.Loss, gst.Loss)
		}
		for _, p := range [][2][]float32{{want.Rows, got.Rows}, {want.GradHidden, got.GradHidden}, {want.GradWeight, got.GradWeight}} {
			for i := range p[0] {
				if !same(float64(p[0][i]), float64(p[1][i])) {
					t.Fatalf("output %d differs: Eval %v, EvalStream %v", i, p[0][i], p[1][i])
				}
			}
		}
	})
}
