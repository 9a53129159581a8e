package embedding

// nameCacr is the registry name of this file's loss.
const nameCacr = "cacr"

// CACR is the contrastive attraction / contrastive repulsion loss (catalog
// A1: Zheng et al., "Contrastive Attraction and Contrastive Repulsion for
// Representation Learning", 2023). Each anchor a attracts its positives
// and repels its negatives, each group weighted by a softmax over its own
// squared distances so that distant positives and close negatives count
// most:
//
//	d_j = ‖ẑ_a − ẑ_j⁺‖²,  w = softmax(τ⁺·d),   L_att,a = α Σ_j w_j d_j
//	δ_k = ‖ẑ_a − ẑ_k⁻‖²,  v = softmax(−τ⁻·δ),  L_rep,a = −β Σ_k v_k δ_k
//
// The weights stay in the graph (the authors' small-scale code):
// ∂L_att/∂d_j = α w_j (1 + τ⁺(d_j − Σ w d)), ∂L_rep/∂δ_k =
// −β v_k (1 − τ⁻(δ_k − Σ v δ)), then ∂d/∂ẑ_a = 2(ẑ_a − ẑ_j) and through the
// normalisation.
//
// Views. The authors' code (losses/__init__.py, our_loss1 and our_loss2)
// takes V views of the same N items. The attraction of anchor (x, i),
// view x of item i, is over its positives, the other V − 1 views of item
// i, averaged over all V·N anchors. The repulsion is taken per pair of
// views x < y: the anchors of view x against the N − 1 other items of
// view y only (the "N − 1 negatives" of the paper), averaged over the N
// anchors and then over the V(V−1)/2 pairs:
//
//	L = (1/(V·N)) Σ_{x,i} L_att,(x,i) + (2/(V(V−1))) Σ_{x<y} (1/N) Σ_i L_rep,(x,i | view y)
//
// That is what CACR computes by default. The views are Embeddings and
// Positives (V = 2: item i is row i of both), or, with Labels only,
// the rows of each label in row order (the v-th row of a label is its
// view v), which needs every label to have the same number V ≥ 2 of rows.
//
// AllNegatives selects the older, symmetric form instead: every anchor
// (all views) is repelled by every view of every other item, and one mean
// over the anchors covers both terms, L = (1/M) Σ_a (L_att,a + L_rep,a).
// It also serves the inputs the official form does not describe: groups
// of unequal sizes, or Positives with Labels that repeat (items sharing a
// label are then positives of each other, not negatives).
//
// An anchor without positives has no attraction term, one without
// negatives no repulsion term. Defaults: τ⁺ = τ⁻ = α = β = 1, normalised
// (squared Euclidean cost on unit vectors, as in the paper), official
// views. The debiased and the ImageNet (MoCo, RBF-cost) variants of the
// authors' code are not included.
type CACR struct {
	TauPos, TauNeg, Alpha, Beta float64
	Normalize                   bool
	// AllNegatives: every view of the other items repels every anchor,
	// one mean over the anchors (see the type's documentation).
	AllNegatives bool
}

// Name returns "cacr".
func (*CACR) Name() string { return nameCacr }

// Eval32 evaluates the loss on float32 inputs.
func (l *CACR) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *CACR) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*CACR) lossName() string { return nameCacr }
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
	// add accumulates ∂/∂u of scale·term, where g holds the term's
	// derivatives with respect to the squared distances of a to idx.
	add := func(a int, idx []int, g []float64, scale float64) {
		if !want {
			return
		}
		for t, c := range idx {
			k := g[t] * scale * 2
			for j := 0; j < d; j++ {
				diff := u[a*d+j] - u[c*d+j]
				gu[a*d+j] += k * diff
				gu[c*d+j] -= k * diff
			}
		}
	}
	var total float64
	var idx []int
	var dist []float64
	group := func(a int, members []int) {
		idx, dist = idx[:0], dist[:0]
		for _, c := range members {
			idx, dist = append(idx, c), append(dist, sq(a, c))
		}
	}
	if vw := cacrViews(b, m, id); vw != nil && !l.AllNegatives {
		V, N := len(vw), len(vw[0])
		attScale := 1 / float64(V*N)
		for x := range V {
			for i := range N {
				var others []int
				for y := range V {
					if y != x {
						others = append(others, vw[y][i])
					}
				}
				group(vw[x][i], others)
				la, ga := cacrAttraction(dist, l.TauPos, l.Alpha)
				total += la * attScale
				add(vw[x][i], idx, ga, attScale)
			}
		}
		repScale := 2 / float64(V*(V-1)*N)
		for x := range V {
			for y := x + 1; y < V; y++ {
				for i := range N {
					var negs []int
					for j := range N {
						if j != i {
							negs = append(negs, vw[y][j])
						}
					}
					group(vw[x][i], negs)
					lr, gr := cacrRepulsion(dist, l.TauNeg, l.Beta)
					total += lr * repScale
					add(vw[x][i], idx, gr, repScale)
				}
			}
		}
	} else {
		var posIdx, negIdx []int
		for a := 0; a < m; a++ {
			posIdx, negIdx = posIdx[:0], negIdx[:0]
			for c := 0; c < m; c++ {
				switch {
				case c == a:
				case id(c) == id(a):
					posIdx = append(posIdx, c)
				default:
					negIdx = append(negIdx, c)
				}
			}
			group(a, posIdx)
			la, ga := cacrAttraction(dist, l.TauPos, l.Alpha)
			add(a, idx, ga, 1/float64(m))
			group(a, negIdx)
			lr, gr := cacrRepulsion(dist, l.TauNeg, l.Beta)
			add(a, idx, gr, 1/float64(m))
			total += (la + lr) / float64(m)
		}
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
	return total, nil
}

// cacrViews returns the rows of the m views as views[v][i] (view v of
// item i) when the input has the official layout — two views
// [Embeddings; Positives] of items with distinct ids, or labels that each
// hold the same number V ≥ 2 of rows (views in row order, items in order
// of first appearance) — and nil otherwise.
func cacrViews(b *batch, m int, id func(int) int64) [][]int {
	if b.pos != nil {
		seen := map[int64]bool{}
		for i := 0; i < b.n; i++ {
			if seen[id(i)] {
				return nil
			}
			seen[id(i)] = true
		}
		v := [][]int{make([]int, b.n), make([]int, b.n)}
		for i := 0; i < b.n; i++ {
			v[0][i], v[1][i] = i, b.n+i
		}
		return v
	}
	var order []int64
	rows := map[int64][]int{}
	for a := 0; a < m; a++ {
		k := id(a)
		if _, ok := rows[k]; !ok {
			order = append(order, k)
		}
		rows[k] = append(rows[k], a)
	}
	V := len(rows[order[0]])
	if V < 2 {
		return nil
	}
	views := make([][]int, V)
	for _, k := range order {
		if len(rows[k]) != V {
			return nil
		}
		for v, a := range rows[k] {
			views[v] = append(views[v], a)
		}
	}
	return views
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

func init() {
	Register(Spec{
		Name:    nameCacr,
		Catalog: "A1",
		Summary: "contrastive attraction/repulsion with softmax weights inside the positive and negative groups",
		Needs:   AcceptsPositives | AcceptsLabels,
		Params: []Param{{"tau_pos", 1, "τ⁺ ≥ 0"}, {"tau_neg", 1, "τ⁻ ≥ 0"}, {"alpha", 1, "attraction weight"},
			{"beta", 1, "repulsion weight"}, {"normalize", 1, "1: L2-normalise the rows"},
			{"all_negatives", 0, "0: the official views (negatives from the other view, repulsion averaged over view pairs); 1: every view of the other items, one mean over all anchors"}},
		New: func(p map[string]float64) (Loss, error) {
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			all, err := flag(p, "all_negatives")
			if err != nil {
				return nil, err
			}
			for _, k := range []string{"tau_pos", "tau_neg", "alpha", "beta"} {
				if err := param(nameCacr, k, p[k], p[k] >= 0); err != nil {
					return nil, err
				}
			}
			return &CACR{p["tau_pos"], p["tau_neg"], p["alpha"], p["beta"], norm, all}, nil
		},
	})
}
