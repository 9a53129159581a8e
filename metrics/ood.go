package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// scorePass runs a label-free pass over a logit matrix and returns the
// per-row numbers that want (given the result slice) asks out to fill.
func scorePass[T Float](fn string, logits []T, cols int, opts []Option, out rowOut, want func(o *rowOut, dst []float64)) ([]float64, error) {
	cfg, err := configure(fn, opts)
	if err != nil {
		return nil, err
	}
	rows, err := checkShape(fn, len(logits), cols, nil, false)
	if err != nil {
		return nil, err
	}
	dst := make([]float64, rows)
	want(&out, dst)
	if err := logitPass(fn, logits, cols, nil, &out, cfg.threads); err != nil {
		return nil, err
	}
	return dst, nil
}

// MSP returns the maximum softmax probability of every row,
// max_j p_j = 1/Σ_j exp(z_j − max z) (Hendrycks & Gimpel 2017), a score
// that is higher for in-distribution inputs. Relative error ≤ 1e-6 for
// float32 logits.
func MSP[T Float](logits []T, cols int, opts ...Option) ([]float64, error) {
	return scorePass("MSP", logits, cols, opts, rowOut{}, func(o *rowOut, d []float64) { o.conf = d })
}

// MaxLogit returns max_j z_j of every row (Hendrycks et al. 2022), higher
// for in-distribution inputs. Exact.
func MaxLogit[T Float](logits []T, cols int, opts ...Option) ([]float64, error) {
	return scorePass("MaxLogit", logits, cols, opts, rowOut{}, func(o *rowOut, d []float64) { o.maxLog = d })
}

// Energy returns the free energy of every row at temperature t > 0 (Liu et
// al. 2020),
//
//	E(z) = −t·LSE(z/t) = −t·(max z/t + log Σ_j exp((z_j − max z)/t)),
//
// which is lower for in-distribution inputs: pass −E to AUROC. Absolute
// error ≤ 2e-6·max(1, |E|) for float32 logits.
func Energy[T Float](logits []T, cols int, t float64, opts ...Option) ([]float64, error) {
	if !(t > 0) || math.IsInf(t, 1) {
		return nil, fmt.Errorf("metrics.Energy: temperature %v, want a positive finite number: %w", t, ErrValue)
	}
	e, err := scorePass("Energy", logits, cols, opts, rowOut{invTemp: 1 / t}, func(o *rowOut, d []float64) { o.lse = d })
	if err != nil {
		return nil, err
	}
	for i, v := range e {
		e[i] = -t * v
	}
	return e, nil
}

func checkScores(fn, what string, s []float64) error {
	if len(s) == 0 {
		return fmt.Errorf("metrics.%s: no %s scores: %w", fn, what, ErrEmpty)
	}
	for i, v := range s {
		if math.IsNaN(v) {
			return fmt.Errorf("metrics.%s: %s score %d is NaN: %w", fn, what, i, ErrValue)
		}
	}
	return nil
}

// AUROC is the area under the ROC curve of a score that should be higher
// for positives (pos; e.g. in-distribution inputs) than for negatives
// (neg): the Mann–Whitney probability
//
//	AUROC = P(s⁺ > s⁻) + ½·P(s⁺ = s⁻)
//
// over all pairs, so tied scores count one half — the area under the ROC
// curve drawn with its diagonal steps through tied groups. It is computed
// from integer counts after sorting (O((n⁺+n⁻) log(n⁺+n⁻))), exactly but
// for the final division as long as n⁺·n⁻ < 2⁵¹. ±Inf scores are
// allowed, NaN is an error.
func AUROC(pos, neg []float64) (float64, error) {
	if err := checkScores("AUROC", "positive", pos); err != nil {
		return 0, err
	}
	if err := checkScores("AUROC", "negative", neg); err != nil {
		return 0, err
	}
	p, n := slices.Clone(pos), slices.Clone(neg)
	slices.Sort(p)
	slices.Sort(n)
	// For every group of a equal positive scores v, add a·(2·#{neg < v} +
	// #{neg = v}): twice the pairs it wins plus the pairs it ties.
	var num2 uint64
	j := 0
	for i := 0; i < len(p); {
		v := p[i]
		a := 0
		for i < len(p) && p[i] == v {
			a++
			i++
		}
		for j < len(n) && n[j] < v {
			j++
		}
		ties := 0
		for k := j; k < len(n) && n[k] == v; k++ {
			ties++
		}
		num2 += uint64(a) * uint64(2*j+ties)
	}
	return float64(num2) / (2 * float64(len(p)) * float64(len(n))), nil
}

// FPRAtTPR returns the false-positive rate at the largest threshold t
// whose true-positive rate #{pos ≥ t}/n⁺ is at least tpr (0 < tpr ≤ 1),
// with FPR = #{neg ≥ t}/n⁻, and that threshold — the usual "FPR at 95%
// TPR" of OOD detection with tpr = 0.95 (the first ROC point reaching the
// rate; no interpolation). Positives are the class the score should rank
// higher. Exact counts.
func FPRAtTPR(pos, neg []float64, tpr float64) (fpr, threshold float64, err error) {
	if !(tpr > 0 && tpr <= 1) {
		return 0, 0, fmt.Errorf("metrics.FPRAtTPR: rate %v, want 0 < tpr ≤ 1: %w", tpr, ErrValue)
	}
	if err := checkScores("FPRAtTPR", "positive", pos); err != nil {
		return 0, 0, err
	}
	if err := checkScores("FPRAtTPR", "negative", neg); err != nil {
		return 0, 0, err
	}
	p := slices.Clone(pos)
	slices.Sort(p)
	slices.Reverse(p)
	np := len(p)
	// Smallest count c with c/np ≥ tpr.
	c := int(math.Ceil(tpr * float64(np)))
	c = min(max(c, 1), np)
	for c > 1 && float64(c-1)/float64(np) >= tpr {
		c--
	}
	for c < np && float64(c)/float64(np) < tpr {
		c++
	}
	t := p[c-1]
	n := slices.Clone(neg)
	slices.Sort(n)
	below := sort.SearchFloat64s(n, t) // #neg < t
	return float64(len(n)-below) / float64(len(n)), t, nil
}
