package embedding

// CACR is the contrastive attraction / contrastive repulsion loss (catalog
// A1: Zheng et al., "Contrastive Attraction and Contrastive Repulsion for
// Representation Learning", 2023). Each anchor a attracts its positives
// and repels its negatives, each group weighted by a softmax over its own
// squared distances so that distant positives and close negatives count
// most:
//
//	d_j = ‖ẑ_a − ẑ_j⁺‖²,  w = softmax(τ⁺·d),   L_att,a = α Σ_j w_j d_j
//	δ_k = ‖ẑ_a − ẑ_k⁻‖²,  v = softmax(−τ⁻·δ),  L_rep,a = −β Σ_k v_k δ_k
//	L = (1/M) Σ_a (L_att,a + L_rep,a)
//
// over the M anchors. The weights stay in the graph (the authors'
// small-scale code): ∂L_att/∂d_j = α w_j (1 + τ⁺(d_j − Σ w d)),
// ∂L_rep/∂δ_k = −β v_k (1 − τ⁻(δ_k − Σ v δ)), then ∂d/∂ẑ_a = 2(ẑ_a − ẑ_j)
// and through the normalisation.
//
// Inputs: Embeddings [N, Dim] with Labels (rows with equal labels are
// views of one item: positives of each other; the rest are negatives), or
// Embeddings and Positives [N, Dim] as two views of N items (anchors are
// all 2N views; Labels, if given, are the item ids of both). An anchor
// without positives has no attraction term, one without negatives no
// repulsion term. Defaults: τ⁺ = τ⁻ = α = β = 1, normalised (squared
// Euclidean cost on unit vectors, as in the paper). The debiased and the
// ImageNet (MoCo, RBF-cost) variants of the authors' code are not
// included.
type CACR struct {
	TauPos, TauNeg, Alpha, Beta float64
	Normalize                   bool
}

// Name returns "cacr".
func (*CACR) Name() string { return "cacr" }

// Eval32 evaluates the loss on float32 inputs.
func (l *CACR) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *CACR) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*CACR) lossName() string { return "cacr" }
func (*CACR) reads() needs     { return optPositives | optLabels }

func (l *CACR) eval(b *batch) (float64, error) {
	for _, p := range []struct {
		what string
		v    float64
	}{{"tau_pos", l.TauPos}, {"tau_neg", l.TauNeg}, {"alpha", l.Alpha}, {"beta", l.Beta}} {
		if err := param(b.name, p.what, p.v, p.v >= 0); err != nil {
			return 0, err
		}
	}
	if b.pos == nil && b.labels == nil {
		return 0, shapeErr(b.name, "needs Labels (groups of views) or Positives (a second view)")
	}
	d := b.d
	views := b.z
	if b.pos != nil {
		views = append(append([]float64(nil), b.z...), b.pos...)
	}
	m := len(views) / d
	id := func(a int) int64 {
		if b.labels != nil {
			return b.labels[a%b.n]
		}
		return int64(a % b.n)
	}
	u, norms := views, []float64(nil)
	if l.Normalize {
		var err error
		if u, norms, err = unit(b.name, "Embeddings or Positives", views, d); err != nil {
			return 0, err
		}
	}
	want := b.gz != nil || b.gpos != nil
	gu := zeros(want, m*d)
	sq := func(a, c int) float64 {
		var s float64
		for j := 0; j < d; j++ {
			t := u[a*d+j] - u[c*d+j]
			s += t * t
		}
		return s
	}
	var total float64
	var posIdx, negIdx []int
	var dp, dn []float64
	for a := 0; a < m; a++ {
		posIdx, negIdx, dp, dn = posIdx[:0], negIdx[:0], dp[:0], dn[:0]
		for c := 0; c < m; c++ {
			switch {
			case c == a:
			case id(c) == id(a):
				posIdx, dp = append(posIdx, c), append(dp, sq(a, c))
			default:
				negIdx, dn = append(negIdx, c), append(dn, sq(a, c))
			}
		}
		la, ga := cacrAttraction(dp, l.TauPos, l.Alpha)
		lr, gr := cacrRepulsion(dn, l.TauNeg, l.Beta)
		total += la + lr
		if !want {
			continue
		}
		add := func(idx []int, g []float64) {
			for t, c := range idx {
				k := g[t] / float64(m) * 2
				for j := 0; j < d; j++ {
					diff := u[a*d+j] - u[c*d+j]
					gu[a*d+j] += k * diff
					gu[c*d+j] -= k * diff
				}
			}
		}
		add(posIdx, ga)
		add(negIdx, gr)
	}
	if want {
		nz := b.n * d
		var nzN, npN []float64
		if norms != nil {
			nzN = norms[:b.n]
			if b.pos != nil {
				npN = norms[b.n:]
			}
		}
		finish(b.gz, gu[:nz], u[:nz], nzN, l.Normalize, d)
		if b.pos != nil {
			finish(b.gpos, gu[nz:], u[nz:], npN, l.Normalize, d)
		}
	}
	return total / float64(m), nil
}

// cacrAttraction returns α Σ w_j d_j, w = softmax(τ⁺d), and its gradient
// with respect to d (weights in the graph). Empty d gives 0.
func cacrAttraction(d []float64, tau, alpha float64) (float64, []float64) {
	return cacrTerm(d, tau, alpha)
}

// cacrRepulsion returns −β Σ v_k δ_k, v = softmax(−τ⁻δ), and its gradient.
func cacrRepulsion(delta []float64, tau, beta float64) (float64, []float64) {
	return cacrTerm(delta, -tau, -beta)
}

// cacrTerm returns c·Σ w_j d_j with w = softmax(t·d) and the gradient
// c·w_j(1 + t(d_j − Σ w d)).
func cacrTerm(d []float64, t, c float64) (float64, []float64) {
	if len(d) == 0 {
		return 0, nil
	}
	w := make([]float64, len(d))
	logits := make([]float64, len(d))
	for i, v := range d {
		logits[i] = t * v
	}
	logSoftmaxRow(w, logits)
	var mean float64
	for i, v := range d {
		mean += w[i] * v
	}
	g := make([]float64, len(d))
	for i, v := range d {
		g[i] = c * w[i] * (1 + t*(v-mean))
	}
	return c * mean, g
}
