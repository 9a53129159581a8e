package embedding

import "math"

// nameSupcon is the registry name of this file's loss.
const nameSupcon = "supcon"

// SupCon is the supervised contrastive loss of Khosla, Teterwak, Wang et
// al., "Supervised Contrastive Learning" (NeurIPS 2020), L^sup_out: any
// number of views share a label, and every other view with the same
// label is a positive of an anchor. The views v are the rows of
// Embeddings, followed by those of Positives when given (a second view of
// each item, with the item's label); their labels are Labels, or, without
// Labels, the item index (each item's two views are each other's only
// positive, SimCLR's NT-Xent). With s_ab = ⟨v̂_a, v̂_b⟩/τ,
//
//	ℓ_a = −(1/|P(a)|) Σ_{p∈P(a)} [s_ap − log Σ_{b≠a} e^{s_ab}],   P(a) = {b ≠ a: y_b = y_a},
//	L = (1/|A|) Σ_{a∈A} ℓ_a,   A = the anchors with P(a) non-empty,
//
// and ∂L/∂s_ab = (softmax_{b≠a}(s_a)_b − [b ∈ P(a)]/|P(a)|)/|A|, then
// through the normalisation. An anchor without a positive is left out
// (implementations differ: some count it as 0 in the mean, older ones
// give NaN); a batch without any positive pair has loss 0. The reference
// code's extra factor τ/τ_base is 1 at its defaults and is not applied.
// Default τ = 0.07 (the reference code's). Inputs: Embeddings [N, Dim],
// and Labels [N] or Positives [N, Dim] or both.
type SupCon struct {
	Temperature float64
	Normalize   bool
}

// NewSupCon returns SupCon with temperature tau (> 0).
func NewSupCon(tau float64, normalize bool) (*SupCon, error) {
	if err := param(nameSupcon, "temperature", tau, tau > 0); err != nil {
		return nil, err
	}
	return &SupCon{tau, normalize}, nil
}

// Name returns "supcon".
func (*SupCon) Name() string { return nameSupcon }

// Eval32 evaluates the loss on float32 inputs.
func (l *SupCon) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *SupCon) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*SupCon) lossName() string { return nameSupcon }
func (*SupCon) reads() needs     { return optPositives | optLabels }

func (l *SupCon) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	g, err := groupViews(b, l.Normalize, l.Temperature)
	if err != nil {
		return 0, err
	}
	m := g.m
	row, p := make([]float64, m), make([]float64, m)
	anchors := 0
	for a := 0; a < m; a++ {
		if g.positives(a) > 0 {
			anchors++
		}
	}
	if anchors == 0 {
		return 0, nil
	}
	w := 1 / float64(anchors)
	gs := make([]float64, m*m)
	var total float64
	for a := 0; a < m; a++ {
		np := g.positives(a)
		if np == 0 {
			continue
		}
		for c := 0; c < m; c++ {
			row[c] = g.s[a*m+c]
		}
		row[a] = math.Inf(-1)
		lse := logSoftmaxRow(p, row)
		var pos float64
		for c := 0; c < m; c++ {
			if c != a && g.y[c] == g.y[a] {
				pos += row[c]
			}
		}
		total += w * (lse - pos/float64(np))
		for c := 0; c < m; c++ {
			d := p[c]
			if c != a && g.y[c] == g.y[a] {
				d -= 1 / float64(np)
			}
			gs[a*m+c] += w * d / l.Temperature
		}
	}
	g.back(b, gs)
	return total, nil
}

// views is a batch of views for the label-group losses: the normalised
// rows v (Embeddings, then Positives), their group labels y, the scaled
// similarities s = v·vᵀ/τ and what the backward pass needs.
type views struct {
	v, zn, pn []float64
	y         []int64
	s         []float64
	m         int
	normalize bool
}

func groupViews(b *batch, normalize bool, tau float64) (*views, error) {
	if b.labels == nil && b.pos == nil {
		return nil, shapeErr(b.name, "needs Labels or Positives (or both)")
	}
	zu, zn, pu, pn, err := maybeUnit(b.name, normalize, b.z, b.pos, b.d)
	if err != nil {
		return nil, err
	}
	g := &views{zn: zn, pn: pn, normalize: normalize}
	g.v = append([]float64(nil), zu...)
	g.v = append(g.v, pu...)
	g.m = len(g.v) / b.d
	g.y = make([]int64, g.m)
	for a := range g.y {
		i := a % b.n
		g.y[a] = int64(i)
		if b.labels != nil {
			g.y[a] = b.labels[i]
		}
	}
	g.s = gram(g.v, g.v, b.d)
	for i := range g.s {
		g.s[i] /= tau
	}
	return g, nil
}

// positives returns the number of views other than a sharing a's label.
func (g *views) positives(a int) int {
	k := 0
	for c, y := range g.y {
		if c != a && y == g.y[a] {
			k++
		}
	}
	return k
}

// back sends gs = ∂L/∂s (s = v·vᵀ/τ, with the 1/τ already applied) to
// the gradients of Embeddings and Positives.
func (g *views) back(b *batch, gs []float64) {
	if b.gz == nil && b.gpos == nil {
		return
	}
	n, d := b.n, b.d
	gv := make([]float64, g.m*d)
	backGram(gv, gv, gs, g.v, g.v, d)
	if b.gz != nil {
		finish(b.gz, gv[:n*d], g.v[:n*d], g.zn, g.normalize, d)
	}
	if b.gpos != nil {
		finish(b.gpos, gv[n*d:], g.v[n*d:], g.pn, g.normalize, d)
	}
}

func init() {
	Register(temperatureNormalize(nameSupcon, "supervised contrastive loss (SupCon L_out): every other view with the anchor's label is a positive", AcceptsPositives|AcceptsLabels, 0.07, NewSupCon))
}
