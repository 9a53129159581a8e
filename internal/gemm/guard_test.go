//go:build linux

package gemm

import (
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/guardmem"
)

// guarded returns two views of n float32s: one whose first element follows
// an inaccessible page, one whose last element precedes another.
func guarded(t *testing.T, n int) (lead, tail []float32) {
	l, tl := guardmem.Bytes(t, 4*n)
	return guardmem.Float32(l), guardmem.Float32(tl)
}

// TestNoAccessOutside runs every tier, transposition and the packing
// routines on operands that end (or start) exactly at an inaccessible
// page, with shapes that have full panels, edge panels and k tails.
func TestNoAccessOutside(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	type shape struct{ m, n, k int }
	for _, s := range []shape{{1, 1, 1}, {6, 16, 4}, {13, 35, 7}, {12, 32, 259}, {7, 17, 3}, {25, 65, 9}} {
		for _, tc := range transCombos {
			ar, ac, br, bc := s.m, s.k, s.k, s.n
			if tc[0] {
				ar, ac = ac, ar
			}
			if tc[1] {
				br, bc = bc, br
			}
			for side := range 2 {
				pick := func(n int) []float32 {
					l, r := guarded(t, n)
					x := [][]float32{l, r}[side]
					for i := range x {
						x[i] = randVal(rng)
					}
					return x
				}
				a, b, c := pick(ar*ac), pick(br*bc), pick(s.m*s.n)
				for _, tr := range tiers() {
					t.Logf("%s %v %v side %d", tr.name, tc, s, side)
					tr.gemm(new(Workspace), tc[0], tc[1], s.m, s.n, s.k, 1, a, ac, b, bc, 0.5, c, s.n, 1)
					pa, pb := pick(roundUp(s.m, tr.mr)*s.k), pick(roundUp(s.n, tr.nr)*s.k)
					tr.packA(pa, tr.mr*s.k, tc[0], a, ac, 0, s.m, 0, s.k)
					tr.packB(pb, tr.nr*s.k, tc[1], b, bc, 0, s.k, 0, s.n)
					tr.mulPacked(s.m, s.n, s.k, 1, pa, pb, 1, c, s.n, 1)
				}
			}
		}
	}
}
