package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/internal/rowstat"
)

// RankReport holds multi-label ranking metrics at several cut-offs, for N
// rows of which Labeled have a non-empty label set. With top_k the k
// highest-scoring classes of a row (ties rank the lower index first) and Y
// its label set:
//
//	Precision[i] = mean over all rows of |top_k ∩ Y|/k
//	Recall[i]    = mean over labeled rows of |top_k ∩ Y|/|Y|
//	NDCG[i]      = mean over labeled rows of DCG@k/IDCG@k,
//	               DCG@k = Σ_{r=1..k} 1[r-th class ∈ Y]/log₂(r+1),
//	               IDCG@k = Σ_{r=1..min(k,|Y|)} 1/log₂(r+1)
//
// with k = K[i] (binary relevance, as in the extreme-classification
// literature, e.g. DEXML of A7). Rows with an empty Y count as 0 in
// Precision and are left out of Recall and NDCG, which are 0 when no row
// is labeled.
type RankReport struct {
	K                       []int
	Precision, Recall, NDCG []float64
	N, Labeled              int
}

// MultiLabel accumulates a RankReport over batches of score rows (any
// real scores: logits, sigmoid outputs, similarities) of a fixed number
// of classes.
type MultiLabel[T Float] struct {
	cols           int
	ks             []int
	threads        int
	n, labeled     int
	prec, rec, ndc []ksum
	// per-batch per-row results, reused
	hits []int // rows × len(ks): hits in the top k
	dcg  []float64
}

// NewMultiLabel returns an accumulator for rows of cols classes reporting
// at the cut-offs ks (each in [1, cols]; default 1, 3, 5 capped at cols).
// Options other than Threads are ignored.
func NewMultiLabel[T Float](cols int, ks []int, opts ...Option) (*MultiLabel[T], error) {
	if cols < 1 {
		return nil, fmt.Errorf("metrics.NewMultiLabel: cols = %d, want ≥ 1: %w", cols, ErrShape)
	}
	if len(ks) == 0 {
		for _, k := range []int{1, 3, 5} {
			ks = append(ks, min(k, cols))
		}
	}
	ks = slices.Clone(ks)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	for _, k := range ks {
		if k < 1 || k > cols {
			return nil, fmt.Errorf("metrics.NewMultiLabel: cut-off k = %d outside [1, %d]: %w", k, cols, ErrValue)
		}
	}
	cfg, err := configure("NewMultiLabel", opts)
	if err != nil {
		return nil, err
	}
	return &MultiLabel[T]{
		cols: cols, ks: ks, threads: cfg.threads,
		prec: make([]ksum, len(ks)), rec: make([]ksum, len(ks)), ndc: make([]ksum, len(ks)),
	}, nil
}

// Add ranks a batch of score rows (len(scores)/cols rows) against their
// label sets (one per row, each label in [0, cols), no duplicates). The
// batch is rejected whole on bad input.
func (m *MultiLabel[T]) Add(scores []T, labels [][]int32) error {
	const fn = "MultiLabel.Add"
	rows, err := checkShape(fn, len(scores), m.cols, nil, false)
	if err != nil {
		return err
	}
	if len(labels) != rows {
		return fmt.Errorf("metrics.%s: %d label sets for %d rows: %w", fn, len(labels), rows, ErrShape)
	}
	nk := len(m.ks)
	kmax := m.ks[nk-1]
	m.hits = slices.Grow(m.hits[:0], rows*nk)[:rows*nk]
	m.dcg = slices.Grow(m.dcg[:0], rows*nk)[:rows*nk]
	k := rowstat.For[T]()
	err = rowPass(fn, scores, m.cols, m.threads, false, func(row []T, r int, _ []T) *rowErr {
		y := labels[r]
		for i, l := range y {
			if l < 0 || int(l) >= m.cols {
				return &rowErr{r, fmt.Sprintf("label %d outside [0, %d)", l, m.cols)}
			}
			if slices.Contains(y[:i], l) {
				return &rowErr{r, fmt.Sprintf("label %d listed twice", l)}
			}
		}
		if _, nan := k.MaxNaN(row); nan {
			return &rowErr{r, "scores contain NaN"}
		}
		var buf [16]int
		top := topK(row, kmax, buf[:0])
		var hits int
		var dcg float64
		i := 0
		for rank, c := range top {
			// Labels are int32: a class index beyond 2³¹−1 is no label
			// (converting it would wrap onto one).
			if c <= math.MaxInt32 && slices.Contains(y, int32(c)) {
				hits++
				dcg += 1 / math.Log2(float64(rank+2))
			}
			for i < nk && m.ks[i] == rank+1 {
				m.hits[r*nk+i] = hits
				m.dcg[r*nk+i] = dcg
				i++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for r := 0; r < rows; r++ {
		ny := len(labels[r])
		if ny > 0 {
			m.labeled++
		}
		for i, k := range m.ks {
			h := float64(m.hits[r*nk+i])
			m.prec[i].add(h / float64(k))
			if ny > 0 {
				m.rec[i].add(h / float64(ny))
				var idcg float64
				for j := 1; j <= min(k, ny); j++ {
					idcg += 1 / math.Log2(float64(j+1))
				}
				m.ndc[i].add(m.dcg[r*nk+i] / idcg)
			}
		}
	}
	m.n += rows
	return nil
}

// Report returns the metrics of everything added; it fails if no row was
// added.
func (m *MultiLabel[T]) Report() (RankReport, error) {
	if m.n == 0 {
		return RankReport{}, fmt.Errorf("metrics.MultiLabel.Report: no rows added: %w", ErrEmpty)
	}
	r := RankReport{
		K: slices.Clone(m.ks), N: m.n, Labeled: m.labeled,
		Precision: make([]float64, len(m.ks)), Recall: make([]float64, len(m.ks)), NDCG: make([]float64, len(m.ks)),
	}
	for i := range m.ks {
		r.Precision[i] = m.prec[i].value() / float64(m.n)
		if m.labeled > 0 {
			r.Recall[i] = m.rec[i].value() / float64(m.labeled)
			r.NDCG[i] = m.ndc[i].value() / float64(m.labeled)
		}
	}
	return r, nil
}

// EvaluateMultiLabel computes a RankReport for one score matrix.
func EvaluateMultiLabel[T Float](scores []T, cols int, labels [][]int32, ks []int, opts ...Option) (RankReport, error) {
	m, err := NewMultiLabel[T](cols, ks, opts...)
	if err != nil {
		return RankReport{}, err
	}
	if err := m.Add(scores, labels); err != nil {
		return RankReport{}, err
	}
	return m.Report()
}

// topK returns the indices of the k largest entries of row in decreasing
// order, ties by increasing index (row holds no NaN; k ≤ len(row)). It
// keeps a sorted list of k candidates: one comparison per entry that does
// not enter it.
func topK[E Float](row []E, k int, idx []int) []int {
	idx = idx[:0]
	for j, v := range row {
		if len(idx) == k {
			if !(v > row[idx[k-1]]) {
				continue
			}
			idx = idx[:k-1]
		}
		// Insert j after every kept entry ≥ v (earlier indices win ties).
		p := len(idx)
		for p > 0 && row[idx[p-1]] < v {
			p--
		}
		idx = slices.Insert(idx, p, j)
	}
	return idx
}
