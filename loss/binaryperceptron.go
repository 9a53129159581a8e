package loss

// nameBinaryPerceptron is the registry name of this file's loss.
const nameBinaryPerceptron = "binary-perceptron"

// BinaryPerceptron is the binary (single-logit) perceptron loss, Optax's
// perceptron_loss: every logit x is scored against its own target
// (Input.Targets, the shape of the logits; 1 for the positive class, 0 or
// −1 for the negative one, s = ±1),
//
//	ℓ = max(0, −s·x),   ∂ℓ/∂x = −s where s·x < 0, else 0
//
// (a logit of exactly 0 has loss 0 and gradient 0). A [N] vector of
// logits is [N, 1] (Cols 1). Reductions, weights and errors as
// SigmoidFocal. Exact in float64.
type BinaryPerceptron struct {
	o Options
}

// NewBinaryPerceptron returns the loss.
func NewBinaryPerceptron(opts ...Option) (*BinaryPerceptron, error) {
	o, err := buildElem(nameBinaryPerceptron, opts)
	if err != nil {
		return nil, err
	}
	return &BinaryPerceptron{o}, nil
}

// Name returns "binary-perceptron".
func (*BinaryPerceptron) Name() string { return nameBinaryPerceptron }

// Eval32 evaluates the loss on float32 logits and targets.
func (p *BinaryPerceptron) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalElementwise(p.cfg(), in, out, binaryPerceptronElem)
}

// Eval64 evaluates the loss on float64 logits and targets.
func (p *BinaryPerceptron) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalElementwise(p.cfg(), in, out, binaryPerceptronElem)
}

func (p *BinaryPerceptron) cfg() elemCfg {
	return elemCfg{name: nameBinaryPerceptron, o: p.o, domain: "targets are 1, or 0 or −1 for the negative class"}
}

func binaryPerceptronElem(x, y float64) (float64, float64, bool) {
	s, ok := signedTarget(y)
	if !ok {
		return 0, 0, false
	}
	if z := -s * x; z > 0 {
		return z, -s, true
	}
	return 0, 0, true
}

func init() {
	Register(Spec{
		Name:    nameBinaryPerceptron,
		Summary: "binary perceptron max(0, −s·x) per logit, s = ±1 from targets 1 / 0 or −1 (Optax's perceptron_loss)",
		Needs:   NeedsTargets,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewBinaryPerceptron(opts...)
		},
	})
}
