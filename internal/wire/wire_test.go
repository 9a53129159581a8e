package wire

import (
	"errors"
	"math"
	"testing"

	"github.com/xentlab/xent/exact"
)

func TestRoundTrip(t *testing.T) {
	var s exact.Sum
	s.Add(1e-300)
	s.Add(-7)
	var w Writer
	w.Uvarint(300)
	w.Varint(-5)
	w.Float64(math.Inf(-1))
	w.Bool(true)
	w.String("cross-entropy")
	w.Sum(&s)
	w.Int(7)
	framed := Seal("TEST", 3, w.B)

	v, payload, err := Open("TEST", framed)
	if err != nil || v != 3 {
		t.Fatalf("open: %d, %v", v, err)
	}
	r := Reader{B: payload}
	var s2 exact.Sum
	u, i, f, b, str := r.Uvarint(), r.Varint(), r.Float64(), r.Bool(), r.String(100)
	r.Sum(&s2)
	n := r.Int(6, "n")
	if u != 300 || i != -5 || !math.IsInf(f, -1) || !b || str != "cross-entropy" || s2.Value() != s.Value() {
		t.Fatalf("read %v %v %v %v %q %v", u, i, f, b, str, s2.Value())
	}
	if n != 0 || !errors.Is(r.Err(), ErrCorrupt) {
		t.Fatalf("7 > limit 6 not reported: %d, %v", n, r.Err())
	}
}

func TestOpenErrors(t *testing.T) {
	good := Seal("TEST", 1, []byte("payload"))
	for name, b := range map[string][]byte{
		"short":     good[:6],
		"magic":     append([]byte("BEST"), good[4:]...),
		"flipped":   append(append([]byte{}, good[:6]...), append([]byte{good[6] ^ 1}, good[7:]...)...),
		"truncated": good[:len(good)-1],
	} {
		if _, _, err := Open("TEST", b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	r := Reader{B: []byte{1, 2}}
	r.Uvarint()
	if err := r.Done(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("left-over bytes: %v", err)
	}
	r = Reader{B: []byte{5, 'a'}}
	if r.String(10); !errors.Is(r.Err(), ErrCorrupt) {
		t.Errorf("short string: %v", r.Err())
	}
}
