package vek

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzTiers32 runs the float32 element-wise and reduction kernels on
// arbitrary bit patterns (NaN, ±Inf, subnormals, huge and tiny values,
// any length) on every tier this machine has and requires the bits of
// the portable twin from each, the two-pass kernels and the row products
// of decoding included
// (rows of d = dd mod 37 + 1 elements). Inputs are trimmed to each kernel's
// documented preconditions (the shifted kernels get a row without NaN
// or +Inf and the shift Shift32 picks for its maximum; the exact kernels
// a finite maximum and a positive temperature) and otherwise left as
// they come.
func FuzzTiers32(f *testing.F) {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 85, -85, 87.5, -87.5, 88.8, -103.9,
		1e-40, -1e-40, 3e38, -3e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 16.5, -69, 138}
	seed := func(vals []float32, s, b float32) {
		buf := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		f.Add(buf, s, b, uint8(len(vals)%37))
	}
	seed(nil, 1, 0)
	seed(special, 1, 0)
	seed(special[:13], 0.5, -7.6)
	long := make([]float32, 131)
	for i := range long {
		long[i] = special[(i*7)%len(special)] * float32(i%5+1) / 3
	}
	seed(long, 2.5, 3)
	ramp := make([]float32, 200)
	for i := range ramp {
		ramp[i] = float32(i)*0.73 - 100
	}
	seed(ramp, 1, -1)

	f.Fuzz(func(t *testing.T, raw []byte, s, b float32, dd uint8) {
		x := make([]float32, len(raw)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		// The shifted and exact kernels' rows: NaN and +Inf become −Inf.
		row := belowInf(x)
		m, _ := MaxNaN32(row)
		c, shiftOK := Shift32(m)
		exactOK := m >= -math.MaxFloat32 && m <= math.MaxFloat32
		if !(s > 0) || s > 64 {
			s = 1
		}

		run := func() []tierResult[float32] {
			var rs []tierResult[float32]
			add := func(name string, vals []float32, sum float64) {
				rs = append(rs, tierResult[float32]{name: name, vals: vals, sum: sum})
			}
			mx, nan := MaxNaN32(x)
			rs = append(rs, tierResult[float32]{name: "MaxNaN32", one: mx, flag: nan})
			add("Sum32", nil, Sum32(x))
			d := make([]float32, len(x))
			Exp32(d, x)
			add("Exp32", d, 0)
			d = make([]float32, len(x))
			Sigmoid32(d, x, b)
			add("Sigmoid32", d, 0)
			d = make([]float32, len(x))
			add("SigmoidSum32", d, SigmoidSum32(d, x, b))
			d = make([]float32, len(x))
			Scale32(d, x, s)
			add("Scale32", d, 0)
			d = make([]float32, len(x))
			ShiftScale32(d, x, b, s, 0.25)
			add("ShiftScale32", d, 0)
			d = append([]float32(nil), x...)
			Axpy32(d, row, b)
			add("Axpy32", d, 0)
			// Decoding's row products: up to five query rows against the
			// key rows of x, then weights from x times the same rows.
			dim := int(dd%37) + 1
			if n := len(x) / dim; n > 0 {
				rows := min(5, n)
				d = make([]float32, rows*n)
				DotRows32(d, n, x[:rows*dim], x[:n*dim], dim, s)
				add("DotRows32", d, 0)
				o := make([]float32, rows*dim)
				p := make([]float32, rows*n)
				for i := range p {
					p[i] = x[(i*3)%len(x)]
				}
				AxpyRows32(o, dim, p, n, rows, x[:n*dim], dim)
				add("AxpyRows32", o, 0)
			}
			if shiftOK {
				add("ExpShiftSum32", nil, ExpShiftSum32(row, c))
				d = make([]float32, len(x))
				add("ExpShiftStore32", d, ExpShiftStore32(d, row, c))
			}
			if exactOK {
				add("ExpSum32", nil, ExpSum32(row, m, s))
				d = make([]float32, len(x))
				add("ExpStoreSum32", d, ExpStoreSum32(d, row, m, s))
				d = make([]float32, len(x))
				ExpAffine32(d, row, m, s, 0.5, 0.125)
				add("ExpAffine32", d, 0)
			}
			return rs
		}
		onEveryTier(t, x, tiers32, &k32, func(k *kernels32) string { return k.name }, run)

		// The two-pass kernels (catalog A14), on the row as it comes.
		runTP := func() []tierResult[float32] {
			// Outside the domain (ok false) only the verdict is specified.
			var rs []tierResult[float32]
			m1, e1, ok := ExtExpSum32(x)
			if !ok {
				m1, e1 = 0, 0
			}
			rs = append(rs, tierResult[float32]{name: "ExtExpSum32", sum: m1, one: float32(e1), flag: ok})
			if ok {
				d := make([]float32, len(x))
				ExtExpScale32(d, x, float32(e1), float32(1/m1))
				rs = append(rs, tierResult[float32]{name: "ExtExpScale32", vals: d})
			}
			d := make([]float32, len(x))
			refs := make([]float32, TwoPassRefs(len(x)))
			m2, e2, ok := ExtExpSumStore32(d, x, refs)
			if !ok {
				rs = append(rs, tierResult[float32]{name: "ExtExpSumStore32", flag: ok})
				return rs
			}
			rs = append(rs, tierResult[float32]{name: "ExtExpSumStore32", vals: append([]float32(nil), d...), sum: m2, one: float32(e2), flag: ok},
				tierResult[float32]{name: "TwoPassRefs", vals: refs})
			ExtRescale32(d, refs, float32(e2), float32(1/m2))
			rs = append(rs, tierResult[float32]{name: "ExtRescale32", vals: d})
			return rs
		}
		onEveryTier(t, x, tiersTP, &kTP, func(k *kernelsTP) string { return k.name }, runTP)
	})
}

// FuzzTiers64 is FuzzTiers32 for the float64 kernels.
func FuzzTiers64(f *testing.F) {
	special := []float64{0, math.Copysign(0, -1), 1, -1, 700, -700, 709.9, -745.2, 1e-310, -1e-310,
		1.7e308, -1.7e308, math.Inf(1), math.Inf(-1), math.NaN(), 16.5}
	seed := func(vals []float64, s, b float64) {
		buf := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
		}
		f.Add(buf, s, b)
	}
	seed(nil, 1, 0)
	seed(special, 1, 0)
	long := make([]float64, 77)
	for i := range long {
		long[i] = special[(i*5)%len(special)] * float64(i%7+1) / 4
	}
	seed(long, 0.7, -2)

	f.Fuzz(func(t *testing.T, raw []byte, s, b float64) {
		x := make([]float64, len(raw)/8)
		for i := range x {
			x[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		row := belowInf(x)
		m, _ := MaxNaN64(row)
		exactOK := m >= -math.MaxFloat64 && m <= math.MaxFloat64
		if !(s > 0) || s > 64 {
			s = 1
		}
		run := func() []tierResult[float64] {
			var rs []tierResult[float64]
			add := func(name string, vals []float64, sum float64) {
				rs = append(rs, tierResult[float64]{name: name, vals: vals, sum: sum})
			}
			mx, nan := MaxNaN64(x)
			rs = append(rs, tierResult[float64]{name: "MaxNaN64", one: mx, flag: nan})
			add("Sum64", nil, Sum64(x))
			d := make([]float64, len(x))
			Exp64(d, x)
			add("Exp64", d, 0)
			d = make([]float64, len(x))
			Scale64(d, x, s)
			add("Scale64", d, 0)
			d = make([]float64, len(x))
			ShiftScale64(d, x, b, s, 0.25)
			add("ShiftScale64", d, 0)
			d = append([]float64(nil), x...)
			Axpy64(d, row, b)
			add("Axpy64", d, 0)
			if exactOK {
				add("ExpSum64", nil, ExpSum64(row, m, s))
				d = make([]float64, len(x))
				add("ExpStoreSum64", d, ExpStoreSum64(d, row, m, s))
				d = make([]float64, len(x))
				ExpAffine64(d, row, m, s, 0.5, 0.125)
				add("ExpAffine64", d, 0)
			}
			return rs
		}
		onEveryTier(t, x, tiers64, &k64, func(k *kernels64) string { return k.name }, run)
	})
}

// A tierResult is what one kernel returned on one tier: its output
// elements, its sum, or its maximum and flag.
type tierResult[T float32 | float64] struct {
	name string
	vals []T
	sum  float64
	one  T
	flag bool
}

// sameBits reports whether p and q have the same bits, or are both NaN.
func sameBits[T float32 | float64](p, q T) bool {
	return math.Float64bits(float64(p)) == math.Float64bits(float64(q)) || (p != p && q != q)
}

// onEveryTier runs run with each of tiers in use (*cur set to it, then
// restored) and fails t where a tier's results differ from the first
// tier's, the portable twin's, on input x.
func onEveryTier[K any, T float32 | float64](t *testing.T, x []T, tiers []*K, cur **K, name func(*K) string, run func() []tierResult[T]) {
	t.Helper()
	saved := *cur
	defer func() { *cur = saved }()
	var want []tierResult[T]
	for i, tier := range tiers {
		*cur = tier
		got := run()
		if i == 0 {
			want = got
			continue
		}
		compareTiers(t, name(tier), x, got, want)
	}
}

// compareTiers fails t where tier's results (got) differ from the
// portable twin's (want) on input x.
func compareTiers[T float32 | float64](t *testing.T, tier string, x []T, got, want []tierResult[T]) {
	t.Helper()
	for k, g := range got {
		w := want[k]
		if !sameBits(g.sum, w.sum) || !sameBits(g.one, w.one) || g.flag != w.flag {
			t.Fatalf("%s on %s: (%v, %v, %v), the portable twin gives (%v, %v, %v)", g.name, tier, g.sum, g.one, g.flag, w.sum, w.one, w.flag)
		}
		for i := range g.vals {
			if !sameBits(g.vals[i], w.vals[i]) {
				t.Fatalf("%s on %s: element %d is %g, the portable twin gives %g (input %v)", g.name, tier, i, g.vals[i], w.vals[i], x)
			}
		}
	}
}

// belowInf returns x with NaN and +Inf replaced by −Inf: a row within the
// exponential kernels' preconditions.
func belowInf[T float32 | float64](x []T) []T {
	row := make([]T, len(x))
	for i, v := range x {
		if v != v || math.IsInf(float64(v), 1) {
			v = T(math.Inf(-1))
		}
		row[i] = v
	}
	return row
}
