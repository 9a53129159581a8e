package lab

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// NoiseType is the kind of label noise a run injects into its training
// labels.
type NoiseType int

const (
	// Symmetric noise changes exactly round(rate·n) labels, chosen
	// uniformly at random, each to one of the other classes chosen
	// uniformly (the protocol of the GCE, SCE and LDR papers' "symmetric"
	// or "uniform" noise, with the exact count rather than independent
	// coin flips, so the stated rate is the realised rate).
	Symmetric NoiseType = iota
	// Asymmetric noise flips, within each source class of a pair table,
	// exactly round(rate·n_c) of its n_c labels (chosen at random) to the
	// class the table maps it to: class-dependent noise between similar
	// classes. Classes not in the table keep their labels. For MNIST the
	// table is MNISTPairs (2→7, 3→8, 5↔6, 7→1, after Patrini et al.
	// 2017), so the overall rate is about rate·5/10.
	Asymmetric
)

// MNISTPairs is the asymmetric-noise table for digits: 2→7, 3→8, 5→6,
// 6→5, 7→1 (Patrini et al., "Making deep neural networks robust to label
// noise: a loss correction approach", 2017, also used by the GCE and SCE
// papers).
var MNISTPairs = map[int32]int32{2: 7, 3: 8, 5: 6, 6: 5, 7: 1}

// String returns "symmetric" or "asymmetric".
func (t NoiseType) String() string {
	switch t {
	case Symmetric:
		return "symmetric"
	case Asymmetric:
		return "asymmetric"
	}
	return fmt.Sprintf("NoiseType(%d)", int(t))
}

// ParseNoiseType reads "symmetric" (or "sym") and "asymmetric" (or
// "asym").
func ParseNoiseType(s string) (NoiseType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "symmetric", "sym":
		return Symmetric, nil
	case "asymmetric", "asym":
		return Asymmetric, nil
	}
	return 0, fmt.Errorf("unknown noise type %q (symmetric, asymmetric)", s)
}

// Noise describes the label noise of a run.
type Noise struct {
	Type NoiseType
	// Rate is the fraction in [0, 1] of labels changed (for asymmetric
	// noise, of each source class's labels).
	Rate float64
	// Pairs is the asymmetric table, source class → noisy class; nil
	// means MNISTPairs.
	Pairs map[int32]int32
}

// Apply returns a noisy copy of labels (classes in [0, classes)) and
// the number of labels it changed. The same seed gives the same labels.
func (n Noise) Apply(labels []int32, classes int, seed uint64) ([]int32, int, error) {
	if !(n.Rate >= 0 && n.Rate <= 1) {
		return nil, 0, fmt.Errorf("lab: noise rate %g, want [0, 1]", n.Rate)
	}
	if classes < 2 {
		return nil, 0, fmt.Errorf("lab: label noise needs at least 2 classes, have %d", classes)
	}
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			return nil, 0, fmt.Errorf("lab: label %d of row %d outside [0, %d)", y, i, classes)
		}
	}
	out := append([]int32(nil), labels...)
	r := newRNG(seed)
	switch n.Type {
	case Symmetric:
		k := int(math.Round(n.Rate * float64(len(labels))))
		for _, i := range r.perm(len(labels))[:k] {
			c := int32(r.intn(classes - 1))
			if c >= labels[i] {
				c++
			}
			out[i] = c
		}
		return out, k, nil
	case Asymmetric:
		pairs := n.Pairs
		if pairs == nil {
			pairs = MNISTPairs
		}
		src := make([]int32, 0, len(pairs))
		for s, d := range pairs {
			if s < 0 || int(s) >= classes || d < 0 || int(d) >= classes || s == d {
				return nil, 0, fmt.Errorf("lab: noise pair %d→%d invalid for %d classes", s, d, classes)
			}
			src = append(src, s)
		}
		sort.Slice(src, func(i, j int) bool { return src[i] < src[j] })
		byClass := make([][]int, classes)
		for i, y := range labels {
			byClass[y] = append(byClass[y], i)
		}
		changed := 0
		for _, s := range src {
			rows := byClass[s]
			k := int(math.Round(n.Rate * float64(len(rows))))
			r.shuffle(rows)
			for _, i := range rows[:k] {
				out[i] = pairs[s]
			}
			changed += k
		}
		return out, changed, nil
	}
	return nil, 0, fmt.Errorf("lab: unknown noise type %d", int(n.Type))
}

// String describes the noise, e.g. "symmetric 40%".
func (n Noise) String() string {
	return fmt.Sprintf("%s %g%%", n.Type, 100*n.Rate)
}
