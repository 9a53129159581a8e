package lab

import (
	"fmt"
	"math"
	"strings"

	"github.com/xentlab/xent/internal/par"
)

// Optimizer updates parameters in place from their gradient.
type Optimizer interface {
	// Name returns "sgd" or "adam".
	Name() string
	// Step applies one update to params given grad (same length).
	Step(params, grad []float32)
	// SetLR changes the learning rate of the following steps (a
	// schedule).
	SetLR(lr float64)
}

// OptimizerConfig selects and configures an optimizer.
type OptimizerConfig struct {
	// Name is "adam" or "sgd".
	Name string
	// LR is the learning rate (> 0).
	LR float64
	// Momentum is SGD's heavy-ball momentum in [0, 1) (PyTorch's form:
	// v ← μ·v + g, p ← p − lr·v).
	Momentum float64
	// WeightDecay (≥ 0) shrinks the weight matrices, not the biases: for
	// SGD it adds λ·p to the gradient (L2 regularisation); for Adam it is
	// decoupled, p ← p − lr·λ·p (AdamW), since an L2 term inside Adam's
	// normalisation would barely act on weights with large gradients.
	WeightDecay float64
	// Beta1, Beta2 and Eps are Adam's (defaults 0.9, 0.999, 1e-8 when 0).
	Beta1, Beta2, Eps float64
	// OrthoGrad applies ⊥Grad (see OrthoGrad) to the gradient of every
	// tensor in Tensors before each step: the official OrthoGrad wrapper
	// around the base optimizer.
	OrthoGrad bool
	// Tensors cuts the parameter vector into the tensors ⊥Grad treats
	// one by one (nil: the whole vector is one tensor).
	Tensors []Span
}

// DefaultLR returns the default learning rate of an optimizer: 1e-3 for
// Adam, 0.05 for SGD with momentum.
func DefaultLR(name string) float64 {
	if strings.EqualFold(name, "sgd") {
		return 0.05
	}
	return 1e-3
}

// stepGrain is the number of parameters one goroutine updates at a time.
// Updates are element-wise, so the result does not depend on it.
const stepGrain = 1 << 15

// NewOptimizer returns the optimizer for n parameters, decaying the spans
// decayed, with threads goroutines (≤ 0: GOMAXPROCS).
func NewOptimizer(c OptimizerConfig, n int, decayed []Span, threads int) (Optimizer, error) {
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return nil, settingErr("LR", "learning rate", c.LR, "a positive number")
	}
	if !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0) {
		return nil, settingErr("WeightDecay", "weight decay", c.WeightDecay, "≥ 0")
	}
	segs, err := segments(n, decayed)
	if err != nil {
		return nil, err
	}
	threads = par.Threads(threads)
	if c.OrthoGrad {
		tensors := c.Tensors
		if tensors == nil {
			tensors = []Span{{0, n}}
		}
		for _, s := range tensors {
			if s.Lo < 0 || s.Hi > n || s.Lo > s.Hi {
				return nil, fmt.Errorf("lab: tensor [%d, %d) outside %d parameters", s.Lo, s.Hi, n)
			}
		}
		c.OrthoGrad = false
		base, err := NewOptimizer(c, n, decayed, threads)
		if err != nil {
			return nil, err
		}
		return &orthoOpt{base: base, tensors: tensors, g: make([]float32, n)}, nil
	}
	switch strings.ToLower(c.Name) {
	case "sgd":
		if !(c.Momentum >= 0 && c.Momentum < 1) {
			return nil, settingErr("Momentum", "momentum", c.Momentum, "[0, 1)")
		}
		return &sgd{lr: float32(c.LR), mu: float32(c.Momentum), wd: float32(c.WeightDecay),
			segs: segs, v: make([]float32, n), threads: threads}, nil
	case "adam", "":
		a := &adam{lr: c.LR, b1: c.Beta1, b2: c.Beta2, eps: c.Eps, wd: float32(c.WeightDecay),
			segs: segs, m: make([]float32, n), v: make([]float32, n), threads: threads}
		if a.b1 == 0 {
			a.b1 = 0.9
		}
		if a.b2 == 0 {
			a.b2 = 0.999
		}
		if a.eps == 0 {
			a.eps = 1e-8
		}
		if !(a.b1 > 0 && a.b1 < 1 && a.b2 > 0 && a.b2 < 1 && a.eps > 0) {
			return nil, fmt.Errorf("lab: adam betas (%g, %g) and eps %g, want betas in (0, 1) and eps > 0", a.b1, a.b2, a.eps)
		}
		return a, nil
	}
	return nil, fmt.Errorf("lab: unknown optimizer %q (adam, sgd)", c.Name)
}

type sgd struct {
	lr, mu, wd float32
	v          []float32
	segs       []segment
	threads    int
}

func (*sgd) Name() string { return "sgd" }

func (o *sgd) SetLR(lr float64) { o.lr = float32(lr) }

func (o *sgd) Step(params, grad []float32) {
	par.For(len(params), stepGrain, o.threads, func(_, lo, hi int) {
		forSegments(o.segs, lo, hi, func(lo, hi int, decay bool) {
			p, g, v := params[lo:hi], grad[lo:hi], o.v[lo:hi]
			g = g[:len(p)]
			v = v[:len(p)]
			wd := float32(0)
			if decay {
				wd = o.wd
			}
			for i := range p {
				vi := o.mu*v[i] + g[i] + wd*p[i]
				v[i] = vi
				p[i] -= o.lr * vi
			}
		})
	})
}

type adam struct {
	lr, b1, b2, eps float64
	wd              float32
	m, v            []float32
	segs            []segment
	t               int
	threads         int
}

func (*adam) Name() string { return "adam" }

func (o *adam) SetLR(lr float64) { o.lr = lr }

// Step is Adam (Kingma & Ba) with bias correction folded into the step
// size, lr·√(1−β₂ᵗ)/(1−β₁ᵗ), and ε added to √v̂ as in PyTorch.
func (o *adam) Step(params, grad []float32) {
	o.t++
	c1 := 1 - math.Pow(o.b1, float64(o.t))
	c2 := 1 - math.Pow(o.b2, float64(o.t))
	step := float32(o.lr / c1)
	// √v̂ + ε = (√v + ε·√c2)/√c2: fold √c2 into the step and ε.
	sq := math.Sqrt(c2)
	step *= float32(sq)
	eps := float32(o.eps * sq)
	b1, b2 := float32(o.b1), float32(o.b2)
	decay := float32(o.lr) * o.wd
	par.For(len(params), stepGrain, o.threads, func(_, lo, hi int) {
		forSegments(o.segs, lo, hi, func(lo, hi int, decayed bool) {
			k := adamConsts{b1: b1, c1: 1 - b1, b2: b2, c2: 1 - b2, step: step, eps: eps, keep: 1}
			if decayed {
				k.keep -= decay
			}
			adamKernel(params[lo:hi], grad[lo:hi], o.m[lo:hi], o.v[lo:hi], &k)
		})
	})
}

// adamConsts are the scalars of one Adam update (the layout the kernels
// read, as seven float32).
type adamConsts struct {
	b1, c1, b2, c2, step, eps, keep float32
}

// adamGeneric applies one Adam update element by element:
//
//	m = b1·m + c1·g,  v = b2·v + c2·(g·g),  p = keep·p − (step·m)/(√v + eps)
func adamGeneric(p, g, m, v []float32, k *adamConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		// The conversions keep every product rounded on its own (Go may
		// otherwise fuse a product into the following sum), as the
		// kernels compute them.
		gi := g[i]
		mi := float32(k.b1*m[i]) + float32(k.c1*gi)
		vi := float32(k.b2*v[i]) + float32(k.c2*float32(gi*gi))
		m[i], v[i] = mi, vi
		p[i] = float32(k.keep*p[i]) - float32(k.step*mi)/(sqrt32(vi)+k.eps)
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// segment is a run of parameters that weight decay does or does not
// apply to.
type segment struct {
	lo, hi int
	decay  bool
}

// segments cuts [0, n) into runs, decayed within the spans.
func segments(n int, decayed []Span) ([]segment, error) {
	in := make([]bool, n)
	for _, s := range decayed {
		if s.Lo < 0 || s.Hi > n || s.Lo > s.Hi {
			return nil, fmt.Errorf("lab: decay span [%d, %d) outside %d parameters", s.Lo, s.Hi, n)
		}
		for i := s.Lo; i < s.Hi; i++ {
			in[i] = true
		}
	}
	var segs []segment
	for i := 0; i < n; {
		j := i
		for j < n && in[j] == in[i] {
			j++
		}
		segs = append(segs, segment{i, j, in[i]})
		i = j
	}
	return segs, nil
}

// forSegments calls fn for the parts of [lo, hi) in each segment.
func forSegments(segs []segment, lo, hi int, fn func(lo, hi int, decay bool)) {
	for _, s := range segs {
		a, b := max(lo, s.lo), min(hi, s.hi)
		if a < b {
			fn(a, b, s.decay)
		}
	}
}
