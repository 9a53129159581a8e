package embedding

import "math"

// nameTripletMargin is the registry name of this file's loss.
const nameTripletMargin = "triplet-margin"

// TripletMargin is PyTorch's triplet_margin_loss (Balntas, Riba, Ponsa,
// Mikolajczyk, "Learning local feature descriptors with triplets and
// shallow convolutional neural networks", BMVC 2016): anchor a_i
// (Embeddings), positive p_i (Positives) and negative n_i (Negatives),
//
//	d(x, y) = ‖x − y + ε‖_p   (ε added to every component, as PyTorch's pairwise_distance),
//	ℓ_i = max(0, d(a_i, p_i) − d⁻_i + m),   L = (1/N) Σ_i ℓ_i,
//
// with d⁻_i = d(a_i, n_i), or with Swap (the distance swap)
// min(d(a_i, n_i), d(p_i, n_i)). Defaults (NewTripletMargin): margin 1,
// p = 2, ε = 1e-6, no swap. Gradients: ∂‖v‖_p/∂v_k =
// sign(v_k)·(|v_k|/‖v‖_p)^(p−1) (0 at v = 0) through each distance, for
// every triplet with ℓ_i ≥ 0 computed as active at exactly 0 (PyTorch's
// clamp_min passes the gradient there), and shared half and half between
// the two negative distances when the swap ties (as torch.min). Norms are
// scaled against overflow. Inputs: Embeddings, Positives, Negatives
// [N, Dim]; the rows are not normalised.
type TripletMargin struct {
	Margin float64
	P      float64
	Eps    float64
	Swap   bool
}

// NewTripletMargin returns the loss with a finite margin, p ≥ 1 and a
// finite ε.
func NewTripletMargin(margin, p, eps float64, swap bool) (*TripletMargin, error) {
	l := &TripletMargin{margin, p, eps, swap}
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *TripletMargin) check() error {
	if err := param(nameTripletMargin, "margin", l.Margin, true); err != nil {
		return err
	}
	if err := param(nameTripletMargin, "p", l.P, l.P >= 1); err != nil {
		return err
	}
	return param(nameTripletMargin, "eps", l.Eps, true)
}

// Name returns "triplet-margin".
func (*TripletMargin) Name() string { return nameTripletMargin }

// Eval32 evaluates the loss on float32 inputs.
func (l *TripletMargin) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *TripletMargin) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*TripletMargin) lossName() string { return nameTripletMargin }
func (*TripletMargin) reads() needs     { return needPositives | needNegatives }

func (l *TripletMargin) eval(b *batch) (float64, error) {
	if err := l.check(); err != nil {
		return 0, err
	}
	n, d := b.n, b.d
	vap, van, vpn := make([]float64, d), make([]float64, d), make([]float64, d)
	gap, gan, gpn := make([]float64, d), make([]float64, d), make([]float64, d)
	var total float64
	w := 1 / float64(n)
	for i := 0; i < n; i++ {
		a, p, ng := b.z[i*d:(i+1)*d], b.pos[i*d:(i+1)*d], b.neg[i*d:(i+1)*d]
		for k := range a {
			vap[k] = a[k] - p[k] + l.Eps
			van[k] = a[k] - ng[k] + l.Eps
		}
		dap, dan := pnorm(vap, l.P), pnorm(van, l.P)
		// Weights of d(a, n) and d(p, n) in d⁻.
		wan, wpn := 1.0, 0.0
		dneg := dan
		var dpn float64
		if l.Swap {
			for k := range p {
				vpn[k] = p[k] - ng[k] + l.Eps
			}
			dpn = pnorm(vpn, l.P)
			switch {
			case dpn < dan:
				wan, wpn, dneg = 0, 1, dpn
			case dpn == dan:
				wan, wpn = 0.5, 0.5
			}
		}
		h := dap - dneg + l.Margin
		if h < 0 {
			continue
		}
		total += w * h
		pnormGrad(gap, vap, dap, l.P)
		pnormGrad(gan, van, dan, l.P)
		if wpn != 0 {
			pnormGrad(gpn, vpn, dpn, l.P)
		}
		for k := 0; k < d; k++ {
			if b.gz != nil {
				b.gz[i*d+k] += w * (gap[k] - wan*gan[k])
			}
			if b.gpos != nil {
				b.gpos[i*d+k] += w * (-gap[k] - wpn*gpn[k])
			}
			if b.gneg != nil {
				b.gneg[i*d+k] += w * (wan*gan[k] + wpn*gpn[k])
			}
		}
	}
	return total, nil
}

// pnorm returns ‖v‖_p (p ≥ 1), scaled by the largest |v_k| against
// overflow and underflow.
func pnorm(v []float64, p float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	if m == 0 || math.IsInf(m, 0) {
		return m
	}
	var s float64
	for _, x := range v {
		r := math.Abs(x) / m
		switch p {
		case 1:
			s += r
		case 2:
			s += r * r
		default:
			s += math.Pow(r, p)
		}
	}
	switch p {
	case 1:
		return m * s
	case 2:
		return m * math.Sqrt(s)
	}
	return m * math.Pow(s, 1/p)
}

// pnormGrad sets g = ∂‖v‖_p/∂v = sign(v)·(|v|/‖v‖)^(p−1), 0 at v = 0.
func pnormGrad(g, v []float64, nrm, p float64) {
	for k, x := range v {
		switch {
		case nrm == 0 || x == 0:
			g[k] = 0
		case p == 1:
			g[k] = math.Copysign(1, x)
		case p == 2:
			g[k] = x / nrm
		default:
			g[k] = math.Copysign(math.Pow(math.Abs(x)/nrm, p-1), x)
		}
	}
}

func init() {
	Register(Spec{
		Name:    nameTripletMargin,
		Summary: "PyTorch's triplet_margin_loss max(0, ‖a − p + ε‖_p − ‖a − n + ε‖_p + margin) on explicit negatives",
		Needs:   NeedsPositives | NeedsNegatives,
		Params: []Param{{"margin", 1, "margin m"}, {"p", 2, "norm degree p ≥ 1"}, {"eps", 1e-6, "ε added to each difference"},
			{"swap", 0, "1: the distance swap, min(d(a, n), d(p, n))"}},
		New: func(p map[string]float64) (Loss, error) {
			swap, err := flag(p, "swap")
			if err != nil {
				return nil, err
			}
			return NewTripletMargin(p["margin"], p["p"], p["eps"], swap)
		},
	})
}
