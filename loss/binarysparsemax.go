package loss

// nameBinarySparsemax is the registry name of this file's loss.
const nameBinarySparsemax = "binary-sparsemax"

// BinarySparsemax is the binary (single-logit) sparsemax loss of Blondel,
// Martins and Niculae, "Learning with Fenchel-Young Losses" (JMLR 2020,
// §4.4), Optax's sparsemax_loss: the Fenchel–Young loss of the sparse
// sigmoid, zero exactly when sparse_sigmoid(x) equals the target. With
// z = −x for a positive target (1) and z = x for a negative one (0 or
// −1),
//
//	ℓ = sparse_plus(z) = 0 (z ≤ −1),  (z + 1)²/4 (−1 < z < 1),  z (z ≥ 1),
//	∂ℓ/∂x = ∓ sparse_sigmoid(z),  sparse_sigmoid(z) = clip((z + 1)/2, 0, 1).
//
// It is the two-class sparsemax loss on logits [x, 0] without building
// the [N, 2] matrix: a [N] vector of logits is [N, 1] (Cols 1). Once-
// differentiable (no kinks in the value). Reductions, weights and errors
// as SigmoidFocal. Exact in float64.
type BinarySparsemax struct {
	o Options
}

// NewBinarySparsemax returns the loss.
func NewBinarySparsemax(opts ...Option) (*BinarySparsemax, error) {
	o, err := buildElem(nameBinarySparsemax, opts)
	if err != nil {
		return nil, err
	}
	return &BinarySparsemax{o}, nil
}

// Name returns "binary-sparsemax".
func (*BinarySparsemax) Name() string { return nameBinarySparsemax }

// Eval32 evaluates the loss on float32 logits and targets.
func (b *BinarySparsemax) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalElementwise(b.cfg(), in, out, binarySparsemaxElem)
}

// Eval64 evaluates the loss on float64 logits and targets.
func (b *BinarySparsemax) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalElementwise(b.cfg(), in, out, binarySparsemaxElem)
}

func (b *BinarySparsemax) cfg() elemCfg {
	return elemCfg{name: nameBinarySparsemax, o: b.o, domain: "targets are 1, or 0 or −1 for the negative class"}
}

func binarySparsemaxElem(x, y float64) (float64, float64, bool) {
	s, ok := signedTarget(y)
	if !ok {
		return 0, 0, false
	}
	z := -s * x
	switch {
	case z <= -1:
		return 0, 0, true
	case z >= 1:
		return z, -s, true
	}
	return (z + 1) * (z + 1) / 4, -s * (z + 1) / 2, true
}

func init() {
	Register(Spec{
		Name:    nameBinarySparsemax,
		Summary: "binary sparsemax loss sparse_plus(∓x) per logit (Optax's sparsemax_loss; two-class sparsemax without [N, 2])",
		Needs:   NeedsTargets,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewBinarySparsemax(opts...)
		},
	})
}
