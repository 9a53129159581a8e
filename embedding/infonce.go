package embedding

import "math"

// The registry names of this file's losses.
const (
	nameInfonce = "infonce"
	nameNtXent  = "nt-xent"
)

// InfoNCE is the contrastive InfoNCE loss with in-batch negatives: anchor
// i's positive is row i of Positives and every other row of Positives is
// a negative,
//
//	s_ij = ⟨ẑ_i, p̂_j⟩/τ,   ℓ_i = −log( e^{s_ii} / Σ_j e^{s_ij} ),   L = (1/N) Σ_i ℓ_i,
//
// with ẑ, p̂ the L2-normalised rows (plain dot products when Normalize is
// false). The symmetric (CLIP) form averages it with the same loss over
// the columns, L = ½[(1/N)Σ_i ℓ_i + (1/N)Σ_j ℓ'_j], ℓ'_j = −log(e^{s_jj}/Σ_i e^{s_ij})
// (van den Oord et al., "Representation Learning with Contrastive
// Predictive Coding", 2018; Radford et al., "Learning Transferable Visual
// Models From Natural Language Supervision", 2021).
//
// With Labels, pairs (i, j ≠ i) that share a label are not negatives:
// they are left out of the denominators (false negatives of duplicated
// items). Gradients: ∂L/∂s_ij = (softmax(s_i)_j − δ_ij)/N (halved and
// summed with the column term when symmetric), then ∂s_ij/∂ẑ_i = p̂_j/τ,
// ∂s_ij/∂p̂_j = ẑ_i/τ and through the normalisation (I − ûûᵀ)/‖u‖.
// Inputs: Embeddings and Positives [N, Dim], optional Labels [N]. A batch
// of one has loss 0. Defaults (NewInfoNCE): τ = 0.07, normalised, not
// symmetric.
type InfoNCE struct {
	Temperature float64
	Symmetric   bool
	Normalize   bool
}

// NewInfoNCE returns InfoNCE with temperature tau (> 0).
func NewInfoNCE(tau float64, symmetric, normalize bool) (*InfoNCE, error) {
	if err := param(nameInfonce, "temperature", tau, tau > 0); err != nil {
		return nil, err
	}
	return &InfoNCE{tau, symmetric, normalize}, nil
}

// Name returns "infonce".
func (*InfoNCE) Name() string { return nameInfonce }

// Eval32 evaluates the loss on float32 inputs.
func (l *InfoNCE) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *InfoNCE) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*InfoNCE) lossName() string { return nameInfonce }
func (*InfoNCE) reads() needs     { return needPositives | optLabels }

func (l *InfoNCE) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	zu, zn, pu, pn, err := maybeUnit(b.name, l.Normalize, b.z, b.pos, b.d)
	if err != nil {
		return 0, err
	}
	n := b.n
	s := gram(zu, pu, b.d)
	for i := range s {
		s[i] /= l.Temperature
	}
	excluded := func(i, j int) bool { return i != j && b.labels != nil && b.labels[i] == b.labels[j] }
	gs := make([]float64, n*n)
	w := 1 / float64(n)
	if l.Symmetric {
		w /= 2
	}
	row := make([]float64, n)
	p := make([]float64, n)
	var total float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			row[j] = s[i*n+j]
			if excluded(i, j) {
				row[j] = math.Inf(-1)
			}
		}
		total += w * (logSoftmaxRow(p, row) - row[i])
		for j := 0; j < n; j++ {
			gs[i*n+j] += w * (p[j] - delta(i, j))
		}
	}
	if l.Symmetric {
		for j := 0; j < n; j++ {
			for i := 0; i < n; i++ {
				row[i] = s[i*n+j]
				if excluded(j, i) {
					row[i] = math.Inf(-1)
				}
			}
			total += w * (logSoftmaxRow(p, row) - row[j])
			for i := 0; i < n; i++ {
				gs[i*n+j] += w * (p[i] - delta(i, j))
			}
		}
	}
	for i := range gs {
		gs[i] /= l.Temperature
	}
	backPair(b, l.Normalize, gs, zu, zn, pu, pn)
	return total, nil
}

func delta(i, j int) float64 {
	if i == j {
		return 1
	}
	return 0
}

// maybeUnit normalises z and p (rows of d) when normalize is set; the
// norms are nil otherwise.
func maybeUnit(name string, normalize bool, z, p []float64, d int) (zu, zn, pu, pn []float64, err error) {
	if !normalize {
		return z, nil, p, nil, nil
	}
	if zu, zn, err = unit(name, "Embeddings", z, d); err != nil {
		return
	}
	if p != nil {
		pu, pn, err = unit(name, "Positives", p, d)
	}
	return
}

// backPair sends gs, the gradient with respect to s = zu·puᵀ, to b.gz and
// b.gpos through the normalisations.
func backPair(b *batch, normalize bool, gs, zu, zn, pu, pn []float64) {
	if b.gz == nil && b.gpos == nil {
		return
	}
	gzu, gpu := zeros(b.gz != nil, len(zu)), zeros(b.gpos != nil, len(pu))
	backGram(gzu, gpu, gs, zu, pu, b.d)
	finish(b.gz, gzu, zu, zn, normalize, b.d)
	finish(b.gpos, gpu, pu, pn, normalize, b.d)
}

// finish adds the gradient gu with respect to (possibly normalised) rows
// into g.
func finish(g, gu, u, norms []float64, normalize bool, d int) {
	if g == nil {
		return
	}
	if normalize {
		backUnit(g, gu, u, norms, d)
		return
	}
	for i, v := range gu {
		g[i] += v
	}
}

// NTXent is the NT-Xent loss of SimCLR (Chen et al., "A Simple Framework
// for Contrastive Learning of Visual Representations", 2020): the 2N
// views v = [Embeddings; Positives] are compared with every other view,
//
//	s_ab = ⟨v̂_a, v̂_b⟩/τ,   ℓ_a = −log( e^{s_a,a⁺} / Σ_{b≠a} e^{s_ab} ),   L = (1/2N) Σ_a ℓ_a,
//
// a⁺ = a ± N being the other view of the same item. With Labels, views of
// other items that share the label are left out of the denominators.
// Gradient: ∂L/∂s_ab = (softmax_b(s_a) − δ_{b,a⁺})/(2N), symmetric in a
// and b through s, then through the normalisation. Inputs: Embeddings and
// Positives [N, Dim], optional Labels. Default τ = 0.5 (SimCLR's).
type NTXent struct {
	Temperature float64
	Normalize   bool
}

// NewNTXent returns NT-Xent with temperature tau (> 0).
func NewNTXent(tau float64, normalize bool) (*NTXent, error) {
	if err := param(nameNtXent, "temperature", tau, tau > 0); err != nil {
		return nil, err
	}
	return &NTXent{tau, normalize}, nil
}

// Name returns "nt-xent".
func (*NTXent) Name() string { return nameNtXent }

// Eval32 evaluates the loss on float32 inputs.
func (l *NTXent) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *NTXent) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*NTXent) lossName() string { return nameNtXent }
func (*NTXent) reads() needs     { return needPositives | optLabels }

func (l *NTXent) eval(b *batch) (float64, error) {
	if err := param(b.name, "temperature", l.Temperature, l.Temperature > 0); err != nil {
		return 0, err
	}
	zu, zn, pu, pn, err := maybeUnit(b.name, l.Normalize, b.z, b.pos, b.d)
	if err != nil {
		return 0, err
	}
	n, d := b.n, b.d
	v := append(append([]float64(nil), zu...), pu...)
	m := 2 * n
	s := gram(v, v, d)
	label := func(a int) int64 { return b.labels[a%n] }
	gs := make([]float64, m*m)
	row, p := make([]float64, m), make([]float64, m)
	var total float64
	w := 1 / float64(m)
	for a := 0; a < m; a++ {
		pos := (a + n) % m
		for c := 0; c < m; c++ {
			row[c] = s[a*m+c] / l.Temperature
			if c == a || c != pos && b.labels != nil && label(c) == label(a) {
				row[c] = math.Inf(-1)
			}
		}
		total += w * (logSoftmaxRow(p, row) - row[pos])
		for c := 0; c < m; c++ {
			gs[a*m+c] += w * (p[c] - delta(c, pos)) / l.Temperature
		}
	}
	if b.gz == nil && b.gpos == nil {
		return total, nil
	}
	// s = v·vᵀ: both factors are v.
	gv := make([]float64, m*d)
	backGram(gv, gv, gs, v, v, d)
	if b.gz != nil {
		finish(b.gz, gv[:n*d], zu, zn, l.Normalize, d)
	}
	if b.gpos != nil {
		finish(b.gpos, gv[n*d:], pu, pn, l.Normalize, d)
	}
	return total, nil
}

func init() {
	Register(Spec{
		Name:    nameInfonce,
		Summary: "InfoNCE with in-batch negatives on cosine similarities; symmetric=1 is CLIP's loss",
		Needs:   NeedsPositives | AcceptsLabels,
		Params: []Param{{"temperature", 0.07, "τ > 0"}, {"symmetric", 0, "1: average with the column loss (CLIP)"},
			{"normalize", 1, "1: L2-normalise the rows"}},
		New: func(p map[string]float64) (Loss, error) {
			sym, err := flag(p, "symmetric")
			if err != nil {
				return nil, err
			}
			norm, err := flag(p, "normalize")
			if err != nil {
				return nil, err
			}
			return NewInfoNCE(p["temperature"], sym, norm)
		},
	})
	Register(temperatureNormalize(nameNtXent, "SimCLR's NT-Xent: 2N views, each against all other views", NeedsPositives|AcceptsLabels, 0.5, NewNTXent))
}
