package metrics

import (
	"fmt"
	"math"
)

// PassAtK is the unbiased estimator of pass@k from n samples of which c
// are correct (Chen et al. 2021, "Evaluating Large Language Models
// Trained on Code"): the probability that a random k-subset of the n
// samples holds at least one correct one,
//
//	pass@k = 1 − C(n−c, k)/C(n, k) = 1 − Π_{i=0}^{m−1} (1 − t/(n−i)),  m = min(c, k), t = max(c, k)
//
// (the ratio is symmetric in c and k), which is 1 when n − c < k. The
// product is evaluated in log space as −expm1(Σ log1p(−t/(n−i))), so no
// binomial coefficient is formed and the result keeps full relative
// precision even when it is tiny; the error is about (min(c, k) + 2) ulp.
// The partial sums only decrease, and once one is below −40 the result
// rounds to 1, so the loop stops there: the cost is O(min(c, k, 40·n/max(c, k)))
// ≤ O(√(40·n)) terms, whatever n, c and k. It needs 1 ≤ k ≤ n and
// 0 ≤ c ≤ n.
func PassAtK(n, c, k int) (float64, error) {
	if n < 1 || c < 0 || c > n || k < 1 || k > n {
		return 0, fmt.Errorf("metrics.PassAtK: n = %d, c = %d, k = %d, want 1 ≤ k ≤ n and 0 ≤ c ≤ n: %w", n, c, k, ErrValue)
	}
	if n-c < k {
		return 1, nil
	}
	m, t := min(c, k), float64(max(c, k))
	var s float64
	for i := 0; i < m; i++ { // n − i ≥ n − m + 1 ≥ 1: no overflow, no division by 0
		s += math.Log1p(-t / float64(n-i))
		if s < -40 {
			return 1, nil // 1 − e^s rounds to 1 below e^−37
		}
	}
	return -math.Expm1(s), nil
}

// MeanPassAtK is the mean of PassAtK(n[i], c[i], k) over problems i:
// the pass@k of a benchmark where problem i got n[i] samples, c[i] of
// them correct.
func MeanPassAtK(n, c []int, k int) (float64, error) {
	if len(n) != len(c) {
		return 0, fmt.Errorf("metrics.MeanPassAtK: %d sample counts, %d correct counts: %w", len(n), len(c), ErrShape)
	}
	if len(n) == 0 {
		return 0, fmt.Errorf("metrics.MeanPassAtK: no problems: %w", ErrEmpty)
	}
	var s ksum
	for i := range n {
		v, err := PassAtK(n[i], c[i], k)
		if err != nil {
			return 0, fmt.Errorf("metrics.MeanPassAtK: problem %d: %w", i, err)
		}
		s.add(v)
	}
	return s.value() / float64(len(n)), nil
}

// PassAtN is the probability that at least one of N independent attempts
// succeeds when each succeeds with probability p:
//
//	pass@N = 1 − (1 − p)^N = −expm1(N·log1p(−p)),
//
// accurate to a few ulp for every p in [0, 1], including p ≪ 1/N where
// the naive form loses every digit. N > 0 may be fractional.
func PassAtN(p, N float64) (float64, error) {
	if !(p >= 0 && p <= 1) || !(N > 0) || math.IsInf(N, 1) {
		return 0, fmt.Errorf("metrics.PassAtN: p = %v, N = %v, want p in [0, 1] and finite N > 0: %w", p, N, ErrValue)
	}
	if p == 1 {
		return 1, nil
	}
	return -math.Expm1(N * math.Log1p(-p)), nil
}

// LogPassAtN returns log pass@N = log(1 − (1 − p)^N) from the
// log-probability logp = log p ≤ 0 of one attempt succeeding — the
// negative of the DCO loss of A8. With a = N·log1p(−exp(logp)) it is
// log1mexp(a) = log(−expm1(a)) for a > −ln 2 and log1p(−exp(a))
// otherwise, so it stays accurate both when pass@N is tiny and when it is
// within 1e-300 of 1 (where 1 − pass@N is not representable). Error: a
// few ulp relative to |result|.
func LogPassAtN(logp, N float64) (float64, error) {
	if !(logp <= 0) || !(N > 0) || math.IsInf(N, 1) {
		return 0, fmt.Errorf("metrics.LogPassAtN: log p = %v, N = %v, want log p ≤ 0 and finite N > 0: %w", logp, N, ErrValue)
	}
	if logp == 0 {
		return 0, nil
	}
	a := N * log1mexp(logp)
	return log1mexp(a), nil
}

// log1mexp(x) = log(1 − exp(x)) for x ≤ 0 (Mächler 2012).
func log1mexp(x float64) float64 {
	if x > -math.Ln2 {
		return math.Log(-math.Expm1(x))
	}
	return math.Log1p(-math.Exp(x))
}

// MeanPassAtN is the mean of PassAtN(p[i], N) over examples.
func MeanPassAtN(p []float64, N float64) (float64, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("metrics.MeanPassAtN: no examples: %w", ErrEmpty)
	}
	var s ksum
	for i, v := range p {
		c, err := PassAtN(v, N)
		if err != nil {
			return 0, fmt.Errorf("metrics.MeanPassAtN: example %d: %w", i, err)
		}
		s.add(c)
	}
	return s.value() / float64(len(p)), nil
}
