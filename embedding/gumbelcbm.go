package embedding

import (
	"math/rand/v2"

	"github.com/xentlab/xent/softmax"
)

// nameGumbelCbm is the registry name of this file's loss.
const nameGumbelCbm = "gumbel-cbm"

// GumbelCBM is the Gumbel-softmax loss with which Sparse-CBM trains its
// concept bottleneck layer (catalog A4: Semenov et al., "Sparse Concept
// Bottleneck Models: Gumbel Tricks in Contrastive Learning", 2024). For
// the [B, C] matrix S of concept activations (Embeddings with Dim = C)
// and Gumbel noise G (softmax.GumbelNoise):
//
//	Y⁽ᵈ⁾ = softmax((S + G)/τ) along dimension d (0: over the batch, 1: over the concepts)
//	L = ½ [ mean_ij(−log Y⁽⁰⁾_ij) + mean_ij(−log Y⁽¹⁾_ij) ]
//
// the means running over all B·C entries, as in the authors' code. The
// logarithms are log-softmaxes (the code's log of a softmax returns −Inf
// when a probability underflows). Gradient with the noise held fixed
// (derived): ∂L/∂S_ij = [(B·Y⁽⁰⁾_ij − 1) + (C·Y⁽¹⁾_ij − 1)]/(2BCτ).
//
// With Noise the noise is drawn from a generator seeded with Seed at
// every evaluation, so the same inputs give the same bits; without it
// G = 0. The straight-through "hard" variant and the classifier head's
// cross-entropy are not part of this loss. Defaults: τ = 1, noise on,
// seed 0.
type GumbelCBM struct {
	Tau   float64
	Noise bool
	Seed  uint64
}

// Name returns "gumbel-cbm".
func (*GumbelCBM) Name() string { return nameGumbelCbm }

// Eval32 evaluates the loss on float32 inputs.
func (l *GumbelCBM) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return run(l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *GumbelCBM) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return run(l, in, out)
}

func (*GumbelCBM) lossName() string { return nameGumbelCbm }
func (*GumbelCBM) reads() needs     { return 0 }

func (l *GumbelCBM) eval(b *batch) (float64, error) {
	if err := param(b.name, "tau", l.Tau, l.Tau > 0); err != nil {
		return 0, err
	}
	var g []float64
	if l.Noise {
		g = make([]float64, len(b.z))
		if err := softmax.GumbelNoise(g, rand.New(rand.NewPCG(l.Seed, 0xCB))); err != nil {
			return 0, err
		}
	}
	loss, grad := gumbelCBM(b.z, b.n, b.d, g, l.Tau)
	if b.gz != nil {
		copy(b.gz, grad)
	}
	return loss, nil
}

// gumbelCBM evaluates the loss of S ([bs, c]) with noise g (nil: none).
func gumbelCBM(s []float64, bs, c int, g []float64, tau float64) (float64, []float64) {
	z := make([]float64, len(s))
	for i, v := range s {
		z[i] = v
		if g != nil {
			z[i] += g[i]
		}
		z[i] /= tau
	}
	n := float64(bs * c)
	grad := make([]float64, len(s))
	var loss float64
	// Over the concepts (rows).
	row := make([]float64, c)
	p := make([]float64, c)
	for i := 0; i < bs; i++ {
		copy(row, z[i*c:(i+1)*c])
		lse := logSoftmaxRow(p, row)
		for j := 0; j < c; j++ {
			loss += (lse - row[j]) / (2 * n)
			grad[i*c+j] += (float64(c)*p[j] - 1) / (2 * n * tau)
		}
	}
	// Over the batch (columns).
	col := make([]float64, bs)
	q := make([]float64, bs)
	for j := 0; j < c; j++ {
		for i := 0; i < bs; i++ {
			col[i] = z[i*c+j]
		}
		lse := logSoftmaxRow(q, col)
		for i := 0; i < bs; i++ {
			loss += (lse - col[i]) / (2 * n)
			grad[i*c+j] += (float64(bs)*q[i] - 1) / (2 * n * tau)
		}
	}
	return loss, grad
}

func init() {
	Register(Spec{
		Name:    nameGumbelCbm,
		Catalog: "A4",
		Summary: "Sparse-CBM's Gumbel-softmax loss on concept activations [B, C], over both dimensions",
		Params:  []Param{{"tau", 1, "τ > 0"}, {"noise", 1, "1: Gumbel noise; 0: none"}, {"seed", 0, "noise seed"}},
		New: func(p map[string]float64) (Loss, error) {
			noise, err := flag(p, "noise")
			if err != nil {
				return nil, err
			}
			seed, err := count(p, "seed", 0)
			if err != nil {
				return nil, err
			}
			if err := param(nameGumbelCbm, "tau", p["tau"], p["tau"] > 0); err != nil {
				return nil, err
			}
			return &GumbelCBM{Tau: p["tau"], Noise: noise, Seed: uint64(seed)}, nil
		},
	})
}
