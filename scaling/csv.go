package scaling

import (
	"errors"
	"fmt"
	"github.com/xentlab/xent/internal/csvlines"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/clip"
)

// ErrSyntax is wrapped by errors about the text of a curve file.
var ErrSyntax = errors.New("bad curve file")

// Curve is a loss curve read by ReadCurve: either a training curve (X the
// steps, LR the learning rates if the file has them) or a size sweep (X
// the sizes N).
type Curve struct {
	XName string    // "step" or "n", as in the header
	X     []float64 // steps (integers ≥ 0, increasing) or sizes (> 0)
	Loss  []float64
	LR    []float64 // nil without an lr column
}

// ReadCurve reads a CSV curve with a header line naming its columns:
//
//	step,loss        a training curve
//	step,loss,lr     a training curve with the learning rate at each step
//	n,loss           losses at sizes (parameters, tokens, compute)
//
// Names are case-insensitive; spaces around fields are ignored, as are
// blank lines and lines starting with '#'. Steps must be integers ≥ 0 and
// strictly increasing; sizes finite and > 0; losses finite; learning
// rates finite and ≥ 0. Every error names the line.
func ReadCurve(r io.Reader) (*Curve, error) {
	var c *Curve
	line := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("scaling.ReadCurve: line %d: %s: %w", line, fmt.Sprintf(format, args...), ErrSyntax)
	}
	err := csvlines.Each(r, func(n int, fields []string) error {
		line = n
		if c == nil {
			var err error
			if c, err = header(fields); err != nil {
				return fail("%v", err)
			}
			return nil
		}
		want := 2
		if c.LR != nil {
			want = 3
		}
		if len(fields) != want {
			return fail("%d fields, want %d", len(fields), want)
		}
		x, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return fail("%s %s is not a number", c.XName, clip.Quote(fields[0]))
		}
		if c.XName == "step" {
			if !(x >= 0) || x != math.Trunc(x) || x > 1<<53 {
				return fail("step %s is not an integer ≥ 0", clip.Quote(fields[0]))
			}
			if k := len(c.X); k > 0 && x <= c.X[k-1] {
				return fail("step %v does not follow step %v", x, c.X[k-1])
			}
		} else if !(x > 0) || math.IsInf(x, 1) {
			return fail("n %s is not a finite number > 0", clip.Quote(fields[0]))
		}
		loss, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fail("loss %s is not a finite number", clip.Quote(fields[1]))
		}
		c.X = append(c.X, x)
		c.Loss = append(c.Loss, loss)
		if c.LR != nil {
			lr, err := strconv.ParseFloat(fields[2], 64)
			if err != nil || !(lr >= 0) || math.IsInf(lr, 1) {
				return fail("lr %s is not a finite number ≥ 0", clip.Quote(fields[2]))
			}
			c.LR = append(c.LR, lr)
		}
		return nil
	})
	var le *csvlines.LineError
	switch {
	case errors.As(err, &le) && errors.Is(le.Err, csvlines.ErrTooLong):
		line = le.Line
		return nil, fail("line longer than 1 MiB")
	case errors.As(err, &le):
		return nil, fmt.Errorf("scaling.ReadCurve: line %d: %w", le.Line, le.Err)
	case err != nil:
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("scaling.ReadCurve: no header line (step,loss[,lr] or n,loss): %w", ErrSyntax)
	}
	if len(c.X) == 0 {
		return nil, fmt.Errorf("scaling.ReadCurve: no data after the header: %w", ErrSyntax)
	}
	return c, nil
}

func header(f []string) (*Curve, error) {
	names := strings.ToLower(strings.Join(f, ","))
	switch names {
	case "step,loss":
		return &Curve{XName: "step"}, nil
	case "step,loss,lr":
		return &Curve{XName: "step", LR: []float64{}}, nil
	case "n,loss":
		return &Curve{XName: "n"}, nil
	}
	return nil, fmt.Errorf("header %s, want step,loss or step,loss,lr or n,loss", clip.Quote(strings.Join(f, ",")))
}

// Steps returns the steps of a training curve as ints.
func (c *Curve) Steps() ([]int, error) {
	if c.XName != "step" {
		return nil, fmt.Errorf("scaling.Curve.Steps: the curve's first column is %q, not step: %w", c.XName, ErrShape)
	}
	s := make([]int, len(c.X))
	for i, v := range c.X {
		s[i] = int(v)
	}
	return s, nil
}

// maxSteps bounds the schedule Schedule builds (800 MB of float64).
const maxSteps = 100_000_000

// Schedule returns the learning rate of every step 1 … last step of a
// training curve with an lr column, for FitAnnealing: the logged rates,
// linearly interpolated between logged steps and held constant before
// the first one. It is exact when the schedule is linear between the
// logged steps (every step logged, or a piecewise-linear schedule logged
// at its corners). The last step may be at most 10⁸.
func (c *Curve) Schedule() ([]float64, error) {
	if c.XName != "step" || c.LR == nil {
		return nil, fmt.Errorf("scaling.Curve.Schedule: the curve has no step and lr columns: %w", ErrShape)
	}
	last := int(c.X[len(c.X)-1])
	if last > maxSteps {
		return nil, fmt.Errorf("scaling.Curve.Schedule: last step %d above %d: %w", last, maxSteps, ErrValue)
	}
	lr := make([]float64, last)
	j := 0
	for s := 1; s <= last; s++ {
		for j+1 < len(c.X) && c.X[j+1] <= float64(s) {
			j++
		}
		x0, y0 := c.X[j], c.LR[j]
		switch {
		case float64(s) <= x0:
			lr[s-1] = y0
		case j+1 < len(c.X):
			x1, y1 := c.X[j+1], c.LR[j+1]
			lr[s-1] = y0 + (y1-y0)*(float64(s)-x0)/(x1-x0)
		default:
			lr[s-1] = y0
		}
	}
	return lr, nil
}
