package guardmem

import (
	"errors"
	"testing"
)

// TestViews: the views have the asked length and are writable to their
// last byte; n = 0 gives empty views.
func TestViews(t *testing.T) {
	for _, n := range []int{1, 7, 4096, 5000} {
		lead, tail, free, err := Fenced(4 * n)
		if errors.Is(err, ErrUnavailable) {
			t.Skip(err)
		}
		l, tl := Float32(lead), Float32(tail)
		if len(l) != n || len(tl) != n {
			t.Fatalf("n=%d: lengths %d, %d", n, len(l), len(tl))
		}
		l[0], l[n-1], tl[0], tl[n-1] = 1, 2, 3, 4
		free()
	}
	if l, tl := Bytes(t, 0); len(l) != 0 || len(tl) != 0 {
		t.Fatal("n=0: non-empty views")
	}
}
