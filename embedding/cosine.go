package embedding

import (
	"fmt"
	"math"
	"sort"

	"github.com/xentlab/xent/internal/rowstat"
)

// The registry names of this file's losses.
const (
	nameNormSoftmax = "norm-softmax"
	nameCosface     = "cosface"
	nameArcface     = "arcface"
	nameMadacos     = "madacos"
	nameEbv         = "ebv"
)

// The cosine-softmax heads: embeddings x and class vectors w are both
// L2-normalised, cos_ij = ⟨x̂_i, ŵ_j⟩, and a softmax cross-entropy runs on
// scaled (and, for the margin losses, shifted) cosines. Inputs:
// Embeddings [N, Dim], Labels [N] (class indices) and Classes [C, Dim].
// Gradients flow to the embeddings and the class vectors through the
// normalisations: with G = ∂L/∂cos, ∂L/∂x̂_i = Σ_j G_ij ŵ_j, ∂L/∂ŵ_j =
// Σ_i G_ij x̂_i, then ∂L/∂u = (I − ûûᵀ)(∂L/∂û)/‖u‖. The loss is the mean
// over the batch.

type headKind int

const (
	headNorm headKind = iota
	headCosFace
	headArcFace
	headMadaCos
	headEBV
)

// cosHead evaluates one cosine head on a batch: logits, loss and
// ∂L/∂cos.
type cosHead struct {
	kind      headKind
	scale     float64 // s (norm, cosface, arcface); 1/τ (ebv)
	margin    float64 // m (cosface, arcface)
	alpha     float64 // MadaCos α
	train     bool    // MadaCos: margin on
	smoothing float64 // label smoothing ε (norm, ebv)
}

func (h *cosHead) evalCos(b *batch, cls []float64, gcls []float64) (float64, error) {
	if h.kind != headMadaCos && !(h.scale > 0) {
		return 0, valueErr(b.name, "scale %v; build the loss with its constructor", h.scale)
	}
	c := len(cls) / b.d
	if err := checkClassLabels(b.name, b.labels, c); err != nil {
		return 0, err
	}
	xu, xn, err := unit(b.name, "Embeddings", b.z, b.d)
	if err != nil {
		return 0, err
	}
	wu, wn, err := unit(b.name, "Classes", cls, b.d)
	if err != nil {
		return 0, err
	}
	cos := gram(xu, wu, b.d)
	loss, gcos, err := h.fromCos(b.name, cos, b.labels, c)
	if err != nil {
		return 0, err
	}
	if b.gz != nil || gcls != nil {
		gx, gw := zeros(b.gz != nil, len(xu)), zeros(gcls != nil, len(wu))
		backGram(gx, gw, gcos, xu, wu, b.d)
		finish(b.gz, gx, xu, xn, true, b.d)
		finish(gcls, gw, wu, wn, true, b.d)
	}
	return loss, nil
}

// fromCos returns the mean loss over the rows of cos ([n, c]) and ∂L/∂cos.
func (h *cosHead) fromCos(name string, cos []float64, labels []int64, c int) (float64, []float64, error) {
	n := len(labels)
	s, m := h.scale, h.margin
	if h.kind == headMadaCos {
		var err error
		if s, m, err = madaCosScaleMargin(cos, labels, c, h.alpha, h.train); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	logits := make([]float64, c)
	p := make([]float64, c)
	g := make([]float64, n*c)
	var total float64
	for i := 0; i < n; i++ {
		y := int(labels[i])
		row := cos[i*c : (i+1)*c]
		for j, v := range row {
			logits[j] = s * v
		}
		dTarget := s // ∂logit_y/∂cos_iy
		switch h.kind {
		case headCosFace, headMadaCos:
			logits[y] = s * (row[y] - m)
		case headArcFace:
			phi, dphi := arcMargin(row[y], m)
			logits[y], dTarget = s*phi, s*dphi
		}
		lse := logSoftmaxRow(p, logits)
		eps := h.smoothing
		// ℓ = Σ_j q_j (lse − logit_j), q = (1−ε)e_y + ε/C.
		loss := (1 - eps) * (lse - logits[y])
		if eps > 0 {
			for j := range logits {
				loss += eps / float64(c) * (lse - logits[j])
			}
		}
		total += loss / float64(n)
		for j := range row {
			q := eps / float64(c)
			if j == y {
				q += 1 - eps
			}
			d := s
			if j == y {
				d = dTarget
			}
			g[i*c+j] = (p[j] - q) * d / float64(n)
		}
	}
	return total, g, nil
}

// arcMargin returns ArcFace's target logit cos(θ + m) for c = cos θ and
// its derivative with respect to c, in the form of the reference
// implementation (insightface, easy_margin off): cos(θ + m) =
// c·cos m − sin θ·sin m while θ + m ≤ π (c > cos(π − m)), and the linear
// continuation c − m·sin(π − m) beyond, so the logit stays monotone. sin θ
// is clamped at 1e-6 in the derivative, which is singular at c = ±1.
func arcMargin(c, m float64) (float64, float64) {
	if c > math.Cos(math.Pi-m) {
		sin := math.Sqrt(max(0, 1-c*c))
		return c*math.Cos(m) - sin*math.Sin(m), math.Cos(m) + c*math.Sin(m)/max(sin, 1e-6)
	}
	return c - math.Sin(math.Pi-m)*m, 1
}

// madaCosScaleMargin returns MadaCos's batch scale and margin from the
// target cosines (constants for the backward pass).
func madaCosScaleMargin(cos []float64, labels []int64, c int, alpha float64, train bool) (float64, float64, error) {
	n := len(labels)
	type tc struct {
		v float64
		i int
	}
	t := make([]tc, n)
	for i, y := range labels {
		t[i] = tc{cos[i*c+int(y)], i}
	}
	sort.SliceStable(t, func(a, b int) bool { return t[a].v < t[b].v })
	med := t[(n-1)/2] // the lower middle, as torch.median
	if !(med.v < 1) {
		return 0, 0, fmt.Errorf("median target cosine %v: the adaptive scale is infinite: %w", med.v, ErrValue)
	}
	s := max(32, math.Log(9999999*(1-alpha)/alpha)/(1-med.v))
	if !train {
		return s, 0, nil
	}
	// log B̄ = log Σ_{j≠y} exp(s·cos_ij) of the median sample.
	i, y := med.i, int(labels[med.i])
	logB := math.Inf(-1)
	for j := 0; j < c; j++ {
		if j != y {
			logB = rowstat.LogAddExp(logB, s*cos[i*c+j])
		}
	}
	if math.IsInf(logB, -1) { // a single class: no negatives
		return s, 0, nil
	}
	m := max(0, med.v-(logB+math.Log(alpha/(1-alpha)))/s)
	return s, m, nil
}

// CosineSoftmax is the family of cosine-softmax cross-entropy heads; build
// one with NewNormSoftmax, NewCosFace, NewArcFace, NewMadaCos or NewEBV.
type CosineSoftmax struct {
	name string
	head cosHead
	// EBV only: generator settings when Classes is nil.
	ebvAlpha float64
	ebvSeed  uint64
}

// NewNormSoftmax returns the normalised (cosine) softmax with a fixed
// scale s > 0 (catalog A17: "Hyperspherical embedding for novel class
// classification", 2021; Wang et al., "NormFace", 2017):
//
//	z_ij = s·cos(x_i, w_j),  L = (1/N) Σ_i CE(z_i, y_i),
//
// with label smoothing ε ∈ [0, 1) (0 in the paper). ∂L/∂z = (p − q)/N,
// q the (smoothed) target. The authors' layer uses s = 10; Zhai and Wu's
// normalised softmax, temperature 0.05, is s = 20. Novel classes are
// added without training with Imprint.
func NewNormSoftmax(s, smoothing float64) (*CosineSoftmax, error) {
	if err := param(nameNormSoftmax, "scale", s, s > 0); err != nil {
		return nil, err
	}
	if err := param(nameNormSoftmax, "smoothing", smoothing, smoothing >= 0 && smoothing < 1); err != nil {
		return nil, err
	}
	return &CosineSoftmax{name: nameNormSoftmax, head: cosHead{kind: headNorm, scale: s, smoothing: smoothing}}, nil
}

// NewCosFace returns CosFace, the additive cosine margin (Wang et al.,
// "CosFace: Large Margin Cosine Loss for Deep Face Recognition", 2018;
// catalog A15's family): the target logit is s·(cos θ_y − m), the others
// s·cos θ_j. Defaults s = 64, m = 0.35.
func NewCosFace(s, m float64) (*CosineSoftmax, error) {
	if err := param(nameCosface, "scale", s, s > 0); err != nil {
		return nil, err
	}
	if err := param(nameCosface, "margin", m, true); err != nil {
		return nil, err
	}
	return &CosineSoftmax{name: nameCosface, head: cosHead{kind: headCosFace, scale: s, margin: m}}, nil
}

// NewArcFace returns ArcFace, the additive angular margin (Deng et al.,
// "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
// 2019): the target logit is s·cos(θ_y + m) (see arcMargin for the
// continuation beyond θ + m > π), the others s·cos θ_j. Defaults s = 64,
// m = 0.5; CFCD's ArcFace baseline uses s = 128, m = 0.15. m ∈ [0, π/2].
func NewArcFace(s, m float64) (*CosineSoftmax, error) {
	if err := param(nameArcface, "scale", s, s > 0); err != nil {
		return nil, err
	}
	if err := param(nameArcface, "margin", m, m >= 0 && m <= math.Pi/2); err != nil {
		return nil, err
	}
	return &CosineSoftmax{name: nameArcface, head: cosHead{kind: headArcFace, scale: s, margin: m}}, nil
}

// NewMadaCos returns MadaCos, the cosine softmax whose scale and additive
// margin are recomputed from every batch (catalog A15: Zhu et al.,
// "Coarse-to-Fine: Learning Compact Discriminative Representation for
// Single-Stage Image Retrieval", 2023). With med the median target cosine
// of the batch (the lower middle for an even batch):
//
//	s = max(32, log(9999999·(1−α)/α)/(1 − med))
//	m = max(0, med − (log B̄ + log(α/(1−α)))/s),  B̄ = Σ_{j≠y} exp(s·cos_j) of the median sample
//
// (m = 0 when train is false, the authors' eval mode), so the median
// sample's target probability is α; then CosFace's logits with s and m.
// s and m are constants in the backward pass, as in the authors' custom
// backward: ∂L/∂cos_ij = s·(p_ij − δ_{j,y_i})/N. So the gradient is the
// official surrogate, not the derivative of the returned value: whenever
// s is above its floor of 32 (for α = 0.02, a median target cosine above
// 0.375) s and m depend on the batch's cosines, and the returned value's
// true derivative has terms through them that the surrogate leaves out.
// α ∈ (0, 1); the released configurations use 0.02. log B̄ is computed
// as a log-sum-exp (s·cos can reach about 70).
func NewMadaCos(alpha float64, train bool) (*CosineSoftmax, error) {
	if err := param(nameMadacos, "alpha", alpha, alpha > 0 && alpha < 1); err != nil {
		return nil, err
	}
	return &CosineSoftmax{name: nameMadacos, head: cosHead{kind: headMadaCos, alpha: alpha, train: train}}, nil
}

// NewEBV returns the cross-entropy against equiangular basis vectors
// (catalog B22: Shen et al., "Equiangular Basis Vectors", 2023):
//
//	z_c = ⟨f̂, w_c⟩/τ,  L = (1/N) Σ_i CE(z_i, y_i)  (label smoothing ε),
//
// against fixed unit class vectors w with max |⟨w_c, w_c'⟩| ≤ α. When
// the Input has no Classes they are generated by GenerateEBV(C, Dim,
// alpha, seed) with C = max label + 1 (then nothing is learned for them);
// given Classes are used as they are (and receive a gradient if asked).
// Defaults: τ = 0.07 (the authors' hard-coded value), ε = 0 (0.1 in their
// ImageNet training), α = 0.002, seed 42.
func NewEBV(tau, smoothing, alpha float64, seed uint64) (*CosineSoftmax, error) {
	if err := param(nameEbv, "temperature", tau, tau > 0); err != nil {
		return nil, err
	}
	if err := param(nameEbv, "smoothing", smoothing, smoothing >= 0 && smoothing < 1); err != nil {
		return nil, err
	}
	if err := param(nameEbv, "alpha", alpha, alpha >= 0 && alpha < 1); err != nil {
		return nil, err
	}
	return &CosineSoftmax{name: nameEbv, head: cosHead{kind: headEBV, scale: 1 / tau, smoothing: smoothing},
		ebvAlpha: alpha, ebvSeed: seed}, nil
}

// Name returns the head's registry name.
func (l *CosineSoftmax) Name() string { return l.name }

// Eval32 evaluates the loss on float32 inputs.
func (l *CosineSoftmax) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *CosineSoftmax) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (l *CosineSoftmax) lossName() string { return l.name }
func (l *CosineSoftmax) reads() needs {
	if l.head.kind == headEBV {
		return needLabels | optClasses
	}
	return needLabels | needClasses
}

func (l *CosineSoftmax) eval(b *batch) (float64, error) {
	cls := b.cls
	if cls == nil { // EBV: generate the basis
		var maxLabel int64 = -1
		for i, y := range b.labels {
			if y < 0 {
				return 0, valueErr(b.name, "label %d at row %d is negative", y, i)
			}
			maxLabel = max(maxLabel, y)
		}
		c := int(maxLabel) + 1
		if c > 1<<16 {
			return 0, valueErr(b.name, "largest label %d: too many classes to generate a basis for", maxLabel)
		}
		w, _, err := GenerateEBV(c, b.d, l.ebvAlpha, l.ebvSeed, 0)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", b.name, err)
		}
		cls = w
	}
	return l.head.evalCos(b, cls, b.gcls)
}

// Imprint returns the weight-imprinted class vectors of catalog A17: for
// each class c in [0, classes), the normalised mean of the normalised
// embeddings labelled c (the authors' AddNewClass averages the outputs of
// their normalisation layer),
//
//	w_c = μ_c/‖μ_c‖,  μ_c = mean_{i: y_i = c} x_i/‖x_i‖,
//
// so that a new class joins a cosine-softmax head without training. The
// result is [classes, dim]. A class with no example, a zero embedding or
// a mean of norm 0 is an error.
func Imprint[T Float](embeddings []T, dim int, labels []int64, classes int) ([]T, error) {
	const name = "imprint"
	if dim <= 0 || len(embeddings) == 0 || len(embeddings)%dim != 0 {
		return nil, shapeErr(name, "len(embeddings) = %d, dim = %d", len(embeddings), dim)
	}
	n := len(embeddings) / dim
	if len(labels) != n {
		return nil, shapeErr(name, "len(labels) = %d, want %d", len(labels), n)
	}
	if classes < 1 {
		return nil, shapeErr(name, "classes = %d, want ≥ 1", classes)
	}
	if err := checkClassLabels(name, labels, classes); err != nil {
		return nil, err
	}
	x := make([]float64, len(embeddings))
	for i, v := range embeddings {
		x[i] = float64(v)
	}
	xu, _, err := unit(name, "embeddings", x, dim)
	if err != nil {
		return nil, err
	}
	mu := make([]float64, classes*dim)
	count := make([]int, classes)
	for i, y := range labels {
		axpy(mu[int(y)*dim:(int(y)+1)*dim], xu[i*dim:(i+1)*dim], 1)
		count[y]++
	}
	out := make([]T, classes*dim)
	for c := 0; c < classes; c++ {
		if count[c] == 0 {
			return nil, valueErr(name, "class %d has no example", c)
		}
		row := mu[c*dim : (c+1)*dim]
		nr := norm(row)
		if !(nr > 0) {
			return nil, valueErr(name, "class %d: the mean embedding is 0", c)
		}
		for j, v := range row {
			out[c*dim+j] = T(v / nr)
		}
	}
	return out, nil
}

func init() {
	Register(Spec{
		Name:    nameNormSoftmax,
		Catalog: "A17",
		Summary: "normalised (cosine) softmax with a fixed scale s",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 10, "s > 0"}, {"smoothing", 0, "label smoothing ε"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewNormSoftmax(p["scale"], p["smoothing"])
		},
	})
	Register(Spec{
		Name:    nameCosface,
		Catalog: "A15",
		Summary: "CosFace: cosine softmax with an additive cosine margin, s·(cos θ_y − m)",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 64, "s > 0"}, {"margin", 0.35, "m"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewCosFace(p["scale"], p["margin"])
		},
	})
	Register(Spec{
		Name:    nameArcface,
		Catalog: "A15",
		Summary: "ArcFace: cosine softmax with an additive angular margin, s·cos(θ_y + m)",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"scale", 64, "s > 0"}, {"margin", 0.5, "m in [0, π/2]"}},
		New: func(p map[string]float64) (Loss, error) {
			return NewArcFace(p["scale"], p["margin"])
		},
	})
	Register(Spec{
		Name:    nameMadacos,
		Catalog: "A15",
		Summary: "MadaCos: cosine softmax with scale and margin set from the batch's median target cosine",
		Needs:   NeedsLabels | NeedsClasses,
		Params:  []Param{{"alpha", 0.02, "target probability of the median sample, in (0, 1)"}, {"train", 1, "1: margin on; 0: eval mode"}},
		New: func(p map[string]float64) (Loss, error) {
			train, err := flag(p, "train")
			if err != nil {
				return nil, err
			}
			return NewMadaCos(p["alpha"], train)
		},
	})
}
