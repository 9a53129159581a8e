package exact

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"
)

// LogSumExp accumulates log Σ exp(x_i) so that parts — blocks of a row,
// vocabulary shards on different machines — merge to the same bits in any
// order, which softmax.State's rescaling merge does not promise.
//
// Each term is decomposed as exp(x) = f·2ᵏ with k = round(x/ln 2) and
// f = exp(x − k·ln 2) in [2^−½, 2^½] (a Cody–Waite reduction and math.Exp,
// so f is the same bits for the same x on the same architecture; its
// relative error is that of math.Exp plus about |k|·2⁻⁸⁰), and the 53-bit
// significands of the f·2ᵏ are added exactly into a sparse big integer.
// The total is rounded once, then its logarithm taken: the result is within
// about 2 ulp of log Σ f_i·2^(k_i) and depends only on the multiset of the
// x_i.
//
// −Inf terms add nothing; +Inf makes the result +Inf and NaN NaN. Terms
// must be below 2⁶⁰ (Add reports larger ones). Memory grows with the
// spread of the exponents: a word of 32 bits per 32 binary orders of
// magnitude the terms cover.
type LogSumExp struct {
	w     map[int64]uint64 // word i weighs 2^(32i); below 2³² after normalizing
	adds  int
	flags uint8
	n     int64 // finite terms added
}

// lseMax bounds |x|: k then fits in an int64 with room.
const lseMax = 1 << 60

// Cody–Waite split of ln 2: ln2Hi has 32 significant bits, so k·ln2Hi is
// exact for |k| < 2²¹ and nearly so beyond.
const (
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10
)

// Add adds the term exp(x). It fails, adding nothing, if |x| ≥ 2⁶⁰.
func (l *LogSumExp) Add(x float64) error {
	switch {
	case math.IsNaN(x):
		l.flags |= flagNaN
		return nil
	case math.IsInf(x, 1):
		l.flags |= flagPosInf
		return nil
	case math.IsInf(x, -1):
		return nil
	case math.Abs(x) >= lseMax:
		return fmt.Errorf("exact.LogSumExp.Add: |x| = %g, want below 2⁶⁰", x)
	}
	k := math.RoundToEven(x * math.Log2E)
	f := math.Exp((x - k*ln2Hi) - k*ln2Lo)
	b := math.Float64bits(f)
	m := b&(1<<52-1) | 1<<52
	// f·2ᵏ = m·2^(e − 1075 + k) with e f's biased exponent.
	p := int64(b>>52&0x7ff) - 1075 + int64(k)
	wi, sh := p>>5, uint(p&31)
	if l.w == nil {
		l.w = map[int64]uint64{}
	}
	l.w[wi] += (m << sh) & lowMask
	l.w[wi+1] += m >> (chunkBits - sh)
	l.n++
	l.adds++
	if l.adds >= carryEvery {
		l.normalize()
	}
	return nil
}

// normalize propagates carries upward so that every word is below 2³²,
// and drops zero words.
func (l *LogSumExp) normalize() {
	l.adds = 0
	if len(l.w) == 0 {
		return
	}
	keys := make([]int64, 0, len(l.w))
	for k := range l.w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := 0; i < len(keys); i++ {
		k := keys[i]
		v := l.w[k]
		if c := v >> chunkBits; c != 0 {
			if _, ok := l.w[k+1]; !ok {
				keys = slices.Insert(keys, i+1, k+1)
			}
			l.w[k+1] += c
			v &= lowMask
		}
		if v == 0 {
			delete(l.w, k)
		} else {
			l.w[k] = v
		}
	}
}

// Merge adds the terms of o (not changed) to l.
func (l *LogSumExp) Merge(o *LogSumExp) {
	l.flags |= o.flags
	l.n += o.n
	if len(o.w) == 0 {
		return
	}
	if l.w == nil {
		l.w = map[int64]uint64{}
	}
	l.normalize()
	t := o.clone()
	t.normalize()
	for k, v := range t.w {
		l.w[k] += v
	}
	l.normalize()
}

func (l *LogSumExp) clone() *LogSumExp {
	t := *l
	t.w = make(map[int64]uint64, len(l.w))
	for k, v := range l.w {
		t.w[k] = v
	}
	return &t
}

// Len returns the number of finite terms added.
func (l *LogSumExp) Len() int64 { return l.n }

// Value returns log Σ exp(x_i): −Inf for no term (or only −Inf terms).
func (l *LogSumExp) Value() float64 {
	switch {
	case l.flags&flagNaN != 0:
		return math.NaN()
	case l.flags&flagPosInf != 0:
		return math.Inf(1)
	}
	t := l.clone()
	t.normalize()
	if len(t.w) == 0 {
		return math.Inf(-1)
	}
	keys := make([]int64, 0, len(t.w))
	for k := range t.w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	top := keys[len(keys)-1]
	// The top three words hold at least 65 significant bits; the words
	// below only decide the rounding, through a sticky bit.
	var n big.Int
	for i := int64(0); i <= 2; i++ {
		n.Lsh(&n, chunkBits)
		n.Or(&n, new(big.Int).SetUint64(t.w[top-i]))
	}
	if keys[0] < top-2 {
		n.Lsh(&n, 1)
		n.SetBit(&n, 0, 1)
	}
	var f big.Float
	f.SetPrec(53).SetInt(&n) // rounds once, to nearest even
	mant := new(big.Float)
	e := f.MantExp(mant) // f = mant·2^e, mant in [0.5, 1)
	mf, _ := mant.Float64()
	shift := (top - 2) * chunkBits
	if keys[0] < top-2 {
		shift-- // the sticky bit's place
	}
	return math.Log(mf) + float64(int64(e)+shift)*math.Ln2
}

// MarshalBinary returns a canonical binary form: equal multisets of terms
// encode to equal bytes. Version 1: flags, the term count, the number of
// nonzero words, then each word's index (a zigzag varint, the first
// absolute, the others as the gap from the previous) and value.
func (l *LogSumExp) MarshalBinary() ([]byte, error) {
	t := l.clone()
	t.normalize()
	keys := make([]int64, 0, len(t.w))
	for k := range t.w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte{1, t.flags}
	b = binary.AppendUvarint(b, uint64(t.n))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	prev := int64(0)
	for i, k := range keys {
		if i == 0 {
			b = binary.AppendVarint(b, k)
		} else {
			b = binary.AppendUvarint(b, uint64(k-prev))
		}
		prev = k
		b = binary.AppendUvarint(b, t.w[k])
	}
	return b, nil
}

// UnmarshalBinary sets l from MarshalBinary's form; malformed data is an
// error wrapping ErrFormat and leaves l unchanged.
func (l *LogSumExp) UnmarshalBinary(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("exact.LogSumExp: %s: %w", fmt.Sprintf(format, args...), ErrFormat)
	}
	if len(data) < 2 || data[0] != 1 {
		return bad("missing or unknown version")
	}
	if data[1]&^(flagNaN|flagPosInf) != 0 {
		return bad("unknown flags %#x", data[1])
	}
	t := LogSumExp{flags: data[1], w: map[int64]uint64{}}
	pos := 2
	next := func() (uint64, bool) {
		v, k := binary.Uvarint(data[pos:])
		if k <= 0 {
			return 0, false
		}
		pos += k
		return v, true
	}
	n, ok1 := next()
	nw, ok2 := next()
	if !ok1 || !ok2 || n > math.MaxInt64 || nw > uint64(len(data)) {
		return bad("bad counts")
	}
	if (n == 0) != (nw == 0) {
		return bad("%d terms in %d words", n, nw)
	}
	t.n = int64(n)
	var prev int64
	for i := uint64(0); i < nw; i++ {
		var k int64
		if i == 0 {
			v, m := binary.Varint(data[pos:])
			if m <= 0 {
				return bad("truncated")
			}
			pos += m
			k = v
		} else {
			d, ok := next()
			if !ok || d == 0 || d > 1<<62 || prev > math.MaxInt64-int64(d) {
				return bad("word indexes not increasing")
			}
			k = prev + int64(d)
		}
		if k < -(1<<58) || k > 1<<58 {
			return bad("word index %d out of range", k)
		}
		v, ok := next()
		if !ok || v == 0 || v > lowMask {
			return bad("word %d is %d, want in [1, 2³²)", k, v)
		}
		t.w[k] = v
		prev = k
	}
	if pos != len(data) {
		return bad("%d bytes after the words", len(data)-pos)
	}
	*l = t
	return nil
}
