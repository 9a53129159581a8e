package softmax

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/golden"
)

// ref computes softmax, log-softmax and log-sum-exp of one row in float64
// from the given values, with compensated sums.
func ref(row []float64, temp float64) (p, logp []float64, lse float64) {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, v/temp)
	}
	n := len(row)
	p, logp = make([]float64, n), make([]float64, n)
	if math.IsInf(m, -1) {
		for i := range p {
			logp[i] = math.Inf(-1)
		}
		return p, logp, math.Inf(-1)
	}
	var s, c float64
	for _, v := range row {
		e := math.Exp(v/temp - m)
		t := s + e
		if s >= e {
			c += (s - t) + e
		} else {
			c += (e - t) + s
		}
		s = t
	}
	s += c
	ls := math.Log(s)
	for i, v := range row {
		z := v/temp - m
		p[i] = math.Exp(z) / s
		logp[i] = z - ls
	}
	return p, logp, m + ls
}

func ulp32(v float64) float64 {
	if v == 0 {
		return 0x1p-149
	}
	_, e := math.Frexp(math.Abs(v))
	return math.Ldexp(1, max(e-24, -149))
}

// check32 compares float32 results with the float64 reference under the
// documented bounds. extraRel is the extra relative error allowed for p
// per unit of |z − max z| (the temperature's rounding).
func check32(t *testing.T, ctx string, x []float32, cols int, temp float64) {
	t.Helper()
	rows := len(x) / cols
	p := make([]float32, len(x))
	lp := make([]float32, len(x))
	ls := make([]float32, rows)
	opts := []Option{Temperature(temp)}
	if err := Softmax(p, x, cols, opts...); err != nil {
		t.Fatal(err)
	}
	if err := LogSoftmax(lp, x, cols, opts...); err != nil {
		t.Fatal(err)
	}
	if err := LogSumExp(ls, x, cols, opts...); err != nil {
		t.Fatal(err)
	}
	extra := 0.0
	if temp != 1 {
		extra = 0x1p-24
	}
	for r := 0; r < rows; r++ {
		row := make([]float64, cols)
		for j := range row {
			row[j] = float64(x[r*cols+j])
		}
		wp, wlp, wls := ref(row, temp)
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v/temp)
		}
		for j := 0; j < cols; j++ {
			i := r*cols + j
			got, want := float64(p[i]), wp[j]
			z := math.Abs(row[j]/temp - m)
			tol := (2e-6 + extra*z) * want
			if want < 1e-30 { // below the bound's range: flushed or subnormal results
				tol += 1e-36
			}
			if math.Abs(got-want) > tol {
				t.Fatalf("%s row %d col %d: softmax %v, want %v (rel %.3g)", ctx, r, j, got, want, math.Abs(got-want)/want)
			}
			got, want = float64(lp[i]), wlp[j]
			if math.IsInf(want, -1) {
				if !math.IsInf(got, -1) {
					t.Fatalf("%s row %d col %d: log-softmax %v, want -Inf", ctx, r, j, got)
				}
			} else if math.Abs(got-want) > (2e-6+extra*z)*max(1, math.Abs(want)) {
				t.Fatalf("%s row %d col %d: log-softmax %v, want %v (abs %.3g)", ctx, r, j, got, want, math.Abs(got-want))
			}
		}
		got := float64(ls[r])
		if math.IsInf(wls, -1) {
			if !math.IsInf(got, -1) {
				t.Fatalf("%s row %d: lse %v, want -Inf", ctx, r, got)
			}
		} else if math.Abs(got-wls) > 2*ulp32(wls)+1e-6+extra*math.Abs(wls) {
			t.Fatalf("%s row %d: lse %v, want %v", ctx, r, got, wls)
		}
	}
}

// adversarial returns named float32 matrices with the given columns:
// scales 1e-6 to 1e4, offsets up to ±3e4, ties, −Inf masks (including an
// all-masked-but-one row), and tiny values next to a moderate maximum.
func adversarial(rng *rand.Rand, rows, cols int) map[string][]float32 {
	out := map[string][]float32{}
	for _, scale := range []float64{1e-6, 1e-3, 1, 10, 100, 1e4} {
		for _, off := range []float64{0, 3e4, -3e4, 50} {
			x := make([]float32, rows*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*scale + off)
			}
			out[fmt.Sprintf("scale=%g,offset=%g", scale, off)] = x
		}
	}
	ties := make([]float32, rows*cols)
	for i := range ties {
		ties[i] = float32(i % 2)
	}
	out["ties"] = ties
	masked := make([]float32, rows*cols)
	for i := range masked {
		masked[i] = float32(rng.NormFloat64() * 3)
		if rng.IntN(3) == 0 {
			masked[i] = float32(math.Inf(-1))
		}
	}
	for j := 1; j < cols; j++ { // row 0 keeps only its first entry
		masked[j] = float32(math.Inf(-1))
	}
	out["masked"] = masked
	mixed := make([]float32, rows*cols)
	for i := range mixed {
		mixed[i] = float32(rng.Float64() * 1e-3)
		if i%cols == 0 {
			mixed[i] = 61.37 // every other entry ~e^-61 relative: the x−max rounding case
		}
	}
	out["tiny-beside-max"] = mixed
	return out
}

func TestAccuracy32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var colsList []int
	for c := 1; c <= 65; c++ {
		colsList = append(colsList, c)
	}
	colsList = append(colsList, 100, 1000, 4099)
	if !testing.Short() {
		colsList = append(colsList, 70001)
	}
	for _, cols := range colsList {
		rows := 3
		if cols > 5000 {
			rows = 1
		}
		for name, x := range adversarial(rng, rows, cols) {
			for _, temp := range []float64{1, 0.5, 3} {
				check32(t, fmt.Sprintf("cols=%d %s T=%v", cols, name, temp), x, cols, temp)
			}
		}
	}
}

func TestAccuracy64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, cols := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 1000, 70001} {
		for name, x32 := range adversarial(rng, 2, cols) {
			x := make([]float64, len(x32))
			for i, v := range x32 {
				x[i] = float64(v) * (1 + rng.Float64()*1e-9)
			}
			p := make([]float64, len(x))
			lp := make([]float64, len(x))
			ls := make([]float64, 2)
			for _, f := range []error{Softmax(p, x, cols), LogSoftmax(lp, x, cols), LogSumExp(ls, x, cols)} {
				if f != nil {
					t.Fatal(f)
				}
			}
			for r := 0; r < 2; r++ {
				wp, wlp, wls := ref(x[r*cols:(r+1)*cols], 1)
				m := math.Inf(-1)
				for _, v := range x[r*cols : (r+1)*cols] {
					m = max(m, v)
				}
				for j := 0; j < cols; j++ {
					i := r*cols + j
					z := math.Abs(x[i] - m)
					if wp[j] > 1e-300 && math.Abs(p[i]-wp[j]) > (8+float64(cols)+2*z)*0x1p-53*wp[j] {
						t.Fatalf("cols=%d %s [%d,%d]: softmax %v, want %v", cols, name, r, j, p[i], wp[j])
					}
					if !math.IsInf(wlp[j], -1) && math.Abs(lp[i]-wlp[j]) > (8+float64(cols))*0x1p-53*max(1, math.Abs(wlp[j])) {
						t.Fatalf("cols=%d %s [%d,%d]: log-softmax %v, want %v", cols, name, r, j, lp[i], wlp[j])
					}
				}
				if math.Abs(ls[r]-wls) > (8+float64(cols))*0x1p-53*max(1, math.Abs(wls)) {
					t.Fatalf("cols=%d %s row %d: lse %v, want %v", cols, name, r, ls[r], wls)
				}
			}
		}
	}
}

func TestSpecialRows(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x := []float32{
		-inf, -inf, -inf, // all masked
		1, nan, 2, // NaN
		1, inf, 2, // +Inf
		-inf, 3, -inf, // one survivor
	}
	p := make([]float32, len(x))
	lp := make([]float32, len(x))
	ls := make([]float32, 4)
	if err := Softmax(p, x, 3); err != nil {
		t.Fatal(err)
	}
	if err := LogSoftmax(lp, x, 3); err != nil {
		t.Fatal(err)
	}
	if err := LogSumExp(ls, x, 3); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 3; j++ {
		if p[j] != 0 || !math.IsInf(float64(lp[j]), -1) {
			t.Errorf("all-masked row: p=%v logp=%v", p[j], lp[j])
		}
		for _, r := range []int{1, 2} {
			if !math.IsNaN(float64(p[r*3+j])) || !math.IsNaN(float64(lp[r*3+j])) {
				t.Errorf("row %d: p=%v logp=%v, want NaN", r, p[r*3+j], lp[r*3+j])
			}
		}
	}
	if !math.IsInf(float64(ls[0]), -1) || !math.IsNaN(float64(ls[1])) || !math.IsInf(float64(ls[2]), 1) || ls[3] != 3 {
		t.Errorf("lse = %v", ls)
	}
	if p[9] != 0 || p[10] != 1 || p[11] != 0 || lp[10] != 0 || !math.IsInf(float64(lp[9]), -1) {
		t.Errorf("single survivor: p=%v logp=%v", p[9:], lp[9:])
	}
}

func TestErrors(t *testing.T) {
	x := make([]float32, 6)
	cases := []struct {
		name string
		err  error
	}{
		{"cols=0", Softmax(x, x, 0)},
		{"cols<0", LogSoftmax(x, x, -1)},
		{"ragged", Softmax(make([]float32, 6), make([]float32, 6), 4)},
		{"short dst", Softmax(make([]float32, 5), x, 3)},
		{"lse dst", LogSumExp(make([]float32, 3), x, 3)},
		{"overlap", Softmax(x[1:], x[:5], 5)},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrShape) {
			t.Errorf("%s: err = %v, want ErrShape", c.name, c.err)
		}
	}
	for _, temp := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := Softmax(x, x, 3, Temperature(temp)); err == nil {
			t.Errorf("temperature %v accepted", temp)
		}
	}
	if err := Softmax([]float32{}, []float32{}, 3); err != nil {
		t.Errorf("empty matrix: %v", err)
	}
}

// TestDeterministic checks bit-identical results for every thread count,
// including the split path of long rows, and in place against out of place.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][2]int{{1, 200003}, {3, 70000}, {37, 1000}, {1000, 3}} {
		rows, cols := shape[0], shape[1]
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
		}
		for o := opSoftmax; o <= opLogSumExp; o++ {
			var want []float32
			for _, th := range []int{1, 2, 3, 8} {
				n := len(x)
				if o == opLogSumExp {
					n = rows
				}
				got := make([]float32, n)
				if err := apply(o, got, x, cols, []Option{Threads(th)}); err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = got
					continue
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%d threads=%d: element %d differs", opNames[o], rows, cols, th, i)
					}
				}
			}
			if o != opLogSumExp {
				in := append([]float32(nil), x...)
				if err := apply(o, in, in, cols, []Option{Threads(2)}); err != nil {
					t.Fatal(err)
				}
				for i := range in {
					if math.Float32bits(in[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s in place: element %d differs (%v vs %v)", opNames[o], i, in[i], want[i])
					}
				}
			}
		}
	}
}

func TestState(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	x := make([]float32, 30011)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*20 - 5)
	}
	x[17] = float32(math.Inf(-1))
	whole, err := Reduce(x)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, len(x))
	for i, v := range x {
		row[i] = float64(v)
	}
	_, _, want := ref(row, 1)
	if math.Abs(whole.LogSumExp()-want) > 1e-12*math.Abs(want) {
		t.Fatalf("Reduce: lse %v, want %v", whole.LogSumExp(), want)
	}
	// Three uneven shards merged in two orders.
	cuts := []int{0, 5, 20000, len(x)}
	var parts []State
	for i := 0; i+1 < len(cuts); i++ {
		s, _ := Reduce(x[cuts[i]:cuts[i+1]])
		parts = append(parts, s)
	}
	a := parts[0].Merge(parts[1]).Merge(parts[2])
	b := parts[2].Merge(parts[0].Merge(parts[1]))
	for _, s := range []State{a, b} {
		if math.Abs(s.LogSumExp()-want) > 1e-12*math.Abs(want) {
			t.Fatalf("merged lse %v, want %v", s.LogSumExp(), want)
		}
	}
	var zero State
	if zero.Merge(a) != a || a.Merge(zero) != a || !math.IsInf(zero.LogSumExp(), -1) {
		t.Fatal("the zero State is not the identity")
	}
	masked, _ := Reduce([]float32{float32(math.Inf(-1))})
	if masked.Sum != 0 || !math.IsInf(masked.LogSumExp(), -1) {
		t.Fatalf("masked state %v", masked)
	}
	nan, _ := Reduce([]float64{1, math.NaN()})
	if !math.IsNaN(nan.Merge(a).LogSumExp()) || !math.IsNaN(a.Merge(nan).LogSumExp()) {
		t.Fatal("NaN state does not propagate")
	}
	pinf, _ := Reduce([]float64{1, math.Inf(1)})
	if !math.IsInf(pinf.Merge(pinf).LogSumExp(), 1) || !math.IsInf(a.Merge(pinf).LogSumExp(), 1) {
		t.Fatal("+Inf state")
	}
	// Temperature: the state of x/T.
	st, _ := Reduce([]float64{1, 2, 3}, Temperature(2))
	if w := math.Log(math.Exp(0.5) + math.Exp(1) + math.Exp(1.5)); math.Abs(st.LogSumExp()-w) > 1e-15 {
		t.Fatalf("tempered state %v, want %v", st.LogSumExp(), w)
	}
}

func TestGolden(t *testing.T) {
	cases, err := golden.Load("softmax.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		x, err := golden.Floats(c.Inputs["x"])
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := golden.Int(c.Inputs["cols"])
		wp, _ := golden.Floats(c.Expect["softmax"])
		wlp, _ := golden.Floats(c.Expect["log_softmax"])
		wls, _ := golden.Floats(c.Expect["logsumexp"])
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		p := make([]float32, len(x))
		lp := make([]float32, len(x))
		ls := make([]float32, len(x)/cols)
		if Softmax(p, x32, cols) != nil || LogSoftmax(lp, x32, cols) != nil || LogSumExp(ls, x32, cols) != nil {
			t.Fatal(c.Name)
		}
		for i := range x {
			if wp[i] >= 1e-30 && math.Abs(float64(p[i])-wp[i]) > 2e-6*wp[i] || wp[i] < 1e-30 && math.Abs(float64(p[i])-wp[i]) > 1e-36 {
				t.Errorf("%s [%d]: softmax %v, want %v", c.Name, i, p[i], wp[i])
			}
			if math.IsInf(wlp[i], -1) != math.IsInf(float64(lp[i]), -1) ||
				!math.IsInf(wlp[i], -1) && math.Abs(float64(lp[i])-wlp[i]) > 2e-6*max(1, math.Abs(wlp[i])) {
				t.Errorf("%s [%d]: log-softmax %v, want %v", c.Name, i, lp[i], wlp[i])
			}
		}
		for r := range ls {
			if math.Abs(float64(ls[r])-wls[r]) > 2*ulp32(wls[r])+1e-6 {
				t.Errorf("%s row %d: lse %v, want %v", c.Name, r, ls[r], wls[r])
			}
		}
		// float64 path on the same inputs.
		p64 := make([]float64, len(x))
		if err := Softmax(p64, x, cols); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if math.Abs(p64[i]-wp[i]) > 1e-12*wp[i]+1e-300 {
				t.Errorf("%s [%d]: float64 softmax %v, want %v", c.Name, i, p64[i], wp[i])
			}
		}
	}
}
