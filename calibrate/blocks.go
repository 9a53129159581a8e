package calibrate

import (
	"cmp"
	"fmt"
	"github.com/xentlab/xent/internal/rowstat"
	"math"

	"github.com/xentlab/xent/exact"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/metrics"
)

// Blocks gives a data set to a fit a block of rows at a time, for data
// larger than memory: it calls fn with the logits ([rows, cols], row
// major) and the labels of every block, in order, and returns the first
// error of fn or of its own reading. The fits below call it once per pass
// over the data (a file is read again each time), so it must give the
// same rows every time.
type Blocks[T Float] func(fn func(logits []T, labels []int32) error) error

// blockStats are the exact sums of tempStats over the rows of a data set
// given in blocks, and the number of rows.
type blockStats struct {
	nll, g, h exact.Sum
	rows      int64
}

// passStats evaluates the sums of tempStats at β over every block. Each
// row's terms are added into exact sums, so the result does not depend on
// the blocks or on the threads.
func passStats[E Float](fn string, cols int, data Blocks[E], beta float64, threads int) (*blockStats, error) {
	k := rowstat.For[E]()
	var s blockStats
	var first int64
	err := data(func(x []E, labels []int32) error {
		if len(labels) == 0 && len(x) == 0 {
			return nil
		}
		if err := metrics.Validate(x, cols, labels, metrics.Threads(threads)); err != nil {
			return fmt.Errorf("calibrate.%s: rows from %d: %w", fn, first, err)
		}
		rows := len(labels)
		grain := max(1, (rows+fitBlocks-1)/fitBlocks)
		parts := make([]blockStats, par.Blocks(rows, grain))
		par.For(rows, grain, threads, func(b, lo, hi int) {
			e := make([]E, cols)
			p := &parts[b]
			for r := lo; r < hi; r++ {
				t := rowTempStats(k, e, x[r*cols:(r+1)*cols], labels[r], beta)
				p.nll.Add(t.nll)
				p.g.Add(t.g)
				p.h.Add(t.h)
			}
		})
		for i := range parts {
			s.nll.Merge(&parts[i].nll)
			s.g.Merge(&parts[i].g)
			s.h.Merge(&parts[i].h)
		}
		first += int64(rows)
		s.rows += int64(rows)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.rows == 0 {
		return nil, fmt.Errorf("calibrate.%s: no rows: %w", fn, metrics.ErrEmpty)
	}
	return &s, nil
}

func (s *blockStats) mean() tempStats {
	n := float64(s.rows)
	return tempStats{s.nll.Value() / n, s.g.Value() / n, s.h.Value() / n}
}

// NLLBlocks is NLL over a data set given a block of rows at a time: the
// mean negative log-likelihood of softmax(z/t), each row computed as NLL
// does and the rows added exactly (so the blocks and the threads do not
// change the bits), then divided by the number of rows.
func NLLBlocks[T Float](cols int, data Blocks[T], t float64, opts ...Option) (float64, error) {
	cfg, err := configure("NLLBlocks", 0.01, 100, opts)
	if err != nil {
		return 0, err
	}
	if !(t > 0) || math.IsInf(t, 1) {
		return 0, fmt.Errorf("calibrate.NLLBlocks: temperature %v, want a positive finite number: %w", t, ErrValue)
	}
	s, err := passStats("NLLBlocks", cols, data, 1/t, cfg.threads)
	if err != nil {
		return 0, err
	}
	return s.mean().nll, nil
}

// FitTemperatureBlocks is FitTemperature over a data set given a block of
// rows at a time, in memory of one block: the same solver (Newton steps
// in β = 1/T within a bracket, the same stopping rule and the same final
// comparison with T = 1), on the NLL and its derivatives summed exactly
// over the rows, so the result depends neither on the blocks nor on the
// threads. It reads the data once per solver iteration, at most MaxIter
// + 3 passes (20 to 50 on typical data), and returns the first error of a
// pass.
func FitTemperatureBlocks[T Float](cols int, data Blocks[T], opts ...Option) (float64, error) {
	cfg, err := configure("FitTemperatureBlocks", 0.01, 100, opts)
	if err != nil {
		return 0, err
	}
	var failed error
	var atOne *tempStats // the pass at β = 1, needed twice
	stats := func(beta float64) tempStats {
		if failed != nil {
			return tempStats{g: math.NaN()}
		}
		if beta == 1 && atOne != nil {
			return *atOne
		}
		s, err := passStats("FitTemperatureBlocks", cols, data, beta, cfg.threads)
		if err != nil {
			failed = err
			return tempStats{g: math.NaN()}
		}
		m := s.mean()
		if beta == 1 {
			atOne = &m
		}
		return m
	}
	lo, hi := 1/cfg.thi, 1/cfg.tlo
	// A first pass checks the data before the solver runs.
	if stats(1); failed != nil {
		return 0, failed
	}
	beta := newtonBracket(stats, lo, hi, cmp.Or(cfg.maxIter, 100))
	if failed != nil {
		return 0, failed
	}
	if 1 >= cfg.tlo && 1 <= cfg.thi && stats(1).nll <= stats(beta).nll {
		return 1, nil
	}
	if failed != nil {
		return 0, failed
	}
	return 1 / beta, nil
}
