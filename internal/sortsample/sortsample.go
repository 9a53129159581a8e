// Package sortsample is the baseline the sampler is measured against: the
// chain penalties → top-k → top-p → min-p → temperature → draw done the
// way most Go inference code does it, by sorting the whole vocabulary
// (slices.SortFunc, pattern-defeating quicksort) and walking the sorted
// list with float32 probabilities and a float64 running sum. It keeps
// the same semantics as package sample where they are defined (ties by
// lower id; the token that crosses P is kept), so that the two can be
// timed on the same rows.
package sortsample

import (
	"math"
	"slices"
)

// Params are the chain's parameters; zero values turn a stage off
// (TopP ≥ 1 or 0: off; Temp 0: 1).
type Params struct {
	LastN                   int
	Repeat, Frequency, Pres float32
	TopK                    int
	TopP, MinP              float64
	Temp                    float32
}

type cand struct {
	id    int32
	logit float32
	p     float32
}

// Sampler holds the baseline's buffers, reused across calls.
type Sampler struct {
	c      []cand
	counts map[int32]int
}

// Sample draws a token from logits with the uniform u in [0, 1).
func (s *Sampler) Sample(logits []float32, hist []int32, p Params, u float64) int32 {
	c := s.c[:0]
	for i, z := range logits {
		c = append(c, cand{id: int32(i), logit: z})
	}
	s.c = c
	if p.LastN != 0 && (p.Repeat != 1 || p.Frequency != 0 || p.Pres != 0) {
		if s.counts == nil {
			s.counts = map[int32]int{}
		}
		clear(s.counts)
		w := hist
		if p.LastN > 0 && p.LastN < len(w) {
			w = w[len(w)-p.LastN:]
		}
		for _, t := range w {
			s.counts[t]++
		}
		for t, n := range s.counts {
			z := c[t].logit
			if z <= 0 {
				z *= p.Repeat
			} else {
				z /= p.Repeat
			}
			c[t].logit = z - (float32(n)*p.Frequency + p.Pres)
		}
	}
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case a.logit > b.logit:
			return -1
		case a.logit < b.logit:
			return 1
		}
		return int(a.id - b.id)
	})
	if p.TopK > 0 && p.TopK < len(c) {
		c = c[:p.TopK]
	}
	softmax := func(c []cand) {
		m := c[0].logit
		var sum float64
		for i := range c {
			c[i].p = float32(math.Exp(float64(c[i].logit - m)))
			sum += float64(c[i].p)
		}
		for i := range c {
			c[i].p = float32(float64(c[i].p) / sum)
		}
	}
	if p.TopP > 0 && p.TopP < 1 {
		softmax(c)
		var cum float64
		for i := range c {
			cum += float64(c[i].p)
			if cum >= p.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		th := c[0].logit + float32(math.Log(p.MinP))
		n := 1
		for n < len(c) && c[n].logit >= th {
			n++
		}
		c = c[:n]
	}
	if p.Temp > 0 && p.Temp != 1 {
		for i := range c {
			c[i].logit /= p.Temp
		}
	}
	softmax(c)
	var cum float64
	for i := range c {
		cum += float64(c[i].p)
		if cum > u {
			return c[i].id
		}
	}
	return c[len(c)-1].id
}
