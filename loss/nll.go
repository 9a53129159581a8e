package loss

// nameNll is the registry name of this file's loss.
const nameNll = "nll"

// NLL is the negative log-likelihood of PyTorch's NLLLoss: Input.Logits
// already holds log-probabilities (a log-softmax output), and row i with
// label y_i contributes
//
//	ℓ_i = −w_{y_i}·x_{i,y_i},   ∂ℓ_i/∂x_{i,j} = −w_{y_i}·[j = y_i],
//
// with class weights w (default 1). Mean divides by Σ r_i·w_{y_i} over the
// rows whose label is not the ignore index (PyTorch's weighted mean;
// default ignore index −100), Sum adds, None writes each row's loss.
// Row weights r multiply the rows. It is cross-entropy without the
// log-softmax: NLL(log_softmax(z)) = cross-entropy(z) in value (the
// gradient is with respect to the log-probabilities).
//
// The log-probabilities are not checked to be normalised or ≤ 0
// (PyTorch does not check either); NaN or +Inf in a counted row, and −Inf
// at the label (an infinite loss), are errors; −Inf elsewhere is allowed.
// Label smoothing, z-loss and soft-capping are rejected. Exact in
// float64.
type NLL struct {
	o Options
}

// NewNLL returns the loss.
func NewNLL(opts ...Option) (*NLL, error) {
	o, err := buildHard(nameNll, opts, true)
	if err != nil {
		return nil, err
	}
	return &NLL{o}, nil
}

// Name returns "nll".
func (*NLL) Name() string { return nameNll }

// Eval32 evaluates the loss on float32 log-probabilities and labels.
func (l *NLL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalNLL(l, in, out)
}

// Eval64 evaluates the loss on float64 log-probabilities and labels.
func (l *NLL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalNLL(l, in, out)
}

func evalNLL[E exact](l *NLL, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameNll, o: l.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(_ int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			v := -float64(x[y])
			if g != nil {
				clear(g)
				g[y] = E(-gs)
			}
			return v, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:    nameNll,
		Summary: "negative log-likelihood −w_y·x_y of log-probabilities (PyTorch's NLLLoss: class weights, ignore index, weighted mean)",
		Needs:   NeedsLabels,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewNLL(opts...)
		},
	})
}
