package scaling

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestReadCurve(t *testing.T) {
	c, err := ReadCurve(strings.NewReader("# a run\nStep, Loss, LR\n\n10,3.5,1e-3\r\n20, 3.1 ,0.0009\n# done\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.XName != "step" || !slices.Equal(c.X, []float64{10, 20}) || !slices.Equal(c.Loss, []float64{3.5, 3.1}) ||
		!slices.Equal(c.LR, []float64{1e-3, 9e-4}) {
		t.Errorf("curve %+v", c)
	}
	steps, _ := c.Steps()
	if !slices.Equal(steps, []int{10, 20}) {
		t.Errorf("steps %v", steps)
	}
	lr, err := c.Schedule()
	if err != nil || len(lr) != 20 || lr[0] != 1e-3 || lr[9] != 1e-3 || math.Abs(lr[14]-9.5e-4) > 1e-18 || lr[19] != 9e-4 {
		t.Errorf("schedule %v, %v", lr, err)
	}
	c, err = ReadCurve(strings.NewReader("n,loss\n1e6,4.2\n1e7,3.9\n"))
	if err != nil || c.XName != "n" || c.LR != nil || c.X[1] != 1e7 {
		t.Errorf("size sweep %+v, %v", c, err)
	}
	if _, err := c.Schedule(); !errors.Is(err, ErrShape) {
		t.Errorf("schedule of a sweep: %v", err)
	}
}

func TestReadCurveErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "no header"},
		{"# only comments\n", "no header"},
		{"step,loss\n", "no data"},
		{"x,y\n1,2\n", "line 1: header"},
		{"step,loss\n1,2\n2,3,4\n", "line 3: 3 fields"},
		{"step,loss\n1,2\n1,3\n", "line 3: step 1 does not follow"},
		{"step,loss\n1.5,2\n", "line 2: step"},
		{"step,loss\n-1,2\n", "line 2: step"},
		{"step,loss\n\n\n4,NaN\n", "line 4: loss"},
		{"step,loss\n4,inf\n", "line 2: loss"},
		{"n,loss\n0,2\n", "line 2: n"},
		{"n,loss\nabc,2\n", "line 2: n"},
		{"step,loss,lr\n1,2,-1\n", "line 2: lr"},
		{"step,loss,lr\n1,2\n", "line 2: 2 fields"},
		{"step,loss\n1,2\n" + strings.Repeat("9", 2<<20) + "\n", "line 3: line longer"},
	} {
		_, err := ReadCurve(strings.NewReader(c.text))
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: err = %v, want %q", c.text, err, c.want)
		}
	}
}

// FuzzReadCurve: any input gives an error or a curve that keeps the
// documented invariants; nothing panics.
func FuzzReadCurve(f *testing.F) {
	for _, s := range []string{"step,loss\n1,2\n", "step,loss,lr\n1,2,0.1\n5,1.5,0\n", "n,loss\n1e9,2\n", "# c\nN,LOSS\n3,4\n", "step,loss\n1,2\n1,2\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ReadCurve(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "scaling.ReadCurve") {
				t.Fatalf("error %v is not a ReadCurve syntax error", err)
			}
			return
		}
		if len(c.X) == 0 || len(c.X) != len(c.Loss) || (c.LR != nil && len(c.LR) != len(c.X)) {
			t.Fatalf("lengths %d %d %d", len(c.X), len(c.Loss), len(c.LR))
		}
		for i, x := range c.X {
			if math.IsNaN(c.Loss[i]) || math.IsInf(c.Loss[i], 0) {
				t.Fatalf("loss %v", c.Loss[i])
			}
			switch c.XName {
			case "step":
				if x < 0 || x != math.Trunc(x) || (i > 0 && x <= c.X[i-1]) {
					t.Fatalf("steps %v", c.X)
				}
			case "n":
				if !(x > 0) || math.IsInf(x, 0) {
					t.Fatalf("n %v", x)
				}
			default:
				t.Fatalf("x name %q", c.XName)
			}
		}
		if c.LR != nil && c.X[len(c.X)-1] <= 1e5 {
			lr, err := c.Schedule()
			if err != nil || len(lr) != int(c.X[len(c.X)-1]) {
				t.Fatalf("schedule: %d rates, %v", len(lr), err)
			}
			for _, v := range lr {
				if !(v >= 0) || math.IsInf(v, 0) {
					t.Fatalf("schedule rate %v", v)
				}
			}
		}
	})
}
