package sample

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/xerr"
)

// ErrValue is wrapped by every error about a bad parameter or input
// value; ErrShape by every error about lengths and shapes. Both are the
// same values in every package of the module, so errors.Is matches them
// whichever package the error came from.
var (
	ErrValue = xerr.ErrValue
	ErrShape = xerr.ErrShape
)

// kind names a stage.
type kind uint8

const (
	kLogitBias kind = iota + 1
	kPenalties
	kDRY
	kTopNSigma
	kTopK
	kTypical
	kTopP
	kMinP
	kXTC
	kTemp
	kGreedy
	kDist
	kMirostat
	kMirostatV2
)

var kindNames = map[kind]string{
	kLogitBias: "logit_bias", kPenalties: "penalties", kDRY: "dry", kTopNSigma: "top_n_sigma",
	kTopK: "top_k", kTypical: "typical", kTopP: "top_p", kMinP: "min_p", kXTC: "xtc", kTemp: "temp",
	kGreedy: "greedy", kDist: "dist", kMirostat: "mirostat", kMirostatV2: "mirostat_v2",
}

// final reports whether the stage draws the token (and so ends a chain).
func (k kind) final() bool { return k == kGreedy || k == kDist || k == kMirostat || k == kMirostatV2 }

// truncating reports whether the stage removes candidates (and so takes
// min_keep).
func (k kind) truncating() bool {
	switch k {
	case kTopK, kTopP, kMinP, kTypical, kTopNSigma, kXTC:
		return true
	}
	return false
}

// Bias is one entry of a logit_bias stage: Value is added to the logit
// of Token (−Inf bans the token).
type Bias struct {
	Token int32
	Value float32
}

// DRYParams are the parameters of the DRY stage (see DRY).
type DRYParams struct {
	// Multiplier scales the penalty (0: the stage does nothing).
	Multiplier float64
	// Base is the growth of the penalty per token of repetition beyond
	// AllowedLength (≥ 1; 1.75 in llama.cpp).
	Base float64
	// AllowedLength is the longest repetition left unpenalised (2 in
	// llama.cpp).
	AllowedLength int
	// LastN is the window of the history searched: the last LastN tokens;
	// −1 for the whole history, 0 turns the stage off.
	LastN int
	// Breakers are sequence breakers, as token sequences: a repetition is
	// not followed back past the most recent occurrence of one, and a
	// token that is a breaker of one token by itself is never penalised.
	Breakers [][]int32
}

// A Stage is one step of a sampler chain. Build one with the functions
// of this package (TopK, TopP, …) or Parse; the zero Stage is not valid.
type Stage struct {
	kind    kind
	f       [3]float64
	n       int
	minKeep int
	bias    []Bias
	dry     DRYParams
}

// Name returns the stage's name in the chain syntax ("top_k", …).
func (s Stage) Name() string { return kindNames[s.kind] }

// MinKeep returns a copy of a truncating stage (top_k, top_p, min_p,
// typical, top_n_sigma, xtc) that never leaves fewer than n candidates
// (or all of them, when there are fewer than n). On other stages it has
// no effect.
func (s Stage) MinKeep(n int) Stage {
	if s.kind.truncating() {
		s.minKeep = n
	}
	return s
}

// LogitBias adds each bias's value to its token's logit (in float32; a
// token listed twice gets both). Tokens outside the vocabulary are an
// error when the chain runs.
func LogitBias(b ...Bias) Stage {
	return Stage{kind: kLogitBias, bias: append([]Bias(nil), b...)}
}

// Penalties penalises the tokens of the last lastN tokens of the history
// (lastN < 0: all of it; 0: off), as llama.cpp does. For a token that
// occurs c > 0 times there, with logit z (in float32):
//
//	z ← z·repeat if z ≤ 0, z/repeat otherwise
//	z ← z − (c·frequency + presence)
//
// repeat = 1, frequency = 0 and presence = 0 leave the logits as they are.
// repeat must be positive.
func Penalties(lastN int, repeat, frequency, presence float64) Stage {
	return Stage{kind: kPenalties, n: lastN, f: [3]float64{repeat, frequency, presence}}
}

// DRY is the "don't repeat yourself" penalty of kalomaze's and pi6am's
// DRY sampler, with llama.cpp's semantics. Over the window of the last
// LastN history tokens h₁…h_N: let the repetition limit R be the number
// of tokens after the end of the last sequence breaker in the window (N
// if none). For every earlier position j < N, let L_j be the length of
// the longest common suffix of h₁…h_j and h₁…h_N, capped at R; the token
// h_{j+1} would extend that repetition. Each token t gets L(t) = max L_j
// over the positions j with h_{j+1} = t and L_j ≥ AllowedLength, and,
// unless t is a one-token breaker, its logit is lowered by
//
//	Multiplier · Base^min(L(t) − AllowedLength, ⌊88.7228391 / ln Base⌋)
//
// (the cap keeps the power finite; computed in float64). The stage does
// nothing when Multiplier = 0, Base < 1, LastN = 0, N ≤ AllowedLength or
// R < AllowedLength. The suffix lengths come from the Z-algorithm over
// the reversed window, O(N).
func DRY(p DRYParams) Stage {
	q := p
	q.Breakers = make([][]int32, len(p.Breakers))
	for i, b := range p.Breakers {
		q.Breakers[i] = append([]int32(nil), b...)
	}
	return Stage{kind: kDRY, dry: q}
}

// TopNSigma keeps the candidates whose logit is ≥ max − n·σ, σ the
// population standard deviation of the candidates' logits (Tang et al.,
// "Top-nσ", 2024; computed in float64, two passes). n ≤ 0: no change.
func TopNSigma(n float64) Stage { return Stage{kind: kTopNSigma, f: [3]float64{n}} }

// TopK keeps the k candidates with the largest logits, ties broken by the
// lower token id. k ≤ 0, or k ≥ the number of candidates: no change.
// Found by selection (chunk maxima, then a radix selection), never by
// sorting.
func TopK(k int) Stage { return Stage{kind: kTopK, n: k} }

// TopP is nucleus sampling (Holtzman et al., 2020): with p the softmax of
// the candidates' logits, it keeps the shortest prefix of the candidates
// in descending order of p (ties: lower id first) whose cumulative
// probability is ≥ P; the token that crosses P is kept. P ≥ 1: no
// change; P ≤ 0 keeps the most probable token. Found by a threshold
// search over masses summed in float64 (see the package comment), never
// by sorting the vocabulary.
func TopP(p float64) Stage { return Stage{kind: kTopP, f: [3]float64{p}} }

// MinP keeps the candidates with p_i ≥ P·max p, that is with logit ≥ max
// logit + ln P (compared in float64; no exponential). P ≤ 0: no change.
func MinP(p float64) Stage { return Stage{kind: kMinP, f: [3]float64{p}} }

// Typical is locally typical sampling (Meister et al., 2023): with p the
// softmax of the candidates and H = −Σ p ln p its entropy, it keeps the
// shortest prefix of the candidates in ascending order of |−ln p_i − H|
// (ties: lower id first) whose cumulative probability is ≥ P. P ≥ 1: no
// change. (llama.cpp stops at cumulative > P; here ≥, as for top_p.)
func Typical(p float64) Stage { return Stage{kind: kTypical, f: [3]float64{p}} }

// XTC is "exclude top choices" (p-e-w's XTC sampler, llama.cpp's
// semantics). It draws one uniform u from the row's stream every time it
// runs; when u ≤ probability, threshold ≤ 0.5 and there are at least two
// candidates, it removes every candidate with p ≥ threshold except the
// least probable of them (the last in descending order of p, ties by
// lower id), provided at least two have p ≥ threshold and min_keep
// candidates remain.
func XTC(probability, threshold float64) Stage {
	return Stage{kind: kXTC, f: [3]float64{probability, threshold}}
}

// Temp divides the candidates' logits by t (in float32). t ≤ 0 keeps only
// the largest logit (the lowest id among ties): greedy decoding.
func Temp(t float64) Stage { return Stage{kind: kTemp, f: [3]float64{t}} }

// DynTemp is the entropy-based dynamic temperature of llama.cpp
// ("temp-ext"): with H the entropy of the candidates' softmax and n > 1
// candidates, the logits are divided by
//
//	T = Tmin + (Tmax − Tmin)·(H / ln n)^exponent,  Tmin = max(0, t − delta), Tmax = t + delta
//
// (T ≤ 0: greedy, as Temp). One candidate: no change. delta ≤ 0 is Temp(t).
func DynTemp(t, delta, exponent float64) Stage {
	return Stage{kind: kTemp, f: [3]float64{t, delta, exponent}}
}

// Greedy ends a chain by taking the candidate with the largest logit (the
// lowest id among ties); it draws nothing from the stream.
func Greedy() Stage { return Stage{kind: kGreedy} }

// Dist ends a chain by drawing a token from the softmax of the remaining
// candidates: one uniform u from the row's stream, and the token is the
// first candidate, in ascending id order, whose cumulative mass exceeds
// u times the total (masses exp(z − max) in float32, sums in float64). A
// chain without a final stage ends with Dist.
func Dist() Stage { return Stage{kind: kDist} }

// Mirostat is Mirostat 1.0 (Basu et al., 2021) as in llama.cpp, with the
// row's state μ (2τ at the start). From the m most probable candidates it
// estimates the Zipf exponent ŝ = Σ t_i b_i / Σ t_i² with t_i = ln((i+2)/(i+1))
// and b_i = ln(p_i/p_{i+1}) (i < min(m, n) − 1), sets ε = ŝ − 1 and
//
//	k = (ε·2^μ / (1 − V^(−ε)))^(1/ŝ)   (k = 2^μ/ln V when ε = 0),
//
// keeps the max(1, ⌊k⌋) most probable candidates, draws as Dist does, and
// updates μ ← μ − η·(−log₂ p(token) − τ), p the kept candidates' softmax.
// V is the row's length. It ends a chain.
func Mirostat(tau, eta float64, m int) Stage {
	return Stage{kind: kMirostat, f: [3]float64{tau, eta}, n: m}
}

// MirostatV2 is Mirostat 2.0 as in llama.cpp: it keeps the candidates
// with surprise −log₂ p ≤ μ (the most probable one if none), that is with
// logit ≥ max + ln S − μ·ln 2 (S = Σ exp(z − max)), draws as Dist does and
// updates μ ← μ − η·(−log₂ p(token) − τ), p the kept candidates' softmax.
// μ starts at 2τ. It ends a chain.
func MirostatV2(tau, eta float64) Stage {
	return Stage{kind: kMirostatV2, f: [3]float64{tau, eta}}
}

// Default returns llama.cpp's default chain with its default parameters:
// penalties over the last 64 tokens (repeat 1, frequency 0, presence 0:
// off), DRY (multiplier 0: off), top_n_sigma (off), top_k 40, typical 1
// (off), top_p 0.95, min_p 0.05, xtc (probability 0: off), temp 0.8 and
// dist. The stages that are off cost nothing.
func Default() []Stage {
	return []Stage{
		Penalties(64, 1, 0, 0),
		DRY(DRYParams{Multiplier: 0, Base: 1.75, AllowedLength: 2, LastN: -1}),
		TopNSigma(-1),
		TopK(40),
		Typical(1),
		TopP(0.95),
		MinP(0.05),
		XTC(0, 0.1),
		Temp(0.8),
		Dist(),
	}
}

// check validates the stage's parameters.
func (s Stage) check() error {
	name := s.Name()
	bad := func(what string, v any) error {
		return fmt.Errorf("sample: %s: %s = %v: %w", name, what, v, ErrValue)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if s.minKeep < 0 {
		return bad("min_keep", s.minKeep)
	}
	switch s.kind {
	case kLogitBias:
		for _, b := range s.bias {
			if b.Token < 0 {
				return bad("token", b.Token)
			}
			if math.IsNaN(float64(b.Value)) || math.IsInf(float64(b.Value), 1) {
				return bad(fmt.Sprintf("bias of token %d", b.Token), b.Value)
			}
		}
	case kPenalties:
		if !(s.f[0] > 0) || !finite(s.f[0]) {
			return bad("repeat", s.f[0])
		}
		if !finite(s.f[1]) {
			return bad("frequency", s.f[1])
		}
		if !finite(s.f[2]) {
			return bad("presence", s.f[2])
		}
		if s.n < -1 {
			return bad("last_n", s.n)
		}
	case kDRY:
		d := s.dry
		if !finite(d.Multiplier) || d.Multiplier < 0 {
			return bad("multiplier", d.Multiplier)
		}
		if !finite(d.Base) {
			return bad("base", d.Base)
		}
		if d.AllowedLength < 0 {
			return bad("allowed_length", d.AllowedLength)
		}
		if d.LastN < -1 {
			return bad("last_n", d.LastN)
		}
		for i, b := range d.Breakers {
			if len(b) == 0 {
				return bad(fmt.Sprintf("breaker %d", i), "empty")
			}
			for _, t := range b {
				if t < 0 {
					return bad(fmt.Sprintf("breaker %d token", i), t)
				}
			}
		}
	case kTopK:
	case kTopP, kMinP, kTypical, kTopNSigma:
		if math.IsNaN(s.f[0]) {
			return bad("parameter", s.f[0])
		}
	case kXTC:
		if math.IsNaN(s.f[0]) || math.IsNaN(s.f[1]) {
			return bad("parameters", s.f[:2])
		}
	case kTemp:
		if !finite(s.f[0]) || !finite(s.f[1]) || !finite(s.f[2]) {
			return bad("parameters", s.f)
		}
	case kMirostat, kMirostatV2:
		if !finite(s.f[0]) || !(s.f[0] >= 0) {
			return bad("tau", s.f[0])
		}
		if !finite(s.f[1]) || !(s.f[1] >= 0) {
			return bad("eta", s.f[1])
		}
		if s.kind == kMirostat && s.n < 2 {
			return bad("m", s.n)
		}
	case kGreedy, kDist:
	default:
		return fmt.Errorf("sample: the zero Stage is not a stage: %w", ErrValue)
	}
	return nil
}

// checkChain validates a chain: every stage, and a final stage (if any)
// only at the end.
func checkChain(chain []Stage) error {
	for i, s := range chain {
		if err := s.check(); err != nil {
			return fmt.Errorf("stage %d: %w", i+1, err)
		}
		if s.kind.final() && i != len(chain)-1 {
			return fmt.Errorf("sample: stage %d (%s) draws the token and must be the last: %w", i+1, s.Name(), ErrValue)
		}
	}
	return nil
}

// String writes the stage in the chain syntax, which Parse reads back.
func (s Stage) String() string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	var b strings.Builder
	b.WriteString(s.Name())
	switch s.kind {
	case kLogitBias:
		b.WriteString("=")
		for i, x := range s.bias {
			if i > 0 {
				b.WriteString("|")
			}
			fmt.Fprintf(&b, "%d:%s", x.Token, strconv.FormatFloat(float64(x.Value), 'g', -1, 32))
		}
	case kPenalties:
		fmt.Fprintf(&b, "=%d,repeat=%s,frequency=%s,presence=%s", s.n, g(s.f[0]), g(s.f[1]), g(s.f[2]))
	case kDRY:
		d := s.dry
		fmt.Fprintf(&b, "=%s,base=%s,allowed_length=%d,last_n=%d", g(d.Multiplier), g(d.Base), d.AllowedLength, d.LastN)
		if len(d.Breakers) > 0 {
			b.WriteString(",breakers=")
			for i, br := range d.Breakers {
				if i > 0 {
					b.WriteString("|")
				}
				for j, t := range br {
					if j > 0 {
						b.WriteString(" ")
					}
					fmt.Fprint(&b, t)
				}
			}
		}
	case kTopK:
		fmt.Fprintf(&b, "=%d", s.n)
	case kTopP, kMinP, kTypical, kTopNSigma:
		b.WriteString("=" + g(s.f[0]))
	case kXTC:
		fmt.Fprintf(&b, "=%s,threshold=%s", g(s.f[0]), g(s.f[1]))
	case kTemp:
		b.WriteString("=" + g(s.f[0]))
		if s.f[1] != 0 || s.f[2] != 0 {
			fmt.Fprintf(&b, ",range=%s,exponent=%s", g(s.f[1]), g(s.f[2]))
		}
	case kMirostat:
		fmt.Fprintf(&b, "=%s,eta=%s,m=%d", g(s.f[0]), g(s.f[1]), s.n)
	case kMirostatV2:
		fmt.Fprintf(&b, "=%s,eta=%s", g(s.f[0]), g(s.f[1]))
	}
	if s.minKeep > 0 {
		fmt.Fprintf(&b, ",min_keep=%d", s.minKeep)
	}
	return b.String()
}

// Format writes a chain in the syntax Parse reads.
func Format(chain []Stage) string {
	parts := make([]string, len(chain))
	for i, s := range chain {
		parts[i] = s.String()
	}
	return strings.Join(parts, ";")
}
