package sample

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts is a
// valid chain, and that Format writes a chain Parse reads back to the
// same chain.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"top_k=40;top_p=0.95;min_p=0.05;temp=0.8", "default", "", ";;", "dist", "greedy",
		"penalties=64,repeat=1.1,frequency=0.1,presence=0.2", "penalties", "dry=0.8,base=1.75,allowed_length=2,last_n=-1,breakers=13|1 2",
		"logit_bias=15:-inf|27:2.5", "temp=0.7,range=0.3,exponent=1", "mirostat=5,eta=0.1,m=100", "mirostat_v2=5",
		"xtc=0.5,threshold=0.1,min_keep=2", "top_p=0.9,min_keep=3", "typical=0.9", "top_n_sigma=1",
		"top_k=", "top_k=x", "top_p=nan", "dist;top_k=3", "temp=1,range", "foo=1", "top_k=3,min_keep=", "logit_bias=1",
		"top-k=5", "temperature=2", "min_p=0.05,foo=1", "dist=3", "penalties=64,last_n=32",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chain, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrValue) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrValue", s, err)
			}
			return
		}
		if err := checkChain(chain); err != nil {
			t.Fatalf("Parse(%q) gave an invalid chain: %v", s, err)
		}
		text := Format(chain)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", s, text, err)
		}
		if Format(again) != text {
			t.Fatalf("round trip of %q: %q then %q", s, text, Format(again))
		}
		if _, err := New(chain, 1); err != nil {
			t.Fatalf("New(Parse(%q)): %v", s, err)
		}
	})
}

// FuzzSample feeds arbitrary rows, histories and masks (from the bytes)
// to a few chains: no panic, and either an error or a token with a
// non-zero final probability and a finite log-probability.
func FuzzSample(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64}, []byte{1, 0, 2}, uint8(0))
	f.Add([]byte{0, 0, 128, 255, 0, 0, 128, 127, 0, 0, 192, 127}, []byte{}, uint8(1))
	f.Add(make([]byte, 400), []byte{3, 3, 3, 3, 3}, uint8(2))
	chains := [][]Stage{
		Default(),
		{Penalties(-1, 1.5, 0.5, 0.5), TopK(3), TopP(0.5), MinP(0.1), Typical(0.7), TopNSigma(1), XTC(1, 0.2), DynTemp(0.7, 0.5, 2)},
		{DRY(DRYParams{Multiplier: 1, Base: 2, AllowedLength: 1, LastN: -1, Breakers: [][]int32{{1}}}), LogitBias(Bias{0, float32(math.Inf(-1))}), MirostatV2(3, 0.2)},
		{Temp(0), Greedy()},
		{Mirostat(5, 0.1, 10)},
	}
	f.Fuzz(func(t *testing.T, row []byte, hist []byte, which uint8) {
		V := len(row) / 4
		if V == 0 || V > 5000 {
			return
		}
		x := make([]float32, V)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
		}
		h := make([]int32, len(hist))
		for i, b := range hist {
			h[i] = int32(b) % int32(V+1) // V itself is out of range
		}
		var allowed []uint64
		if which&8 != 0 {
			allowed = make([]uint64, (V+63)/64)
			for i := range allowed {
				allowed[i] = 0x5555555555555555
			}
		}
		s, err := New(chains[int(which)%len(chains)], uint64(which))
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Logits: x, History: h, Allowed: allowed}
		res, err := s.Sample(in)
		if err != nil {
			if !errors.Is(err, ErrValue) && !errors.Is(err, ErrShape) {
				t.Fatalf("error %v wraps neither ErrValue nor ErrShape", err)
			}
			return
		}
		if res.Token < 0 || int(res.Token) >= V || math.IsNaN(res.LogProb) || res.LogProb > 1e-6 {
			t.Fatalf("token %d, log-probability %v", res.Token, res.LogProb)
		}
		if allowed != nil && res.Token%2 == 1 {
			t.Fatalf("token %d is masked", res.Token)
		}
		p := make([]float32, V)
		if err := s.Probs(p, in); err != nil {
			t.Fatalf("Sample succeeded, Probs on the same row failed: %v", err)
		}
		sum := 0.0
		for _, v := range p {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("probability %v", v)
			}
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("probabilities sum to %v", sum)
		}
	})
}
