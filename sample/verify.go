package sample

import (
	"fmt"
	"math"
)

// VerifyInput is one sequence's draft run for speculative decoding: k
// tokens proposed by a draft model, and the target model's logits at the
// k positions and the one after.
type VerifyInput struct {
	// Target holds (k+1)·V logits: row i is the target model's logits for
	// the token after History and Draft[:i].
	Target []float32
	// Draft holds the k draft tokens.
	Draft []int32
	// DraftProbs holds k·V probabilities: row i is the distribution q_i
	// the draft model drew Draft[i] from (non-negative, summing to 1).
	DraftProbs []float32
	// History holds the tokens before the draft, oldest first (for the
	// penalty and DRY stages).
	History []int32
}

// Verified is the outcome of a verification.
type Verified struct {
	// Accepted is the number of draft tokens accepted (0 to k): the
	// sequence continues with Draft[:Accepted] and then Token.
	Accepted int
	// Token is the token after them: drawn from the normalised residual
	// max(0, p − q) where a draft token was rejected, or from the target's
	// distribution at position k when all were accepted.
	Token int32
}

// Verify checks a draft run against the target with stream 0 (see
// VerifyRow).
func (s *Sampler) Verify(in VerifyInput) (Verified, error) { return s.VerifyRow(0, in) }

// VerifyRow checks a draft run against the target model, as speculative
// sampling does (Leviathan et al., 2023; Chen et al., 2023), with stream
// row. For i = 0, 1, …: p_i is the final distribution of the sampler's
// chain on Target row i (history: History and Draft[:i]); draft token x
// = Draft[i] is accepted when u·q_i(x) < p_i(x), u the stream's next
// uniform (probability min(1, p_i(x)/q_i(x))). At the first rejection,
// the token is drawn from r = max(0, p_i − q_i)/Σ max(0, p_i − q_i) with
// the next uniform (first token in id order whose cumulative r exceeds
// it); when every draft token is accepted, the token is drawn from row k
// by the chain. The tokens that come out follow the target's
// distribution exactly, whatever the draft's. Stages that draw from the
// stream (xtc) draw at every row they run on. The chain must end with
// dist or greedy.
func (s *Sampler) VerifyRow(row int, in VerifyInput) (Verified, error) {
	if row < 0 {
		return Verified{}, fmt.Errorf("sample: row %d: %w", row, ErrValue)
	}
	return s.works[0].verify(s, s.stream(row), in)
}

// VerifyBatch verifies one draft run per sequence: sequence i with stream
// i, into out[i], in parallel.
func (s *Sampler) VerifyBatch(in []VerifyInput, out []Verified) error {
	if len(out) < len(in) {
		return fmt.Errorf("sample: VerifyBatch: %d results for %d sequences: %w", len(out), len(in), ErrShape)
	}
	return s.batch(len(in), func(w *work, r int) error {
		var err error
		out[r], err = w.verify(s, s.stream(r), in[r])
		return err
	})
}

func (w *work) verify(s *Sampler, st *stream, in VerifyInput) (Verified, error) {
	if f := s.chain[len(s.chain)-1].kind; f != kDist && f != kGreedy {
		return Verified{}, fmt.Errorf("sample: verification needs a chain ending with dist or greedy, not %s: %w", kindNames[f], ErrValue)
	}
	k := len(in.Draft)
	if len(in.Target)%(k+1) != 0 || len(in.Target) == 0 {
		return Verified{}, fmt.Errorf("sample: verification: %d target logits are not %d rows: %w", len(in.Target), k+1, ErrShape)
	}
	V := len(in.Target) / (k + 1)
	if len(in.DraftProbs) != k*V {
		return Verified{}, fmt.Errorf("sample: verification: %d draft probabilities, want %d rows of %d: %w", len(in.DraftProbs), k, V, ErrShape)
	}
	for i, t := range in.Draft {
		if t < 0 || int(t) >= V {
			return Verified{}, fmt.Errorf("sample: draft token %d is %d, outside the vocabulary [0, %d): %w", i, t, V, ErrValue)
		}
		q := in.DraftProbs[i*V : (i+1)*V]
		for j, x := range q {
			if !(x >= 0) || math.IsInf(float64(x), 1) {
				return Verified{}, fmt.Errorf("sample: draft probability %d of row %d is %v: %w", j, i, x, ErrValue)
			}
		}
		if !(q[t] > 0) {
			return Verified{}, fmt.Errorf("sample: draft token %d (%d) has probability 0 under its own distribution: %w", i, t, ErrValue)
		}
	}
	w.size(V)
	hist := append(w.hist[:0], in.History...)
	p := w.probs[:V]
	for i := range k {
		w.hist = hist
		if err := w.run(s, st, Input{Logits: in.Target[i*V : (i+1)*V], History: hist}, nil, p); err != nil {
			return Verified{}, fmt.Errorf("target row %d: %w", i, err)
		}
		x := in.Draft[i]
		q := in.DraftProbs[i*V : (i+1)*V]
		if st.uniform()*float64(q[x]) < float64(p[x]) {
			hist = append(hist, x)
			continue
		}
		// Rejected: draw from the residual max(0, p − q).
		r := w.resid[:V]
		var R [16]float64
		for j := range r {
			r[j] = max(0, p[j]-q[j])
			R[j&15] += float64(r[j])
		}
		total := reduce16(&R)
		if total == 0 {
			r = p // p = q where they differ only by rounding
			for j := range R {
				R[j] = 0
			}
			for j := range r {
				R[j&15] += float64(r[j])
			}
			total = reduce16(&R)
		}
		target := st.uniform() * total
		cum := 0.0
		tok := int32(-1)
		for j, x := range r {
			if x > 0 {
				cum += float64(x)
				tok = int32(j)
				if cum > target {
					break
				}
			}
		}
		w.hist = hist
		return Verified{Accepted: i, Token: tok}, nil
	}
	var res Result
	err := w.run(s, st, Input{Logits: in.Target[k*V:], History: hist}, &res, nil)
	w.hist = hist
	if err != nil {
		return Verified{}, fmt.Errorf("target row %d: %w", k, err)
	}
	return Verified{Accepted: k, Token: res.Token}, nil
}
