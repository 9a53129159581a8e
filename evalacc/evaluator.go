package evalacc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/xentlab/xent/exact"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

// Evaluator adds shards of a data set, a block of rows at a time, to a
// Partial.
type Evaluator struct {
	cfg     Config
	l       loss.Loss
	spec    loss.Spec
	norm    norm
	threads int
	window  int // bytes of logits per block
	p       *Partial

	// Hooks, called in row order with the values of each block.
	rowsHook func(rows []float64) error
	gradHook func(g32 []float32, g64 []float64) error
	lseHook  func(lse []float64) error
	// gradScale multiplies the gradient of the sum (1/W for a mean).
	gradScale float64
	progress  func(rows int)

	progressMu sync.Mutex
	main       *sink // the sequential path's, adding into p
}

// sink receives the evaluation of blocks: the loss to evaluate them with,
// the sums and the metrics accumulator they go into, and scratch reused
// from block to block. The sequential path has one, adding straight into
// the Partial; each worker of the parallel path has its own, merged into
// the Partial at the end (the sums being exact, in any order).
type sink struct {
	l           loss.Loss
	sum, weight *exact.Sum
	acc         *metrics.Accumulator

	rowsOut []float64
	out32   loss.Output[float32]
	out64   loss.Output[float64]
	y32     []int32
	kept    []int32
}

// An Option changes how an Evaluator works, never what it computes.
type Option func(*Evaluator)

// Threads sets the goroutines of the per-row work (n ≤ 0: GOMAXPROCS).
func Threads(n int) Option { return func(e *Evaluator) { e.threads = n } }

// Window sets the bytes of logits read and evaluated at a time by one
// goroutine (default DefaultWindow; at least one row). Memory holds about
// two windows a thread.
func Window(bytes int) Option { return func(e *Evaluator) { e.window = bytes } }

// Progress makes the evaluator call f with the number of rows of every
// block it has added.
func Progress(f func(rows int)) Option { return func(e *Evaluator) { e.progress = f } }

// PerRow makes the evaluator call f with the loss of every row, block by
// block in row order (0 for ignored rows).
func PerRow(f func(rows []float64) error) Option { return func(e *Evaluator) { e.rowsHook = f } }

// Gradient makes the evaluator call f with ∂loss/∂logits of every block,
// in row order, in the precision of the logits (g32 or g64 is set): the
// gradient of the sum scaled by scale (1/W for the mean over a total
// weight W, which TotalWeight computes).
func Gradient(scale float64, f func(g32 []float32, g64 []float64) error) Option {
	return func(e *Evaluator) { e.gradScale, e.gradHook = scale, f }
}

// LSE makes the evaluator call f with each row's log-sum-exp (losses that
// compute one; cross-entropy).
func LSE(f func(lse []float64) error) Option { return func(e *Evaluator) { e.lseHook = f } }

// DefaultWindow is the default bytes of logits per block: small enough
// for a block to stay in a core's L2 (or, on a core with a 512 KiB L2,
// its share of L3) between its read and the passes over it, large enough
// that the read calls and the per-block work are a small part of the time
// (512 KiB kept 0.80–0.96 of the in-memory speed where 256 KiB kept
// 0.78–0.92; see BENCHMARKS.md).
const DefaultWindow = 512 << 10

// NewEvaluator checks cfg, builds the loss and returns an evaluator with
// an empty Partial. A loss whose rows are not independent is refused with
// an error wrapping ErrNotSplittable.
func NewEvaluator(cfg Config, opts ...Option) (*Evaluator, error) {
	cfg = cloneConfig(cfg)
	canon, spec, err := Canonical(cfg.Loss)
	if err != nil {
		return nil, err
	}
	cfg.Loss = canon
	switch {
	case cfg.Cols < 1:
		return nil, fmt.Errorf("evalacc: %d columns, want ≥ 1", cfg.Cols)
	case cfg.Reduction != loss.Mean && cfg.Reduction != loss.Sum:
		return nil, fmt.Errorf("evalacc: reduction %s, want mean or sum (per-row values come through PerRow)", cfg.Reduction)
	case spec.Needs&loss.NeedsSequences != 0 || notSplittable[spec.Name]:
		return nil, fmt.Errorf("evalacc: loss %s: %w", spec.Name, ErrNotSplittable)
	case cfg.Metrics != nil && (cfg.Targets != Labels || spec.NotClassScores):
		return nil, fmt.Errorf("evalacc: metrics need labels and a loss over class scores")
	case cfg.Metrics != nil && cfg.Metrics.Cols != cfg.Cols:
		return nil, fmt.Errorf("evalacc: metrics over %d classes for %d columns", cfg.Metrics.Cols, cfg.Cols)
	case cfg.ClassWeights != nil && len(cfg.ClassWeights) != cfg.Cols:
		return nil, fmt.Errorf("evalacc: %d class weights for %d columns", len(cfg.ClassWeights), cfg.Cols)
	}
	if err := checkInputs(&cfg, spec); err != nil {
		return nil, err
	}
	e := &Evaluator{cfg: cfg, spec: spec, window: DefaultWindow, gradScale: 1}
	for _, o := range opts {
		o(e)
	}
	if e.l, _, err = cfg.build(e.threads); err != nil {
		return nil, err
	}
	if e.norm, err = probe(&cfg, spec); err != nil {
		return nil, err
	}
	if e.p, err = newPartial(cfg); err != nil {
		return nil, err
	}
	e.main = &sink{l: e.l, sum: &e.p.sum, weight: &e.p.weight, acc: e.p.acc}
	if e.p.acc != nil {
		e.p.acc.SetThreads(e.threads)
	}
	return e, nil
}

// checkInputs checks that the inputs of the configuration are those the
// loss reads.
func checkInputs(cfg *Config, s loss.Spec) error {
	n := s.Needs
	switch cfg.Targets {
	case Labels:
		if n&loss.NeedsLabels == 0 {
			return fmt.Errorf("evalacc: loss %s does not take integer labels", s.Name)
		}
	case SoftTargets:
		if n&(loss.AcceptsSoftTargets|loss.NeedsTargets) == 0 {
			return fmt.Errorf("evalacc: loss %s does not take float targets of the logits' shape", s.Name)
		}
	case ScalarTargets:
		if n&loss.NeedsScalarTargets == 0 {
			return fmt.Errorf("evalacc: loss %s does not take one float target per row", s.Name)
		}
	case NoTargets:
		if n&(loss.NeedsLabels|loss.NeedsTargets|loss.NeedsScalarTargets) != 0 {
			return fmt.Errorf("evalacc: loss %s needs targets", s.Name)
		}
	default:
		return fmt.Errorf("evalacc: unknown targets %d", int(cfg.Targets))
	}
	if cfg.Teacher && n&loss.NeedsTeacher == 0 {
		return fmt.Errorf("evalacc: loss %s does not take a teacher", s.Name)
	}
	if !cfg.Teacher && n&loss.NeedsTeacher != 0 && !(n&loss.AcceptsSoftTargets != 0 && cfg.Targets == SoftTargets) {
		return fmt.Errorf("evalacc: loss %s needs a teacher", s.Name)
	}
	return nil
}

// Config returns the evaluator's configuration (with the loss in
// canonical form).
func (e *Evaluator) Config() Config { return cloneConfig(e.cfg) }

// Partial returns the state so far; it belongs to the evaluator until the
// evaluator is no longer used.
func (e *Evaluator) Partial() *Partial { return e.p }

// WeightUsesLabels reports whether the mean's denominator depends on the
// labels (so that TotalWeight must read them) rather than on the shape.
func (e *Evaluator) WeightUsesLabels() bool { return e.norm <= normCounted }

// BlockWeight returns the denominator's weight of a block of rows with the
// given labels (nil without labels).
func (e *Evaluator) BlockWeight(rows int, labels []int64) float64 {
	return e.norm.weightOf(&e.cfg, rows, labels)
}

// Shard is one shard of a data set: readers of its logits and, as the
// configuration says, of its targets and teacher logits, with names for
// the messages. The evaluator reads every row of them, through ReadRows
// (moving the readers to the end) or, for files at their first row,
// through npy.ReadRowsAt (leaving them where they are); it does not close
// them.
type Shard struct {
	Logits, Targets, Teacher             *npy.RowReader
	LogitsName, TargetsName, TeacherName string
}

// block holds one window of rows read from a shard.
type block struct {
	first, rows   int
	x32, t32, s32 []float32 // logits, targets, teacher
	x64, t64, s64 []float64
	labels        []int64
	err           error
}

// Add evaluates every row of the shard into the partial. Shapes are
// checked first (errors name the file); a bad row stops the evaluation
// with an error naming the file and the row (the lowest bad row), after
// which the partial is not to be used.
//
// Shards of files (npy.OpenRows) without per-row hooks are evaluated by
// Threads goroutines, each reading its own blocks at their offsets and
// evaluating them single-threaded while they are in its cache; other
// shards are read block after block, one block ahead of the evaluation.
func (e *Evaluator) Add(s Shard) error {
	rows, err := e.checkShard(&s)
	if err != nil {
		return err
	}
	size := 4
	if e.cfg.Wide {
		size = 8
	}
	per := max(1, e.window/(e.cfg.Cols*size))
	per = min(per, max(rows, 1))
	if e.rowsHook == nil && e.gradHook == nil && e.lseHook == nil && s.canReadAt() {
		err = e.addParallel(&s, rows, per)
	} else {
		err = e.addSequential(&s, rows, per)
	}
	if err != nil {
		return err
	}
	e.p.rows += int64(rows)
	return nil
}

func (s *Shard) canReadAt() bool {
	for _, r := range []*npy.RowReader{s.Logits, s.Targets, s.Teacher} {
		if r != nil && (!r.CanReadAt() || r.Row() != 0) {
			return false
		}
	}
	return true
}

func (e *Evaluator) report(n int) {
	if e.progress != nil {
		e.progressMu.Lock()
		e.progress(n)
		e.progressMu.Unlock()
	}
}

// addSequential reads the shard block after block, one block ahead of
// the evaluation, which uses the loss's and the metrics' own threads.
func (e *Evaluator) addSequential(s *Shard, rows, per int) error {
	bufs := [2]*block{e.newBlock(per), e.newBlock(per)}
	free := make(chan *block, 2)
	full := make(chan *block, 2)
	free <- bufs[0]
	free <- bufs[1]
	stop, done := make(chan struct{}), make(chan struct{})
	defer func() {
		close(stop)
		<-done // the reader is idle before the caller may close the files
	}()
	go func() {
		defer close(done)
		defer close(full)
		first := 0
		for first < rows {
			var b *block
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n := min(per, rows-first)
			b.first, b.rows = first, n
			b.err = e.fill(s, b, n, false)
			full <- b
			if b.err != nil {
				return
			}
			first += n
		}
	}()
	for b := range full {
		if b.err != nil {
			return b.err
		}
		if err := e.addBlock(s, b, e.main); err != nil {
			return err
		}
		e.report(b.rows)
		free <- b
	}
	return nil
}

// addParallel hands the blocks of the shard out to Threads goroutines,
// each with its own sink; the sinks are merged into the partial at the
// end. The error reported is that of the lowest bad block.
func (e *Evaluator) addParallel(s *Shard, rows, per int) error {
	nb := (rows + per - 1) / per
	if nb == 0 {
		return nil
	}
	workers := min(par.Threads(e.threads), nb)
	var next atomic.Int64
	var failed atomic.Int64 // the lowest failing block + 1, or 0
	errs := make([]error, nb)
	sinks := make([]*sink, workers)
	var wg sync.WaitGroup
	for w := range workers {
		k := &sink{sum: new(exact.Sum), weight: new(exact.Sum)}
		l, _, err := e.cfg.build(1)
		if err != nil {
			return err
		}
		k.l = l
		if e.cfg.Metrics != nil {
			if k.acc, err = metrics.NewAccumulator(*e.cfg.Metrics); err != nil {
				return err
			}
			k.acc.SetThreads(1)
		}
		sinks[w] = k
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := e.newBlock(per)
			for {
				c := int(next.Add(1) - 1)
				if c >= nb {
					return
				}
				if f := failed.Load(); f != 0 && int64(c) >= f-1 {
					return
				}
				b.first = c * per
				b.rows = min(per, rows-b.first)
				err := e.fill(s, b, b.rows, true)
				if err == nil {
					err = e.addBlock(s, b, k)
				}
				if err != nil {
					errs[c] = err
					for {
						f := failed.Load()
						if f != 0 && f-1 <= int64(c) || failed.CompareAndSwap(f, int64(c)+1) {
							break
						}
					}
					continue
				}
				e.report(b.rows)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, k := range sinks {
		e.p.sum.Merge(k.sum)
		e.p.weight.Merge(k.weight)
		if k.acc != nil {
			if err := e.p.acc.Merge(k.acc); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Evaluator) newBlock(rows int) *block {
	cols := e.cfg.Cols
	b := &block{}
	mat := func() ([]float32, []float64) {
		if e.cfg.Wide {
			return nil, make([]float64, rows*cols)
		}
		return make([]float32, rows*cols), nil
	}
	b.x32, b.x64 = mat()
	switch e.cfg.Targets {
	case Labels:
		b.labels = make([]int64, rows)
	case SoftTargets:
		b.t32, b.t64 = mat()
	case ScalarTargets:
		if e.cfg.Wide {
			b.t64 = make([]float64, rows)
		} else {
			b.t32 = make([]float32, rows)
		}
	}
	if e.cfg.Teacher {
		b.s32, b.s64 = mat()
	}
	return b
}

// checkShard checks the shapes and types of a shard's inputs.
func (e *Evaluator) checkShard(s *Shard) (int, error) {
	cols := e.cfg.Cols
	if s.Logits == nil {
		return 0, fmt.Errorf("evalacc: a shard without logits")
	}
	lh := s.Logits.Header()
	switch {
	case len(lh.Shape) != 2:
		return 0, fmt.Errorf("logits %s: shape %v, want [rows, %d]", s.LogitsName, lh.Shape, cols)
	case lh.Shape[1] != cols:
		return 0, fmt.Errorf("logits %s: %d columns, the evaluation has %d", s.LogitsName, lh.Shape[1], cols)
	case !s.Logits.IsFloat():
		return 0, fmt.Errorf("logits %s: dtype %s, want floating point", s.LogitsName, lh.DType)
	case (lh.DType.Size == 8) != e.cfg.Wide:
		return 0, fmt.Errorf("logits %s: dtype %s, but the evaluation is in %s (shards must all be float64, or all narrower)", s.LogitsName, lh.DType, precision(e.cfg.Wide))
	}
	rows := lh.Shape[0]
	matrix := func(r *npy.RowReader, name, what string, wantCols int) error {
		if r == nil {
			return fmt.Errorf("%s: missing for logits %s", what, s.LogitsName)
		}
		h := r.Header()
		shape := []int{rows}
		if wantCols > 0 {
			shape = append(shape, wantCols)
		}
		if len(h.Shape) != len(shape) || h.Shape[0] != rows || wantCols > 0 && h.Shape[1] != wantCols {
			return fmt.Errorf("%s %s: shape %v, want %v (the rows of logits %s)", what, name, h.Shape, shape, s.LogitsName)
		}
		if !r.IsFloat() {
			return fmt.Errorf("%s %s: dtype %s, want floating point", what, name, h.DType)
		}
		return nil
	}
	switch e.cfg.Targets {
	case Labels:
		if s.Targets == nil {
			return 0, fmt.Errorf("labels: missing for logits %s", s.LogitsName)
		}
		h := s.Targets.Header()
		if len(h.Shape) != 1 || h.Shape[0] != rows {
			return 0, fmt.Errorf("labels %s: shape %v, want [%d] (one per row of logits %s)", s.TargetsName, h.Shape, rows, s.LogitsName)
		}
		if s.Targets.IsFloat() {
			return 0, fmt.Errorf("labels %s: dtype %s, want integers", s.TargetsName, h.DType)
		}
	case SoftTargets:
		if err := matrix(s.Targets, s.TargetsName, "targets", cols); err != nil {
			return 0, err
		}
	case ScalarTargets:
		if err := matrix(s.Targets, s.TargetsName, "targets", 0); err != nil {
			return 0, err
		}
	}
	if e.cfg.Teacher {
		if err := matrix(s.Teacher, s.TeacherName, "teacher", cols); err != nil {
			return 0, err
		}
	}
	return rows, nil
}

// fill reads n rows of every input of the shard into b: the rows from
// b.first on, read at their offsets (at), or the next n rows in order
// (the end of an input before them is a truncated file).
func (e *Evaluator) fill(s *Shard, b *block, n int, at bool) error {
	cols := e.cfg.Cols
	get := func(r *npy.RowReader, name string, x32 []float32, x64 []float64, labels []int64, c int) error {
		var got int
		var err error
		switch {
		case labels != nil:
			got, err = readRows(r, labels[:n], at, b.first)
		case x32 != nil:
			got, err = readRows(r, x32[:n*c], at, b.first)
		default:
			got, err = readRows(r, x64[:n*c], at, b.first)
		}
		if !at && (err == io.EOF || err == nil && got != n) {
			err = fmt.Errorf("ends after %d rows: %w", r.Row(), npy.ErrTruncated)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if err := get(s.Logits, s.LogitsName, b.x32, b.x64, nil, cols); err != nil {
		return err
	}
	switch e.cfg.Targets {
	case Labels:
		if err := get(s.Targets, s.TargetsName, nil, nil, b.labels, 1); err != nil {
			return err
		}
	case SoftTargets:
		if err := get(s.Targets, s.TargetsName, b.t32, b.t64, nil, cols); err != nil {
			return err
		}
	case ScalarTargets:
		if err := get(s.Targets, s.TargetsName, b.t32, b.t64, nil, 1); err != nil {
			return err
		}
	}
	if e.cfg.Teacher {
		if err := get(s.Teacher, s.TeacherName, b.s32, b.s64, nil, cols); err != nil {
			return err
		}
	}
	return nil
}

// readRows reads rows into dst: at row (at) or the next ones.
func readRows[T npy.Elem](r *npy.RowReader, dst []T, at bool, row int) (int, error) {
	if at {
		return npy.ReadRowsAt(r, dst, row)
	}
	return npy.ReadRows(r, dst)
}

// addBlock evaluates one block and adds it to the partial.
func (e *Evaluator) addBlock(s *Shard, b *block, k *sink) error {
	n, cols := b.rows, e.cfg.Cols
	// Labels first: a label out of range is named by its file and row.
	if b.labels != nil && !e.spec.NotClassScores { // other labels are the loss's to check
		for i, y := range b.labels[:n] {
			if y != e.cfg.IgnoreIndex && (y < 0 || y >= int64(cols)) {
				return fmt.Errorf("labels %s: label %d at row %d outside [0, %d)", s.TargetsName, y, b.first+i, cols)
			}
		}
	}
	k.rowsOut = grow(k.rowsOut, n)
	rowsOut := k.rowsOut
	var err error
	if e.cfg.Wide {
		err = evalBlock(e, k.l, &k.out64, b.x64[:n*cols], b.t64, b.s64, b.labels, n, rowsOut)
	} else {
		err = evalBlock(e, k.l, &k.out32, b.x32[:n*cols], b.t32, b.s32, b.labels, n, rowsOut)
	}
	if err != nil {
		return fmt.Errorf("logits %s, rows %d to %d (the row below counts from %d): %w", s.LogitsName, b.first, b.first+n-1, b.first, err)
	}
	for _, v := range rowsOut {
		k.sum.Add(v)
	}
	if e.norm == normClassWeight && e.cfg.ClassWeights != nil {
		// Row by row: the exact sum must not depend on the blocks.
		for _, y := range b.labels[:n] {
			if y != e.cfg.IgnoreIndex && y >= 0 && y < int64(len(e.cfg.ClassWeights)) {
				k.weight.Add(e.cfg.ClassWeights[y])
			}
		}
	} else {
		var labels []int64
		if b.labels != nil {
			labels = b.labels[:n]
		}
		k.weight.Add(e.norm.weightOf(&e.cfg, n, labels)) // an integer below 2⁵³: exact
	}
	if e.rowsHook != nil {
		if err := e.rowsHook(rowsOut); err != nil {
			return err
		}
	}
	if k.acc != nil {
		if err := e.addMetrics(s, b, k); err != nil {
			return err
		}
	}
	return nil
}

// evalBlock evaluates the loss on one block, row by row.
func evalBlock[E float32 | float64](e *Evaluator, l loss.Loss, out *loss.Output[E], x, t, s []E, labels []int64, n int, rowsOut []float64) error {
	cols := e.cfg.Cols
	in := loss.Input[E]{Logits: x, Cols: cols}
	if labels != nil {
		in.Labels64 = labels[:n]
	}
	switch e.cfg.Targets {
	case SoftTargets:
		in.Targets = t[:n*cols]
	case ScalarTargets:
		in.Targets = t[:n]
	}
	if e.cfg.Teacher {
		in.Teacher = s[:n*cols]
	}
	out.Rows = grow(out.Rows, n)
	if e.gradHook != nil {
		out.Grad = grow(out.Grad, n*cols)
	}
	if e.lseHook != nil {
		out.LSE = grow(out.LSE, n)
	}
	if _, err := evalLoss(l, in, *out); err != nil {
		return err
	}
	for i, v := range out.Rows {
		rowsOut[i] = float64(v)
	}
	if e.gradHook != nil {
		if e.gradScale != 1 {
			sc := E(e.gradScale)
			for i := range out.Grad {
				out.Grad[i] *= sc
			}
		}
		var err error
		switch g := any(out.Grad).(type) {
		case []float32:
			err = e.gradHook(g, nil)
		case []float64:
			err = e.gradHook(nil, g)
		}
		if err != nil {
			return err
		}
	}
	if e.lseHook != nil {
		l := make([]float64, n)
		for i, v := range out.LSE {
			l[i] = float64(v)
		}
		if err := e.lseHook(l); err != nil {
			return err
		}
	}
	return nil
}

// addMetrics adds the counted rows of a block to the metrics accumulator.
func (e *Evaluator) addMetrics(s *Shard, b *block, k *sink) error {
	n, cols := b.rows, e.cfg.Cols
	y, kept := k.y32[:0], k.kept[:0]
	for i, v := range b.labels[:n] {
		if v != e.cfg.IgnoreIndex {
			y = append(y, int32(v))
			kept = append(kept, int32(i))
		}
	}
	k.y32, k.kept = y, kept
	if len(y) == 0 {
		return nil
	}
	// Move the counted rows together (the block's logits are not needed
	// after this).
	compact := func(kept []int32, move func(dst, src int)) {
		for k, i := range kept {
			if int(i) != k {
				move(k, int(i))
			}
		}
	}
	var err error
	if e.cfg.Wide {
		x := b.x64
		compact(kept, func(d, s int) { copy(x[d*cols:(d+1)*cols], x[s*cols:(s+1)*cols]) })
		err = k.acc.Add64(x[:len(y)*cols], y)
	} else {
		x := b.x32
		compact(kept, func(d, s int) { copy(x[d*cols:(d+1)*cols], x[s*cols:(s+1)*cols]) })
		err = k.acc.Add32(x[:len(y)*cols], y)
	}
	var re *metrics.RowError
	if errors.As(err, &re) {
		return fmt.Errorf("logits %s: row %d: %s", s.LogitsName, b.first+int(kept[re.Row]), re.Msg)
	}
	return err
}

// TotalWeight returns the denominator W of the mean over the given label
// readers (read to the end; one per shard) or, for a loss whose mean
// divides by the rows or the elements, over rows rows. The gradient of the
// mean is that of the sum times 1/W.
func (e *Evaluator) TotalWeight(rows int64, labels []*npy.RowReader, names []string) (float64, error) {
	if !e.WeightUsesLabels() {
		return e.norm.weightOf(&e.cfg, int(min(rows, math.MaxInt)), nil), nil
	}
	var w exact.Sum
	buf := make([]int64, 1<<16)
	for i, r := range labels {
		for {
			n, err := npy.ReadRows(r, buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("labels %s: %w", names[i], err)
			}
			for _, y := range buf[:n] {
				if y != e.cfg.IgnoreIndex && y >= 0 && y < int64(e.cfg.Cols) {
					w.Add(e.norm.weightOf(&e.cfg, 1, []int64{y}))
				}
			}
		}
	}
	return w.Value(), nil
}

// grow returns s with length n, reusing its memory when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// evalLoss evaluates l in the precision of E.
func evalLoss[E float32 | float64](l loss.Loss, in loss.Input[E], out loss.Output[E]) (float64, error) {
	switch in := any(in).(type) {
	case loss.Input[float32]:
		return l.Eval32(in, any(out).(loss.Output[float32]))
	case loss.Input[float64]:
		return l.Eval64(in, any(out).(loss.Output[float64]))
	}
	panic("evalacc: unreachable element type")
}
