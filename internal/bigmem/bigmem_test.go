package bigmem

import (
	"testing"
)

func TestFloat32(t *testing.T) {
	const n = 1<<31 + 7
	s, err := Float32(n)
	if err != nil {
		t.Skip(err)
	}
	defer s.Free()
	x := s.X
	if len(x) != n || x[0] != 0 || x[n-1] != 0 || x[1<<31] != 0 {
		t.Fatalf("len %d, ends %v %v", len(x), x[0], x[n-1])
	}
	if err := s.Set(n-1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(5, -1); err != nil {
		t.Fatal(err)
	}
	// The writes stay where they were made: the same block mapped
	// elsewhere still reads 0.
	if x[n-1] != 2 || x[5] != -1 || x[5+block/4] != 0 || x[n-1-block/4] != 0 {
		t.Fatalf("writes: %v %v %v %v", x[n-1], x[5], x[5+block/4], x[n-1-block/4])
	}
}
