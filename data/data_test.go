package data

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seqSet returns a set whose row i has features i, i+0.5, ... and label
// i mod classes, so that a row can be traced after shuffling.
func seqSet(rows, cols, classes int) Set {
	s := Set{Rows: rows, Cols: cols, Classes: classes, X: make([]float32, rows*cols), Y: make([]int32, rows)}
	for i := range rows {
		for j := range cols {
			s.X[i*cols+j] = float32(i) + float32(j)/2
		}
		s.Y[i] = int32(i % classes)
	}
	return s
}

func TestValidate(t *testing.T) {
	good := seqSet(4, 3, 2)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	named := good
	named.ClassNames = []string{"a", "b"}
	if err := named.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(s *Set){
		"short X":        func(s *Set) { s.X = s.X[:11] },
		"short Y":        func(s *Set) { s.Y = s.Y[:3] },
		"label too big":  func(s *Set) { s.Y[2] = 2 },
		"negative label": func(s *Set) { s.Y[1] = -1 },
		"names":          func(s *Set) { s.ClassNames = []string{"a"} },
		"negative rows":  func(s *Set) { s.Rows = -1 },
		"overflow":       func(s *Set) { s.Rows, s.Cols = math.MaxInt/2, 3 },
	}
	for name, spoil := range bad {
		s := good.Clone()
		spoil(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSubsetSplit(t *testing.T) {
	s := seqSet(5, 2, 3)
	for _, c := range []struct{ n, rows int }{{-1, 0}, {0, 0}, {3, 3}, {5, 5}, {9, 5}} {
		sub := s.Subset(c.n)
		if sub.Rows != c.rows || len(sub.X) != 2*c.rows || len(sub.Y) != c.rows || sub.Validate() != nil {
			t.Errorf("Subset(%d): %d rows, len X %d", c.n, sub.Rows, len(sub.X))
		}
		head, tail := s.Split(c.n)
		if head.Rows != c.rows || tail.Rows != 5-c.rows || head.Validate() != nil || tail.Validate() != nil {
			t.Errorf("Split(%d): %d + %d rows", c.n, head.Rows, tail.Rows)
		}
		if tail.Rows > 0 && tail.X[0] != float32(c.rows) {
			t.Errorf("Split(%d): tail starts with %v", c.n, tail.X[0])
		}
	}
	// Appending to a subset must not overwrite the parent's next row.
	sub := s.Subset(2)
	sub.X = append(sub.X, -1)
	sub.Y = append(sub.Y, -1)
	if s.X[4] != 2 || s.Y[2] != 2 {
		t.Errorf("append to a subset changed the parent: %v %v", s.X[4], s.Y[2])
	}
	if r := s.Row(3); !reflect.DeepEqual(r, []float32{3, 3.5}) {
		t.Errorf("Row(3) = %v", r)
	}
}

func TestSelectShuffle(t *testing.T) {
	s := seqSet(50, 3, 4)
	orig := s.Clone()
	sh := s.Shuffle(7)
	if !reflect.DeepEqual(s, orig) {
		t.Fatal("Shuffle modified its receiver")
	}
	if err := sh.Validate(); err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, 50)
	moved := 0
	for r := range 50 {
		i := int(sh.Row(r)[0])
		if seen[i] {
			t.Fatalf("row %d appears twice", i)
		}
		seen[i] = true
		if !reflect.DeepEqual(sh.Row(r), s.Row(i)) || sh.Y[r] != s.Y[i] {
			t.Fatalf("shuffled row %d does not match original row %d", r, i)
		}
		if i != r {
			moved++
		}
	}
	if moved < 40 {
		t.Errorf("only %d of 50 rows moved", moved)
	}
	if again := s.Shuffle(7); !reflect.DeepEqual(again, sh) {
		t.Error("the same seed gave a different order")
	}
	if other := s.Shuffle(8); reflect.DeepEqual(other.Y, sh.Y) && reflect.DeepEqual(other.X, sh.X) {
		t.Error("seeds 7 and 8 gave the same order")
	}
	if _, err := s.Select([]int{0, 50}); err == nil || !strings.Contains(err.Error(), "index 50") {
		t.Errorf("Select out of range: %v", err)
	}
	sel, err := s.Select([]int{3, 3, 0})
	if err != nil || sel.Rows != 3 || sel.X[0] != 3 || sel.X[3] != 3 || sel.X[6] != 0 || sel.Y[2] != 0 {
		t.Errorf("Select: %+v %v", sel, err)
	}
	empty := Set{}.Shuffle(1)
	if empty.Rows != 0 || empty.Validate() != nil {
		t.Errorf("shuffle of an empty set: %+v", empty)
	}
}

func TestPermUniform(t *testing.T) {
	for n := range 30 {
		p := Perm(n, uint64(n))
		q := slices.Clone(p)
		slices.Sort(q)
		for i := range q {
			if q[i] != i {
				t.Fatalf("Perm(%d) = %v is not a permutation", n, p)
			}
		}
	}
	// The 6 orders of 3 elements come out equally often: 6000 draws give
	// each 1000 ± 3 standard deviations (√(6000·(1/6)·(5/6)) ≈ 29).
	counts := map[[3]int]int{}
	for seed := range uint64(6000) {
		p := Perm(3, seed)
		counts[[3]int(p)]++
	}
	if len(counts) != 6 {
		t.Fatalf("%d distinct orders: %v", len(counts), counts)
	}
	for p, c := range counts {
		if c < 1000-90 || c > 1000+90 {
			t.Errorf("order %v drawn %d times of 6000", p, c)
		}
	}
	if len(Perm(-3, 1)) != 0 {
		t.Error("Perm of a negative length is not empty")
	}
}

func TestScaler(t *testing.T) {
	// Column 0: 1, 3, 5, 7 (mean 4, population std √5); column 1 constant.
	train := Set{Rows: 4, Cols: 2, X: []float32{1, 9, 3, 9, 5, 9, 7, 9}, Y: make([]int32, 4), Classes: 1}
	test := Set{Rows: 1, Cols: 2, X: []float32{4 + 2*float32(math.Sqrt(5)), 10}, Y: make([]int32, 1), Classes: 1}
	sc, err := FitScaler(train)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Mean[0] != 4 || math.Abs(sc.Std[0]-math.Sqrt(5)) > 1e-15 || sc.Mean[1] != 9 || sc.Std[1] != 1 {
		t.Fatalf("scaler %+v", sc)
	}
	if err := sc.Apply(train); err != nil {
		t.Fatal(err)
	}
	if err := sc.Apply(test); err != nil {
		t.Fatal(err)
	}
	r5 := 1 / math.Sqrt(5)
	want := []float64{-3 * r5, 0, -r5, 0, r5, 0, 3 * r5, 0}
	for i, v := range train.X {
		if math.Abs(float64(v)-want[i]) > 1e-6 {
			t.Errorf("train X[%d] = %v, want %v", i, v, want[i])
		}
	}
	if math.Abs(float64(test.X[0])-2) > 1e-6 || test.X[1] != 1 {
		t.Errorf("test X = %v, want [2 1]", test.X)
	}
	// Larger data: every column ends with mean 0 and std 1.
	s := seqSet(1000, 5, 3)
	for i := range s.X {
		s.X[i] = s.X[i]*s.X[i]*0.01 + float32(i%7)
	}
	sc, _ = FitScaler(s)
	sc.Apply(s)
	for j := range 5 {
		var m, v float64
		for i := range 1000 {
			m += float64(s.X[i*5+j])
		}
		m /= 1000
		for i := range 1000 {
			d := float64(s.X[i*5+j]) - m
			v += d * d
		}
		if math.Abs(m) > 1e-5 || math.Abs(math.Sqrt(v/1000)-1) > 1e-5 {
			t.Errorf("column %d: mean %v, std %v after scaling", j, m, math.Sqrt(v/1000))
		}
	}
	if err := sc.Apply(train); err == nil {
		t.Error("no error for a column mismatch")
	}
	if _, err := FitScaler(Set{Cols: 3}); err == nil {
		t.Error("no error for fitting on no rows")
	}
	if _, err := FitScaler(Set{Rows: 2, Cols: 3, X: make([]float32, 5)}); err == nil {
		t.Error("no error for an inconsistent set")
	}
}
