// Package exact sums float64 values exactly, so that a sum split into
// parts — row blocks, threads, files, machines — and put together in any
// order gives the same bits as one pass.
//
// # Method
//
// Sum is a superaccumulator in the style of Radford Neal's "small
// superaccumulator" (arXiv:1505.05571): every finite float64 is an integer
// multiple of 2⁻¹⁰⁷⁴ below 2¹⁰²⁴, so the running total is kept as a
// two's-complement integer in units of 2⁻¹⁰⁷⁴, cut into 67 chunks of 32
// bits held in int64 words. Adding a value adds its 53-bit significand,
// shifted to its exponent, into two neighbouring chunks; the headroom of
// the int64 words lets about a thousand values go in before the carries
// are propagated. No bit is ever rounded away, so addition is associative
// and commutative: the value is a function of the multiset of the
// numbers added, and Value rounds it once, to the nearest float64 (ties to
// even).
//
// Infinities and NaNs are kept aside as flags, with IEEE 754's rules for
// the result: NaN if a NaN was added or both +Inf and −Inf were, ±Inf if
// only that infinity was; a finite total beyond the float64 range rounds
// to ±Inf. The exact zero is +0.
//
// The total stays exact for fewer than 2⁶³ values; adding and merging cost
// a few nanoseconds and a few hundred nanoseconds respectively, reading
// the value a few microseconds.
package exact

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

const (
	chunkBits = 32
	nChunks   = 67 // 64 reached by values, 3 more of headroom for carries
	// carryEvery adds may go in between carry propagations: each adds less
	// than 2⁵² in magnitude to a word that starts below 2³², so 2¹⁰ adds
	// stay far below 2⁶³.
	carryEvery = 1 << 10
	// topLimit bounds the top word after carrying: fewer than 2⁶³ values
	// below 2¹⁰²⁴ sum to less than 2¹⁰⁸⁷ = 2⁴⁹ units of the top word.
	topLimit = 1 << 49
	lowMask  = 1<<chunkBits - 1
)

// Special-value flags.
const (
	flagNaN uint8 = 1 << iota
	flagPosInf
	flagNegInf
	flagMask = flagNaN | flagPosInf | flagNegInf
)

// Sum is an exact sum of float64 values (see the package documentation).
// The zero value is the empty sum, ready to use. A Sum is about 550 bytes;
// copy it to snapshot it.
type Sum struct {
	w     [nChunks]int64 // the total in units of 2⁻¹⁰⁷⁴, chunk i weighs 2^(32i)
	adds  int            // adds since the last carry propagation
	flags uint8
}

// Add adds x to the sum, exactly.
func (s *Sum) Add(x float64) {
	b := math.Float64bits(x)
	e := int(b>>52) & 0x7ff
	m := b & (1<<52 - 1)
	switch {
	case e == 0x7ff:
		switch {
		case m != 0:
			s.flags |= flagNaN
		case b>>63 != 0:
			s.flags |= flagNegInf
		default:
			s.flags |= flagPosInf
		}
		return
	case e == 0:
		if m == 0 {
			return // ±0
		}
		e = 1 // subnormal: m·2⁻¹⁰⁷⁴
	default:
		m |= 1 << 52
	}
	// x = m·2^(p−1074) with p = e − 1 in [0, 2045].
	p := uint(e - 1)
	c, sh := p/chunkBits, p%chunkBits
	lo := int64((m << sh) & lowMask)
	hi := int64(m >> (chunkBits - sh))
	if b>>63 != 0 {
		lo, hi = -lo, -hi
	}
	s.w[c] += lo
	s.w[c+1] += hi
	s.adds++
	if s.adds >= carryEvery {
		s.carry()
	}
}

// AddSlice adds every value of x.
func (s *Sum) AddSlice(x []float64) {
	for _, v := range x {
		s.Add(v)
	}
}

// AddProduct adds a·b exactly: the rounded product and its rounding error
// (from a fused multiply-add) both go in. The error term is exact unless
// it falls below the subnormal range (|a·b| below about 2⁻⁹⁶⁹), where it
// is rounded, though still the same way for every order of addition.
func (s *Sum) AddProduct(a, b float64) {
	p := a * b
	s.Add(p)
	if !math.IsInf(p, 0) && !math.IsNaN(p) {
		s.Add(math.FMA(a, b, -p))
	}
}

// carry propagates the carries so that every word below the top one is in
// [0, 2³²); the top word keeps the sign.
func (s *Sum) carry() {
	for i := 0; i < nChunks-1; i++ {
		c := s.w[i] >> chunkBits // floor division: the arithmetic shift
		s.w[i] -= c << chunkBits
		s.w[i+1] += c
	}
	s.adds = 0
}

// Merge adds the values of o to s (o is not changed).
func (s *Sum) Merge(o *Sum) {
	t := *o
	t.carry()
	s.carry()
	for i := range s.w {
		s.w[i] += t.w[i]
	}
	s.flags |= t.flags
	s.carry()
}

// special returns the value the flags impose, if any.
func (s *Sum) special() (float64, bool) {
	switch {
	case s.flags&flagNaN != 0 || s.flags&(flagPosInf|flagNegInf) == flagPosInf|flagNegInf:
		return math.NaN(), true
	case s.flags&flagPosInf != 0:
		return math.Inf(1), true
	case s.flags&flagNegInf != 0:
		return math.Inf(-1), true
	}
	return 0, false
}

// IsZero reports whether nothing but zeros was added (or the values added
// cancel exactly) and no infinity or NaN was.
func (s *Sum) IsZero() bool {
	if s.flags != 0 {
		return false
	}
	for _, v := range s.w {
		if v != 0 {
			// Before carrying, words can be nonzero for a zero total.
			t := *s
			t.carry()
			for _, u := range t.w {
				if u != 0 {
					return false
				}
			}
			return true
		}
	}
	return true
}

// Value returns the sum rounded once to the nearest float64 (ties to
// even): the correctly rounded sum of every value added.
func (s *Sum) Value() float64 {
	if v, ok := s.special(); ok {
		return v
	}
	f := s.exact(new(big.Float))
	v, _ := f.Float64()
	if v == 0 {
		return 0 // +0 for an exact zero and for a total that underflows
	}
	return v
}

// Float sets z to the exact sum and returns it; ok is false (and z is not
// set) when an infinity or a NaN was added.
func (s *Sum) Float(z *big.Float) (f *big.Float, ok bool) {
	if _, sp := s.special(); sp {
		return z, false
	}
	return s.exact(z), true
}

// exact sets z to the finite total, with enough precision to hold it.
func (s *Sum) exact(z *big.Float) *big.Float {
	t := *s
	t.carry()
	var n big.Int
	n.SetInt64(t.w[nChunks-1])
	var word big.Int
	for i := nChunks - 2; i >= 0; i-- {
		n.Lsh(&n, chunkBits)
		n.Add(&n, word.SetInt64(t.w[i]))
	}
	z.SetPrec(uint(max(64, n.BitLen())))
	z.SetInt(&n)
	return z.SetMantExp(z, -1074)
}

// Version 1 of the binary form: a flags byte, the index of the lowest
// nonzero word and the number of words from there to the top word, then
// those words, each as a zigzag varint. Every word but the top one is in
// [0, 2³²) after carrying, so the form of a value is unique: equal sums
// encode to equal bytes.

// AppendBinary appends the binary form of s to b.
func (s *Sum) AppendBinary(b []byte) ([]byte, error) {
	t := *s
	t.carry()
	lo, hi := 0, -1
	for i, v := range t.w {
		if v != 0 {
			if hi < 0 {
				lo = i
			}
			hi = i
		}
	}
	b = append(b, t.flags)
	if hi < 0 {
		return append(b, 0, 0), nil
	}
	b = append(b, byte(lo), byte(hi-lo+1))
	for _, v := range t.w[lo : hi+1] {
		b = binary.AppendVarint(b, v)
	}
	return b, nil
}

// MarshalBinary returns the binary form of s.
func (s *Sum) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// ErrFormat is wrapped by the errors of UnmarshalBinary and Decode.
var ErrFormat = errors.New("exact: malformed sum encoding")

// UnmarshalBinary sets s from the binary form made by MarshalBinary; the
// whole of data must be one sum.
func (s *Sum) UnmarshalBinary(data []byte) error {
	var t Sum
	n, err := t.Decode(data)
	if err != nil {
		return err
	}
	if n != len(data) {
		return fmt.Errorf("%d bytes after the sum: %w", len(data)-n, ErrFormat)
	}
	*s = t
	return nil
}

// Decode sets s from the binary form at the start of data and returns the
// number of bytes it used. Malformed data (a word out of its range, a
// non-canonical form, a short buffer) is an error wrapping ErrFormat, and
// s is then left unchanged.
func (s *Sum) Decode(data []byte) (int, error) {
	if len(data) < 3 {
		return 0, fmt.Errorf("%d bytes, want at least 3: %w", len(data), ErrFormat)
	}
	flags, lo, n := data[0], int(data[1]), int(data[2])
	if flags&^flagMask != 0 {
		return 0, fmt.Errorf("unknown flags %#x: %w", flags, ErrFormat)
	}
	if n == 0 {
		if lo != 0 {
			return 0, fmt.Errorf("an empty sum with word index %d: %w", lo, ErrFormat)
		}
		*s = Sum{flags: flags}
		return 3, nil
	}
	if lo+n > nChunks {
		return 0, fmt.Errorf("words %d to %d, want at most %d words: %w", lo, lo+n-1, nChunks, ErrFormat)
	}
	var t Sum
	t.flags = flags
	pos := 3
	for i := lo; i < lo+n; i++ {
		v, k := binary.Varint(data[pos:])
		if k <= 0 {
			return 0, fmt.Errorf("word %d: truncated or overlong varint: %w", i, ErrFormat)
		}
		pos += k
		switch {
		case i < nChunks-1 && (v < 0 || v > lowMask):
			return 0, fmt.Errorf("word %d is %d, outside [0, 2³²): %w", i, v, ErrFormat)
		case i == nChunks-1 && (v <= -topLimit || v >= topLimit):
			return 0, fmt.Errorf("top word %d is beyond ±2⁴⁹: %w", v, ErrFormat)
		case (i == lo || i == lo+n-1) && v == 0:
			return 0, fmt.Errorf("word %d is zero at an end of the range: %w", i, ErrFormat)
		}
		t.w[i] = v
	}
	*s = t
	return pos, nil
}
