package loss

import (
	"fmt"
	"math"
)

// nameMft is the registry name of this file's loss.
const nameMft = "mft"

// MFT is MFTCoder's task-balanced reduction of token-level cross-entropy
// (Liu et al., "MFTCoder: Boosting Code LLMs with Multitask Fine-Tuning",
// 2023, arXiv:2311.02303; catalog A28), so that tasks with more or longer
// samples do not dominate multi-task fine-tuning. Each row of the logits
// is one token with its label (Labels or Labels64; the ignore index marks
// tokens that do not count), and ForBatch gives each token its sample and
// the sample's task. With ℓ_t the token's cross-entropy (with the options
// of CrossEntropy), T_s the counted tokens of sample s, T_τ those of task
// τ, S_τ the samples of τ with counted tokens and w_τ the task weights
// (WithTaskWeights; default all 1), summed to W over the tasks present:
//
//	mode 1:  Σ_t ℓ_t / Σ_s T_s                            (global token mean)
//	mode 2:  mean_s ( Σ_{t∈s} ℓ_t / T_s )                 (sample mean)
//	mode 3:  Σ_τ w_τ·( Σ_{t∈τ} ℓ_t / T_τ ) / W            (task-level token mean; the default)
//	mode 4:  Σ_τ w_τ·mean_{s∈τ}( Σ_{t∈s} ℓ_t / T_s ) / W  (task-level sample mean)
//
// Every mode is linear in the token losses: the loss is Σ_t c_t·ℓ_t with
// coefficients c_t that depend only on the labels and ids
// (MFTCoefficients), and its gradient is c_t·∂ℓ_t/∂z_t, computed in one
// pass as cross-entropy with row weights c_t.
//
// MFT is itself the reduction: only Mean (the default) is accepted, and
// Output.Rows, if set, receives each token's share c_t·ℓ_t (they add up
// to the loss). Without ForBatch every row is one sample of one task, and
// all modes are the token mean. Row weights are not accepted.
//
// Differences from the official loss_func_mft: samples and tasks with no
// counted token are left out of the means (the official code divides by
// zero there); tokens are rows of a matrix rather than a padded
// [batch, length] layout, so padding is simply absent or ignored. The
// CoBa weighting (mode "coba") is case 3 with task weights a caller
// updates between steps.
//
// Accuracy: that of CrossEntropy per token; sums in float64.
type MFT struct {
	mode           int
	ce             *CrossEntropy
	samples, tasks []int32
	weights        []float64
}

// NewMFT returns the MFT reduction of cross-entropy in mode 1, 2, 3 or 4.
func NewMFT(mode int, opts ...Option) (*MFT, error) {
	const name = nameMft
	o, err := build(name, opts)
	if err != nil {
		return nil, err
	}
	if o.Reduction != Mean {
		return nil, valueErr(name, "reduction %v: MFT is the reduction (use mean, with Output.Rows for each token's share)", o.Reduction)
	}
	if mode < 1 || mode > 4 {
		return nil, valueErr(name, "mode %d, want 1, 2, 3 or 4", mode)
	}
	ce, err := NewCrossEntropy(ForCrossEntropy(append(opts[:len(opts):len(opts)], WithReduction(Sum))...)...)
	if err != nil {
		return nil, fmt.Errorf("mft: %w", err)
	}
	return &MFT{mode: mode, ce: ce}, nil
}

// ForBatch returns a copy of m that reads each row's sample id and task
// id (task ids ≥ 0; every row of a sample must have the same task). Nil
// samples: each task is one sample; nil tasks: one task. The slices are
// read at each Eval, not copied.
func (m *MFT) ForBatch(samples, tasks []int32) *MFT {
	c := *m
	c.samples, c.tasks = samples, tasks
	return &c
}

// WithTaskWeights returns a copy of m with one weight ≥ 0 per task id
// (task ids must then be below len(w)); nil restores equal weights.
func (m *MFT) WithTaskWeights(w []float64) *MFT {
	c := *m
	c.weights = w
	return &c
}

// Name returns "mft".
func (*MFT) Name() string { return nameMft }

// Eval32 evaluates the loss on float32 logits (Labels, Labels64 or
// Targets).
func (m *MFT) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalMFT(m, in, out, m.ce.Eval32)
}

// Eval64 evaluates the loss on float64 logits.
func (m *MFT) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalMFT(m, in, out, m.ce.Eval64)
}

func evalMFT[E exact](m *MFT, in Input[E], out Output[E], ce func(Input[E], Output[E]) (float64, error)) (float64, error) {
	const name = nameMft
	rows, err := checkMatrix(name, in, out, Mean)
	if err != nil {
		return 0, err
	}
	if in.RowWeights != nil {
		return 0, shapeErr(name, "row weights are not accepted (MFT sets its own per-token weights)")
	}
	if in.Targets == nil {
		if err := checkLabels(name, in, rows); err != nil {
			return 0, err
		}
	}
	valid := make([]bool, rows)
	for i := range valid {
		valid[i] = in.Targets != nil || labelAt(in, i) != m.ce.o.IgnoreIndex
	}
	coef := make([]float64, rows)
	if err := MFTCoefficients(m.mode, valid, m.samples, m.tasks, m.weights, coef); err != nil {
		return 0, err
	}
	cin := in
	cin.RowWeights = make([]E, rows)
	for i, c := range coef {
		cin.RowWeights[i] = E(c)
	}
	v, err := ce(cin, Output[E]{Grad: out.Grad, Rows: out.Rows, LSE: out.LSE})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// MFTCoefficients writes into coef the weight c_t of each token in the
// MFT loss Σ_t c_t·ℓ_t of the given mode (1–4, see MFT): valid marks the
// tokens that count (the others get 0), samples and tasks give each
// token's sample and task (nil: one sample per task, one task), and
// taskWeights one weight per task id (nil: equal). c_t is also ∂loss/∂ℓ_t.
// Errors: lengths, negative task ids or ids past taskWeights, a sample
// spread over two tasks, negative or non-finite weights.
func MFTCoefficients(mode int, valid []bool, samples, tasks []int32, taskWeights []float64, coef []float64) error {
	const name = nameMft
	n := len(valid)
	switch {
	case mode < 1 || mode > 4:
		return valueErr(name, "mode %d, want 1, 2, 3 or 4", mode)
	case samples != nil && len(samples) != n:
		return shapeErr(name, "len(samples) = %d, want %d (one per row)", len(samples), n)
	case tasks != nil && len(tasks) != n:
		return shapeErr(name, "len(tasks) = %d, want %d (one per row)", len(tasks), n)
	case len(coef) != n:
		return shapeErr(name, "len(coef) = %d, want %d (one per row)", len(coef), n)
	}
	for k, w := range taskWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return valueErr(name, "task weight %v at task %d, want a finite number ≥ 0", w, k)
		}
	}
	task := func(i int) int32 {
		if tasks == nil {
			return 0
		}
		return tasks[i]
	}
	// A sample is keyed by (task, id) so that nil samples means one per
	// task; a sample id seen under two tasks is an error.
	type key struct{ task, sample int32 }
	sampleOf := func(i int) key {
		if samples == nil {
			return key{task(i), 0}
		}
		return key{0, samples[i]}
	}
	sampleTask := map[key]int32{}
	tokS := map[key]int{}   // counted tokens per sample
	tokT := map[int32]int{} // counted tokens per task
	total := 0
	for i := 0; i < n; i++ {
		tk := task(i)
		if tk < 0 {
			return valueErr(name, "task id %d at row %d, want ≥ 0", tk, i)
		}
		if taskWeights != nil && int(tk) >= len(taskWeights) {
			return valueErr(name, "task id %d at row %d has no weight (%d task weights)", tk, i, len(taskWeights))
		}
		s := sampleOf(i)
		if t0, ok := sampleTask[s]; ok && t0 != tk {
			return valueErr(name, "sample %d has rows in tasks %d and %d (row %d)", s.sample, t0, tk, i)
		}
		sampleTask[s] = tk
		if valid[i] {
			tokS[s]++
			tokT[tk]++
			total++
		}
	}
	clear(coef)
	if total == 0 {
		return nil
	}
	w := func(tk int32) float64 {
		if taskWeights == nil {
			return 1
		}
		return taskWeights[tk]
	}
	nS := 0                  // samples with counted tokens
	sPerT := map[int32]int{} // such samples per task
	for s, c := range tokS {
		if c > 0 {
			nS++
			sPerT[sampleTask[s]]++
		}
	}
	var W float64
	for tk := range tokT {
		W += w(tk)
	}
	for i := 0; i < n; i++ {
		if !valid[i] {
			continue
		}
		tk, s := task(i), sampleOf(i)
		switch mode {
		case 1:
			coef[i] = 1 / float64(total)
		case 2:
			coef[i] = 1 / (float64(nS) * float64(tokS[s]))
		case 3:
			if W > 0 {
				coef[i] = w(tk) / (W * float64(tokT[tk]))
			}
		case 4:
			if W > 0 {
				coef[i] = w(tk) / (W * float64(sPerT[tk]) * float64(tokS[s]))
			}
		}
	}
	return nil
}

func init() {
	Register(Spec{
		Name:    nameMft,
		Catalog: "A28",
		Summary: "MFTCoder task-balanced token cross-entropy (1 token mean, 2 sample mean, 3 task token mean, 4 task sample mean)",
		Needs:   NeedsLabels | AcceptsSoftTargets,
		Params:  []Param{{"mode", 3, "reduction: 1, 2, 3 or 4 (official case1–case4)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			md := p["mode"]
			if md != math.Trunc(md) || md < 1 || md > 4 {
				return nil, valueErr(nameMft, "mode %v, want 1, 2, 3 or 4", md)
			}
			return NewMFT(int(md), opts...)
		},
	})
}
