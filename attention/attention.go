package attention

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
	"github.com/xentlab/xent/softmax"
)

// Float is the element type of the tensors: float32 (the fast path) or
// float64 (the reference path).
type Float = rowstat.Float

// ErrShape is wrapped by every error about the shape of the arguments.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrShape = xerr.ErrShape

// ErrValue is wrapped by every error about a value: a non-finite input, an
// option out of range.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

// Shape gives the sizes of the tensors, in the layout of PyTorch's
// scaled_dot_product_attention: Q is [Batch, Heads, Queries, Dim], K is
// [Batch, KVHeads, Keys, Dim], V is [Batch, KVHeads, Keys, ValueDim] and the
// output [Batch, Heads, Queries, ValueDim], all row-major and contiguous.
type Shape struct {
	Batch   int // B ≥ 0
	Heads   int // H ≥ 1, query heads
	KVHeads int // key/value heads; divides Heads (grouped-query and multi-query attention); 0 means Heads
	Queries int // S ≥ 0, query positions
	Keys    int // T ≥ 0, key positions
	Dim     int // d ≥ 1, the query and key head dimension
	// ValueDim is the value and output head dimension; 0 means Dim.
	ValueDim int
}

// Normalizer chooses the function that turns a row of scores into
// attention weights.
type Normalizer int

const (
	// Softmax: A_ij = exp(z_ij)/Σ_l exp(z_il), computed online (running
	// maximum and sum, merged as softmax.State merges).
	Softmax Normalizer = iota
	// Sigmoid: A_ij = σ(z_ij + b), rows not normalised (catalog A20); b is
	// Config.SigmoidBias, by default −ln T.
	Sigmoid
	// Softplus: A_ij = softplus(κ_i·z_ij)/Σ_l softplus(κ_i·z_il) (catalog
	// A26), with the length scale κ_i of Config.LengthBase.
	Softplus
)

// String returns the normalizer's name as the command line spells it.
func (n Normalizer) String() string {
	switch n {
	case Softmax:
		return "softmax"
	case Sigmoid:
		return "sigmoid"
	case Softplus:
		return "softplus"
	}
	return fmt.Sprintf("Normalizer(%d)", int(n))
}

// ParseNormalizer returns the normalizer named s ("softmax", "sigmoid" or
// "softplus").
func ParseNormalizer(s string) (Normalizer, error) {
	for _, n := range []Normalizer{Softmax, Sigmoid, Softplus} {
		if s == n.String() {
			return n, nil
		}
	}
	return 0, fmt.Errorf("attention: unknown normalizer %q (want softmax, sigmoid or softplus): %w", s, ErrValue)
}

// Config holds the options of an attention call. The zero Config is plain
// softmax attention with scale 1/√Dim and no mask.
type Config struct {
	// Scale multiplies q·k (0: 1/√Dim). Must be finite.
	Scale float64
	// Causal hides key j from query i unless j ≤ i + T − S: the mask is
	// aligned to the end of the keys, as for new queries against a
	// cache (for S = T it is the usual lower triangle).
	Causal bool
	// Window > 0 keeps only the keys within Window positions of the
	// query's aligned position i' = i + T − S: i' − Window < j < i' +
	// Window (with Causal: i' − Window < j ≤ i', the last Window keys).
	Window int
	// Softcap > 0 replaces each scaled score s by Softcap·tanh(s/Softcap)
	// before the bias is added (logit soft-capping). 0: off.
	Softcap float64
	// Normalizer chooses softmax (default), sigmoid or softplus weights.
	Normalizer Normalizer
	// SigmoidBias is b of the sigmoid normalizer; nil means −ln T (T the
	// number of keys), the paper's default.
	SigmoidBias *float64
	// Selective applies selective attention's position temperature to the
	// softmax (catalog B23): row i's scores are multiplied by
	// τ_i = 1 + exp(−exp(Beta))·ln n_i, n_i the number of keys row i sees.
	Selective bool
	// Beta is selective attention's β (the paper initialises it to 1.5).
	Beta float64
	// LengthBase > 1 sets the softplus normalizer's length scale
	// κ_i = ln n_i / ln LengthBase (n_i as for Selective); 0 means κ = 1.
	LengthBase float64
	// Threads sets the goroutines (≤ 0: GOMAXPROCS). Results do not depend
	// on it.
	Threads int
	// TileRows is the number of query rows one task of the float32
	// forward pass handles (0: 384). It changes speed and memory, never
	// results.
	TileRows int
}

// Input holds the operands of an attention call.
type Input[F Float] struct {
	Q, K, V []F
	Shape   Shape
	// Bias is an optional additive bias on the scores, of length S·T
	// (shared by every batch element and head), H·S·T (shared by the
	// batch) or B·H·S·T. −Inf entries mask; NaN and +Inf are errors.
	Bias []F
	// KeyPadding, of length B·T when given, marks keys to ignore (true:
	// padding), as PyTorch's key_padding_mask.
	KeyPadding []bool
}

// Output receives the results of the forward pass.
type Output[F Float] struct {
	// Out is the attention output, [B, H, S, ValueDim].
	Out []F
	// LSE, [B, H, S], optional on the forward pass and required by the
	// backward pass: each row's log-normaliser. Softmax: log Σ_j exp(z_ij)
	// (−Inf for a row that sees no key); softplus: log Σ_j softplus(κ_i
	// z_ij); sigmoid: log Σ_j σ(z_ij + b), the log of the row's total
	// weight (not used by the backward pass).
	LSE []F
}

// Grad receives the gradients of the backward pass, each overwritten: dQ
// [B, H, S, Dim], dK [B, KVHeads, T, Dim], dV [B, KVHeads, T, ValueDim]
// (summed over the query heads that share a key/value head).
type Grad[F Float] struct {
	DQ, DK, DV []F
	// DBeta receives ∂L/∂β with Config.Selective (else 0).
	DBeta float64
}

// dims is a validated Shape with its defaults filled in.
type dims struct {
	B, H, Hkv, S, T, D, Dv int
	G                      int // query heads per key/value head
}

func (s Shape) resolve() (dims, error) {
	d := dims{B: s.Batch, H: s.Heads, Hkv: s.KVHeads, S: s.Queries, T: s.Keys, D: s.Dim, Dv: s.ValueDim}
	if d.Hkv == 0 {
		d.Hkv = d.H
	}
	if d.Dv == 0 {
		d.Dv = d.D
	}
	switch {
	case d.B < 0 || d.S < 0 || d.T < 0:
		return d, fmt.Errorf("attention: Batch %d, Queries %d, Keys %d: want ≥ 0: %w", d.B, d.S, d.T, ErrShape)
	case d.H < 1 || d.Hkv < 1 || d.D < 1 || d.Dv < 1:
		return d, fmt.Errorf("attention: Heads %d, KVHeads %d, Dim %d, ValueDim %d: want ≥ 1: %w", d.H, d.Hkv, d.D, d.Dv, ErrShape)
	case d.H%d.Hkv != 0:
		return d, fmt.Errorf("attention: KVHeads %d does not divide Heads %d: %w", d.Hkv, d.H, ErrShape)
	}
	d.G = d.H / d.Hkv
	// Every tensor's element count (and B·H·S·T, the pairs) must fit an
	// int, so that no index computation overflows.
	for _, p := range [][]int{{d.B, d.H, d.S, d.D}, {d.B, d.H, d.S, d.Dv}, {d.B, d.Hkv, d.T, d.D}, {d.B, d.Hkv, d.T, d.Dv}, {d.B, d.H, d.S, d.T}} {
		if _, ok := product(p...); !ok {
			return d, fmt.Errorf("attention: shape %+v: a tensor has more elements than an int holds: %w", s, ErrShape)
		}
	}
	return d, nil
}

// product returns the product of xs (all ≥ 0) and whether it fits an int.
func product(xs ...int) (int, bool) {
	p := 1
	for _, x := range xs {
		if x == 0 {
			return 0, true
		}
		if p > math.MaxInt/x {
			return 0, false
		}
		p *= x
	}
	return p, true
}

// plan is a validated call: sizes, resolved options and per-batch padding
// counts.
type plan struct {
	dims
	scale      float64
	softcap    float64
	causal     bool
	window     int
	norm       Normalizer
	sigBias    float64
	selective  bool
	beta       float64
	lengthBase float64
	threads    int
	tileRows   int
	biasMode   int     // 0: none; 1: [S,T]; 2: [H,S,T]; 3: [B,H,S,T]
	padPrefix  [][]int // per batch element, number of padded keys before j (nil: no padding)
	keyPad     []bool
}

// newPlan checks the shape of every tensor and the options.
func newPlan[F Float](c Config, in Input[F], outLen, lseLen int, needLSE bool) (*plan, error) {
	d, err := in.Shape.resolve()
	if err != nil {
		return nil, err
	}
	p := &plan{dims: d, causal: c.Causal, window: c.Window, norm: c.Normalizer, selective: c.Selective,
		beta: c.Beta, lengthBase: c.LengthBase, tileRows: c.TileRows}
	qn, kn, vn, on := d.B*d.H*d.S*d.D, d.B*d.Hkv*d.T*d.D, d.B*d.Hkv*d.T*d.Dv, d.B*d.H*d.S*d.Dv
	for _, t := range []struct {
		name      string
		got, want int
		what      string
	}{
		{"q", len(in.Q), qn, "B·H·S·Dim"},
		{"k", len(in.K), kn, "B·KVHeads·T·Dim"},
		{"v", len(in.V), vn, "B·KVHeads·T·ValueDim"},
		{"out", outLen, on, "B·H·S·ValueDim"},
	} {
		if t.got != t.want {
			return nil, fmt.Errorf("attention: len(%s) = %d, want %s = %d: %w", t.name, t.got, t.what, t.want, ErrShape)
		}
	}
	if (needLSE || lseLen != 0) && lseLen != d.B*d.H*d.S {
		return nil, fmt.Errorf("attention: len(lse) = %d, want B·H·S = %d: %w", lseLen, d.B*d.H*d.S, ErrShape)
	}
	switch n := len(in.Bias); {
	case n == 0:
	case n == d.S*d.T:
		p.biasMode = 1
	case n == d.H*d.S*d.T:
		p.biasMode = 2
	case n == d.B*d.H*d.S*d.T:
		p.biasMode = 3
	default:
		return nil, fmt.Errorf("attention: len(bias) = %d, want S·T = %d, H·S·T = %d or B·H·S·T = %d: %w",
			n, d.S*d.T, d.H*d.S*d.T, d.B*d.H*d.S*d.T, ErrShape)
	}
	for i, b := range in.Bias {
		if math.IsNaN(float64(b)) || math.IsInf(float64(b), 1) {
			return nil, fmt.Errorf("attention: bias[%d] = %v: want finite or −Inf: %w", i, b, ErrValue)
		}
	}
	if in.KeyPadding != nil {
		if len(in.KeyPadding) != d.B*d.T {
			return nil, fmt.Errorf("attention: len(keyPadding) = %d, want B·T = %d: %w", len(in.KeyPadding), d.B*d.T, ErrShape)
		}
		p.keyPad = in.KeyPadding
		p.padPrefix = make([][]int, d.B)
		for b := range d.B {
			pp := make([]int, d.T+1)
			for j := range d.T {
				pp[j+1] = pp[j]
				if in.KeyPadding[b*d.T+j] {
					pp[j+1]++
				}
			}
			p.padPrefix[b] = pp
		}
	}
	if err := p.options(c); err != nil {
		return nil, err
	}
	return p, nil
}

// options checks and resolves the scalar options.
func (p *plan) options(c Config) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(c.Scale):
		return fmt.Errorf("attention: Scale %v: want a finite number: %w", c.Scale, ErrValue)
	case !finite(c.Softcap) || c.Softcap < 0:
		return fmt.Errorf("attention: Softcap %v: want 0 (off) or a finite positive number: %w", c.Softcap, ErrValue)
	case c.Window < 0:
		return fmt.Errorf("attention: Window %d: want ≥ 0 (0: no window): %w", c.Window, ErrValue)
	case c.Normalizer < Softmax || c.Normalizer > Softplus:
		return fmt.Errorf("attention: %v: unknown normalizer: %w", c.Normalizer, ErrValue)
	case c.Selective && c.Normalizer != Softmax:
		return fmt.Errorf("attention: Selective applies to the softmax normalizer, not %v: %w", c.Normalizer, ErrValue)
	case c.Selective && !finite(c.Beta):
		return fmt.Errorf("attention: Beta %v: want a finite number: %w", c.Beta, ErrValue)
	case c.LengthBase != 0 && c.Normalizer != Softplus:
		return fmt.Errorf("attention: LengthBase applies to the softplus normalizer, not %v: %w", c.Normalizer, ErrValue)
	case c.LengthBase != 0 && (!(c.LengthBase > 1) || !finite(c.LengthBase)):
		return fmt.Errorf("attention: LengthBase %v: want 0 (κ = 1) or a finite number > 1: %w", c.LengthBase, ErrValue)
	case c.SigmoidBias != nil && c.Normalizer != Sigmoid:
		return fmt.Errorf("attention: SigmoidBias applies to the sigmoid normalizer, not %v: %w", c.Normalizer, ErrValue)
	case c.SigmoidBias != nil && !finite(*c.SigmoidBias):
		return fmt.Errorf("attention: SigmoidBias %v: want a finite number: %w", *c.SigmoidBias, ErrValue)
	case c.TileRows < 0:
		return fmt.Errorf("attention: TileRows %d: want ≥ 0: %w", c.TileRows, ErrValue)
	}
	p.scale = c.Scale
	if p.scale == 0 {
		p.scale = 1 / math.Sqrt(float64(p.D))
	}
	p.softcap = c.Softcap
	if c.Normalizer == Sigmoid {
		p.sigBias = softmax.SigmoidBias(max(p.T, 1))
		if c.SigmoidBias != nil {
			p.sigBias = *c.SigmoidBias
		}
	}
	p.threads = c.Threads
	if p.tileRows == 0 {
		p.tileRows = defaultTileRows
	}
	return nil
}

// interval returns the keys [lo, hi) that the causal and window masks leave
// visible to query i (empty when lo ≥ hi).
func (p *plan) interval(i int) (lo, hi int) {
	ip := i + p.T - p.S // the query's position among the keys
	lo, hi = 0, p.T
	if p.causal {
		hi = min(hi, ip+1)
	}
	if p.window > 0 {
		lo = max(lo, ip-p.window+1)
		if !p.causal {
			hi = min(hi, ip+p.window)
		}
	}
	return max(lo, 0), max(hi, 0)
}

// visible returns n_i, the number of keys query i of batch element b sees
// under the causal, window and padding masks (−Inf bias entries are not
// counted).
func (p *plan) visible(b, i int) int {
	lo, hi := p.interval(i)
	if lo >= hi {
		return 0
	}
	n := hi - lo
	if p.padPrefix != nil {
		pp := p.padPrefix[b]
		n -= pp[hi] - pp[lo]
	}
	return n
}

// rowFactor returns the factor that multiplies row i's scores before the
// normalizer: selective attention's τ_i, or softplus's κ_i; 1 otherwise.
func (p *plan) rowFactor(b, i int) float64 {
	switch {
	case p.selective:
		return softmax.SelectiveTemperature(p.beta, max(p.visible(b, i), 1))
	case p.norm == Softplus && p.lengthBase != 0:
		n := p.visible(b, i)
		if n == 0 {
			return 1
		}
		return math.Log(float64(n)) / math.Log(p.lengthBase)
	}
	return 1
}

// biasRow returns the offset of row (b, h, i) of the bias, or −1 without
// a bias.
func (p *plan) biasRow(b, h, i int) int {
	switch p.biasMode {
	case 1:
		return i * p.T
	case 2:
		return (h*p.S + i) * p.T
	case 3:
		return ((b*p.H+h)*p.S + i) * p.T
	}
	return -1
}

// padded reports whether key j of batch element b is padding.
func (p *plan) padded(b, j int) bool {
	return p.keyPad != nil && p.keyPad[b*p.T+j]
}

// blockPadding returns the padding flags of keys [j0, j1) of batch element
// b, or nil when none of them is padding.
func (p *plan) blockPadding(b, j0, j1 int) []bool {
	if p.padPrefix == nil || p.padPrefix[b][j1] == p.padPrefix[b][j0] {
		return nil
	}
	return p.keyPad[b*p.T+j0 : b*p.T+j1]
}

// allPadded reports whether every key of [j0, j1) of batch element b is
// padding.
func (p *plan) allPadded(b, j0, j1 int) bool {
	return p.padPrefix != nil && p.padPrefix[b][j1]-p.padPrefix[b][j0] == j1-j0
}

// checkGrad checks the lengths of the backward pass's dOut and gradients.
func (p *plan) checkGrad(dout, dq, dk, dv int) error {
	for _, t := range []struct {
		name      string
		got, want int
	}{
		{"dOut", dout, p.B * p.H * p.S * p.Dv},
		{"dQ", dq, p.B * p.H * p.S * p.D},
		{"dK", dk, p.B * p.Hkv * p.T * p.D},
		{"dV", dv, p.B * p.Hkv * p.T * p.Dv},
	} {
		if t.got != t.want {
			return fmt.Errorf("attention: len(%s) = %d, want %d: %w", t.name, t.got, t.want, ErrShape)
		}
	}
	return nil
}
