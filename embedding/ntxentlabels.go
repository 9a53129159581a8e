package embedding

import "math"

// nameNtXentLabels is the registry name of this file's loss.
const nameNtXentLabels = "nt-xent-labels"

// NTXentLabels is NT-Xent over label groups with the semantics of Optax's
// ntxent (and pytorch-metric-learning's NTXentLoss): any number of views
// share a label, and every ordered pair (a, p) of distinct views with the
// same label is a positive pair, scored against the anchor's negatives
// (the views with another label) and that one positive,
//
//	ℓ_ap = −log( e^{s_ap} / (e^{s_ap} + Σ_{n: y_n ≠ y_a} e^{s_an}) ),   s = ⟨v̂_a, v̂_b⟩/τ,
//	L = mean of ℓ_ap over all positive pairs,
//
// so, unlike SupCon, the other positives are not in the denominator. The
// views are the rows of Embeddings, then those of Positives when given
// (the item's second view, with its label); without Labels each item is
// its own group, and L is SimCLR's NT-Xent (equal to nt-xent). Gradients:
// ∂ℓ_ap/∂s_ap = q_ap − 1, ∂ℓ_ap/∂s_an = q_an with q the softmax over
// {p} ∪ negatives, divided by the number of pairs, then through the
// normalisation. A batch without positive pairs has loss 0 (Optax
// divides 0 by 0). Optax's cosine similarity divides by
// max(‖x‖‖y‖, ε); here a zero row is an error. Default τ = 0.07
// (Optax's). Inputs: Embeddings [N, Dim], and Labels [N] or Positives
// [N, Dim] or both.
type NTXentLabels struct {
	Temperature float64
	Normalize   bool
}

// NewNTXentLabels returns the loss with temperature tau (> 0).
func NewNTXentLabels(tau float64, normalize bool) (*NTXentLabels, error) {
	if err := param(nameNtXentLabels, "temperature", tau, tau > 0); err != nil {
		return nil, err
	}
	return &NTXentLabels{tau, normalize}, nil
}

// Name returns "nt-xent-labels".
func (*NTXentLabels) Name() string { return nameNtXentLabels }

// Eval32 evaluates the loss on float32 inputs.
func (l *NTXentLabels) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *NTXentLabels) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*NTXentLabels) lossName() string { return nameNtXentLabels }
func (*NTXentLabels) reads() needs     { return optPositives | optLabels }

func (l *NTXentLabels) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	g, err := groupViews(b, l.Normalize, l.Temperature)
	if err != nil {
		return 0, err
	}
	m := g.m
	pairs := 0
	for a := 0; a < m; a++ {
		pairs += g.positives(a)
	}
	if pairs == 0 {
		return 0, nil
	}
	w := 1 / float64(pairs)
	gs := make([]float64, m*m)
	var total float64
	for a := 0; a < m; a++ {
		if g.positives(a) == 0 {
			continue
		}
		sa := g.s[a*m : (a+1)*m]
		// Shift by the largest similarity of the anchor's negatives and
		// positives.
		mx := math.Inf(-1)
		for c := 0; c < m; c++ {
			if c != a {
				mx = max(mx, sa[c])
			}
		}
		var neg float64
		for c := 0; c < m; c++ {
			if g.y[c] != g.y[a] {
				neg += math.Exp(sa[c] - mx)
			}
		}
		// Σ_p 1/D_p gives the negatives' gradient weight.
		var inv float64
		for p := 0; p < m; p++ {
			if p == a || g.y[p] != g.y[a] {
				continue
			}
			ep := math.Exp(sa[p] - mx)
			den := neg + ep
			total += w * (math.Log(den) - (sa[p] - mx))
			gs[a*m+p] += w * (ep/den - 1) / l.Temperature
			inv += 1 / den
		}
		for c := 0; c < m; c++ {
			if g.y[c] != g.y[a] {
				gs[a*m+c] += w * math.Exp(sa[c]-mx) * inv / l.Temperature
			}
		}
	}
	g.back(b, gs)
	return total, nil
}

func init() {
	Register(temperatureNormalize(nameNtXentLabels, "NT-Xent over label groups (Optax's ntxent): each same-label pair against the anchor's negatives", AcceptsPositives|AcceptsLabels, 0.07, NewNTXentLabels))
}
