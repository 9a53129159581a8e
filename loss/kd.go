package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// nameKd is the registry name of this file's loss.
const nameKd = "kd"

// KD is the distillation loss of Hinton et al.: the temperature-softened
// teacher distribution against the student's,
//
//	ℓ_i = r_i·T²·KL(softmax(t_i/T) ‖ softmax(s_i/T)) = r_i·T²·Σ_j q_j·(log q_j − log p_j)
//
// with s the student logits (Input.Logits), t the teacher logits
// (Input.Teacher), q = softmax(t/T), p = softmax(s/T). The gradient with
// respect to the student logits is r_i·T·(p − q). Mean is PyTorch's
// "batchmean": the sum divided by the number of rows (Σ r_i with row
// weights); Sum adds; None writes per-row values.
//
// Log-probabilities are computed max-shifted in float64; classes the
// teacher gives probability 0 (−Inf logits) add nothing. Accuracy: about
// 1e-12 relative per row. Errors: NaN or +Inf logits, and a −Inf student
// logit where the teacher's probability is positive (infinite loss).
type KD struct {
	o Options
	t float64
}

// NewKD returns the distillation loss at temperature t > 0 (Hinton's T;
// 1 gives the plain KL divergence).
func NewKD(t float64, opts ...Option) (*KD, error) {
	o, err := build(nameKd, opts)
	if err != nil {
		return nil, err
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, valueErr(nameKd, "temperature %v, want a positive finite number", t)
	}
	if o.ClassWeights != nil {
		return nil, valueErr(nameKd, "class weights do not apply")
	}
	return &KD{o, t}, nil
}

// Name returns "kd".
func (*KD) Name() string { return nameKd }

// Eval32 evaluates the loss on float32 logits.
func (k *KD) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalKD(k, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (k *KD) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalKD(k, in, out)
}

// logSoftmaxRow writes log softmax(x/T) into dst (float64) and reports
// the first column of a NaN or +Inf, or −1; an all −Inf row gives −Inf
// everywhere.
func logSoftmaxRow[E exact](dst []float64, x []E, t float64) int {
	m := math.Inf(-1)
	for j, v := range x {
		f := float64(v)
		if f != f || math.IsInf(f, 1) {
			return j
		}
		m = max(m, f)
	}
	if math.IsInf(m, -1) {
		for j := range dst {
			dst[j] = math.Inf(-1)
		}
		return -1
	}
	var s float64
	for j, v := range x {
		dst[j] = (float64(v) - m) / t
		s += math.Exp(dst[j])
	}
	ls := math.Log(s)
	for j := range dst {
		dst[j] -= ls
	}
	return -1
}

func evalKD[E exact](k *KD, in Input[E], out Output[E]) (float64, error) {
	const name = nameKd
	rows, err := checkMatrix(name, in, out, k.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case in.Labels != nil || in.Labels64 != nil || in.Targets != nil:
		return 0, shapeErr(name, "takes Teacher logits only (no labels, no targets)")
	case len(in.Teacher) != len(in.Logits):
		return 0, shapeErr(name, "len(Teacher) = %d, want %d (the shape of Logits)", len(in.Teacher), len(in.Logits))
	}
	var den float64
	for i := 0; i < rows; i++ {
		den += rowWeight(in, i)
	}
	sc := 1.0
	if k.o.Reduction == Mean {
		sc = 0
		if den > 0 {
			sc = 1 / den
		}
	}
	T := k.t
	grain := max(1, blockElems/cols)
	total, err := sumBlocks(rows, grain, par.Threads(k.o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		lp := make([]float64, cols)
		lq := make([]float64, cols)
		for i := lo; i < hi; i++ {
			s := in.Logits[i*cols : (i+1)*cols]
			t := in.Teacher[i*cols : (i+1)*cols]
			if j := logSoftmaxRow(lp, s, T); j >= 0 {
				return 0, valueErr(name, "student logit %v at row %d, column %d", s[j], i, j)
			}
			if j := logSoftmaxRow(lq, t, T); j >= 0 {
				return 0, valueErr(name, "teacher logit %v at row %d, column %d", t[j], i, j)
			}
			if math.IsInf(lq[0], -1) && math.IsInf(float64(t[0]), -1) && allNegInf(t) {
				return 0, valueErr(name, "teacher row %d is entirely −Inf (no distribution)", i)
			}
			r := rowWeight(in, i)
			var kl float64
			for j := range lp {
				q := math.Exp(lq[j])
				if q == 0 {
					continue
				}
				if math.IsInf(lp[j], -1) {
					return 0, valueErr(name, "student logit −Inf where the teacher has mass, row %d, column %d", i, j)
				}
				kl += q * (lq[j] - lp[j])
			}
			l := r * T * T * kl
			if f := float64(E(l)); math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, valueErr(name, "the loss overflows at row %d", i)
			}
			if out.Rows != nil {
				out.Rows[i] = E(l)
			}
			part += l
			if out.Grad != nil {
				g := out.Grad[i*cols : (i+1)*cols]
				for j := range g {
					g[j] = E(sc * r * T * (math.Exp(lp[j]) - math.Exp(lq[j])))
				}
				if j, bad := firstInfNaN(g); bad {
					return 0, valueErr(name, "the gradient overflows at row %d, column %d", i, j)
				}
			}
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

func allNegInf[E exact](x []E) bool {
	for _, v := range x {
		if !math.IsInf(float64(v), -1) {
			return false
		}
	}
	return true
}

func init() {
	Register(Spec{
		Name:    nameKd,
		Summary: "distillation: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batchmean",
		Needs:   NeedsTeacher,
		Params:  []Param{{"temperature", 1, "softening temperature T > 0"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewKD(p["temperature"], opts...)
		},
	})
}
