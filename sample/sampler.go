package sample

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/par"
)

// StreamVersion identifies the definition of the random streams and of
// the draws made from them (see the package comment). It changes
// whenever a seed could give different tokens than before.
const StreamVersion = 1

// Input is one row to sample from.
type Input struct {
	// Logits holds the V logits of the row (float32). −Inf masks a
	// token; NaN and +Inf are errors.
	Logits []float32
	// History holds the previous tokens, oldest first, for the penalty
	// and DRY stages; each must be in [0, V).
	History []int32
	// Allowed, when not nil, is a bitmask of the tokens that may be drawn
	// (bit i%64 of word i/64 set: token i allowed), applied before the
	// first stage, as a grammar would: the others get −Inf. It holds at
	// least ⌈V/64⌉ words.
	Allowed []uint64
}

// TokenLogProb is a token with a log-probability.
type TokenLogProb struct {
	Token   int32   `json:"token"`
	LogProb float64 `json:"logprob"`
}

// Result is the outcome of sampling one row.
type Result struct {
	// Token is the token drawn.
	Token int32
	// LogProb is the token's log-probability under the final
	// distribution (the softmax of the candidates left by the chain).
	LogProb float64
	// RawLogProb is its log-probability under the softmax of the raw
	// logits (before any stage), when the sampler was built with
	// LogProbs; NaN otherwise.
	RawLogProb float64
	// Top holds, with LogProbs(n > 0), the n most probable tokens under
	// the raw logits (ties: lower id first), most probable first, with
	// their raw log-probabilities, as OpenAI's top_logprobs. It is owned
	// by the sampler and valid until the next call for the same row.
	Top []TokenLogProb
}

// Option configures a Sampler.
type Option func(*Sampler)

// Threads sets the number of goroutines of the batch methods (n ≤ 0:
// GOMAXPROCS, the default). The tokens do not depend on it.
func Threads(n int) Option { return func(s *Sampler) { s.threads = n } }

// LogProbs makes every Result carry the token's raw log-probability and
// the topN most probable raw alternatives (topN ≥ 0). It costs one more
// pass over the row (a log-sum-exp).
func LogProbs(topN int) Option {
	return func(s *Sampler) { s.logprobs, s.topN = true, topN }
}

// A Sampler draws tokens from rows of logits through a chain of stages.
// Row r of a batch (and SampleRow(r, …)) draws from stream r: its own
// random generator and mirostat state, so that a row's tokens depend
// only on the seed, the row's index and its inputs — not on the other
// rows, the batch size or the number of threads. A Sampler owns its
// buffers: once they have grown to the vocabulary, a call allocates
// nothing (a batch on several threads allocates its goroutines). It is
// not safe for concurrent use; the batch methods parallelise inside.
type Sampler struct {
	chain    []Stage
	seed     uint64
	threads  int
	logprobs bool
	topN     int
	streams  []*stream
	works    []*work
	pool     chan *work
	errs     []error
	// chunks: the chain selects the top entries of the row (top_k,
	// mirostat, top-N log-probabilities), so the check of the row keeps
	// its chunk maxima.
	chunks bool
}

// stream is the per-row state: the random generator and mirostat's μ.
type stream struct {
	rng  rand.ChaCha8
	mu   float64
	muOK bool
	top  []TokenLogProb
}

// New returns a sampler for the chain (ending with Dist when it has no
// final stage) with the streams seeded by seed.
func New(chain []Stage, seed uint64, opts ...Option) (*Sampler, error) {
	if err := checkChain(chain); err != nil {
		return nil, err
	}
	c := append([]Stage(nil), chain...)
	if len(c) == 0 || !c[len(c)-1].kind.final() {
		c = append(c, Dist())
	}
	s := &Sampler{chain: c, seed: seed}
	for _, o := range opts {
		o(s)
	}
	if s.topN < 0 {
		return nil, fmt.Errorf("sample: LogProbs(%d): want ≥ 0: %w", s.topN, ErrValue)
	}
	s.threads = par.Threads(s.threads)
	s.chunks = s.topN > 0
	for _, st := range c {
		if st.kind == kTopK || st.kind == kMirostat || st.kind == kTopP {
			s.chunks = true
		}
	}
	s.works = []*work{{}}
	return s, nil
}

// Chain returns the stages the sampler applies, in order.
func (s *Sampler) Chain() []Stage { return append([]Stage(nil), s.chain...) }

// Reset restarts every stream from the given seed (and mirostat's μ from
// 2τ).
func (s *Sampler) Reset(seed uint64) {
	s.seed = seed
	for r, st := range s.streams {
		if st != nil {
			st.reset(seed, r)
		}
	}
}

// streamSeed is the ChaCha8 key of stream row: the seed and the row,
// little-endian, then the version tag.
func streamSeed(seed uint64, row int) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[0:], seed)
	binary.LittleEndian.PutUint64(k[8:], uint64(row))
	copy(k[16:], "xent/sample v1")
	return k
}

func (st *stream) reset(seed uint64, row int) {
	st.rng.Seed(streamSeed(seed, row))
	st.muOK = false
}

// uniform returns the stream's next draw in [0, 1): the top 53 bits of
// the next 64-bit output, times 2⁻⁵³.
func (st *stream) uniform() float64 {
	return float64(st.rng.Uint64()>>11) * (1.0 / (1 << 53))
}

func (s *Sampler) stream(row int) *stream {
	for len(s.streams) <= row {
		s.streams = append(s.streams, nil)
	}
	st := s.streams[row]
	if st == nil {
		st = &stream{}
		st.reset(s.seed, row)
		s.streams[row] = st
	}
	return st
}

// Sample draws a token from one row with stream 0.
func (s *Sampler) Sample(in Input) (Result, error) { return s.SampleRow(0, in) }

// SampleRow draws a token from one row with stream row.
func (s *Sampler) SampleRow(row int, in Input) (Result, error) {
	if row < 0 {
		return Result{}, fmt.Errorf("sample: row %d: %w", row, ErrValue)
	}
	var r Result
	err := s.works[0].run(s, s.stream(row), in, &r, nil)
	return r, err
}

// Probs writes the final distribution of the row (stream 0) into dst
// (len V): the softmax of the candidates the chain leaves, 0 for every
// other token, without drawing. Stages that draw from the stream (xtc)
// still do; a final mirostat stage truncates as it would before its draw
// but leaves μ unchanged, and greedy gives 1 to its token.
func (s *Sampler) Probs(dst []float32, in Input) error { return s.ProbsRow(0, dst, in) }

// ProbsRow is Probs with stream row.
func (s *Sampler) ProbsRow(row int, dst []float32, in Input) error {
	if row < 0 {
		return fmt.Errorf("sample: row %d: %w", row, ErrValue)
	}
	if len(dst) != len(in.Logits) {
		return fmt.Errorf("sample: Probs: len(dst) = %d, want the row's %d: %w", len(dst), len(in.Logits), ErrShape)
	}
	return s.works[0].run(s, s.stream(row), in, nil, dst)
}

// SampleBatch draws one token per row: row i with stream i, into out[i].
// Rows run in parallel; the error, if any, is that of the first failing
// row.
func (s *Sampler) SampleBatch(in []Input, out []Result) error {
	if len(out) < len(in) {
		return fmt.Errorf("sample: SampleBatch: %d results for %d rows: %w", len(out), len(in), ErrShape)
	}
	return s.batch(len(in), func(w *work, r int) error { return w.run(s, s.stream(r), in[r], &out[r], nil) })
}

// ProbsBatch writes row i's final distribution (stream i) into
// dst[i·V:(i+1)·V], V the length of each row's logits (all equal).
func (s *Sampler) ProbsBatch(in []Input, dst []float32) error {
	if len(in) == 0 {
		return nil
	}
	V := len(in[0].Logits)
	if len(dst) != len(in)*V {
		return fmt.Errorf("sample: ProbsBatch: len(dst) = %d, want %d rows × %d: %w", len(dst), len(in), V, ErrShape)
	}
	for i, x := range in {
		if len(x.Logits) != V {
			return fmt.Errorf("sample: ProbsBatch: row %d has %d logits, row 0 has %d: %w", i, len(x.Logits), V, ErrShape)
		}
	}
	return s.batch(len(in), func(w *work, r int) error { return w.run(s, s.stream(r), in[r], nil, dst[r*V:(r+1)*V]) })
}

// batch runs fn for rows 0..n−1, on up to s.threads goroutines, each with
// a work of its own, and returns the first error in row order.
func (s *Sampler) batch(n int, fn func(w *work, r int) error) error {
	if n == 0 {
		return nil
	}
	for r := range n {
		s.stream(r) // create the streams here, not concurrently
	}
	th := min(s.threads, n)
	if cap(s.errs) < n {
		s.errs = make([]error, n)
	}
	errs := s.errs[:n]
	clear(errs)
	if th <= 1 {
		for r := range n {
			errs[r] = fn(s.works[0], r)
		}
	} else {
		if s.pool == nil || cap(s.pool) < th {
			for len(s.works) < th {
				s.works = append(s.works, &work{})
			}
			s.pool = make(chan *work, len(s.works))
			for _, w := range s.works {
				s.pool <- w
			}
		}
		par.For(n, 1, th, func(_, lo, hi int) {
			w := <-s.pool
			for r := lo; r < hi; r++ {
				errs[r] = fn(w, r)
			}
			s.pool <- w
		})
	}
	for r, err := range errs {
		if err != nil {
			return fmt.Errorf("row %d: %w", r, err)
		}
	}
	return nil
}

// errNoCandidate is wrapped (with ErrValue) when a row has no token
// left to draw.
var errNoCandidate = fmt.Errorf("no candidate token: %w", ErrValue)

// checkRow validates a row's logits, history and mask, and returns the
// max of the logits.
func checkRow(in Input) error {
	V := len(in.Logits)
	if V == 0 {
		return fmt.Errorf("sample: empty row of logits: %w", ErrShape)
	}
	if int64(V) > math.MaxInt32 {
		return fmt.Errorf("sample: %d logits, more than 2³¹−1: %w", V, ErrShape)
	}
	for i, t := range in.History {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("sample: history token %d is %d, outside the vocabulary [0, %d): %w", i, t, V, ErrValue)
		}
	}
	if in.Allowed != nil && len(in.Allowed) < (V+63)/64 {
		return fmt.Errorf("sample: allowed mask of %d words for %d tokens, want %d: %w", len(in.Allowed), V, (V+63)/64, ErrShape)
	}
	return nil
}

// badLogit returns the error for the first NaN or +Inf of x.
func badLogit(x []float32) error {
	for i, v := range x {
		if v != v || math.IsInf(float64(v), 1) {
			return fmt.Errorf("sample: logit %d is %v: %w", i, v, ErrValue)
		}
	}
	return nil
}
