package lab

import (
	"math/bits"
	"math/rand/v2"
)

// rng is the package's random source: a PCG generator with draws whose
// algorithms are fixed here (not left to math/rand), so a seed gives the
// same numbers on every platform and Go release.
type rng struct{ src *rand.PCG }

func newRNG(seed uint64) *rng {
	return &rng{rand.NewPCG(seed, 0xda3e39cb94b95bdb)}
}

// float64 returns a uniform draw from [0, 1) with 53 random bits.
func (r *rng) float64() float64 {
	return float64(r.src.Uint64()>>11) / (1 << 53)
}

// intn returns a uniform draw from [0, n), n > 0 (Lemire's
// multiply-and-reject method, unbiased).
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), un)
		}
	}
	return int(hi)
}

// perm returns a uniform random permutation of 0..n−1 (Fisher–Yates).
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.shuffle(p)
	return p
}

// shuffle permutes p uniformly at random in place.
func (r *rng) shuffle(p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// subSeed derives an independent seed for one use of a run's seed (the
// noise of one rate, the batch order of one epoch, ...) by a SplitMix64
// finalizer over the seed and the tags.
func subSeed(seed uint64, tags ...uint64) uint64 {
	h := seed
	for _, t := range tags {
		h = mix64(h ^ mix64(t+0x9e3779b97f4a7c15))
	}
	return mix64(h)
}

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
