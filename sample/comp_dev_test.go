package sample

import (
	"fmt"
	"os"
	"testing"

	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/softmax"
)

func TestDevComponents(t *testing.T) {
	if os.Getenv("DEVCPU") == "" {
		t.Skip()
	}
	V := 262144
	x := benchLogits("flat", V, 1)
	m, _ := vek.MaxNaN32(x)
	e := make([]float32, V)
	ebuf := make([]float32, drawBlock)
	out := make([]int32, V+16)
	dst := make([]float32, V)
	var w work
	w.size(V)
	res := map[string]float64{}
	for range 10 {
		for name, f := range map[string]func(){
			"max":    func() { vek.MaxNaN32(x) },
			"exp":    func() { vek.ExpAffine32(e, x, m, 1, 1, 0) },
			"expsum": func() { vek.ExpSum32(x, m, 1) },
			"expchunk": func() {
				for l := 0; l < V; l += drawBlock {
					vek.ExpAffine32(ebuf, x[l:l+drawBlock], m, 1, 1, 0)
				}
			},
			"split": func() {
				for l := 0; l < V; l += drawBlock {
					split(x[l:l+drawBlock], ebuf, nil, int32(l), 3.3, posInf, out)
				}
			},
			"compress": func() { compress(x, e, nil, 0, 4.1, posInf, out, dst, w.de) },
			"bracket":  func() { w.bracket(x, nil, m, 0.95) },
			"softmax":  func() { softmax.Softmax(dst, x, V) },
			"lse":      func() { softmax.LogSumExp(dst[:1], x, V) },
		} {
			v := cpuPerOp(10, f)
			if old, ok := res[name]; !ok || v < old {
				res[name] = v
			}
		}
	}
	for _, k := range []string{"max", "exp", "expsum", "expchunk", "split", "compress", "bracket", "softmax", "lse"} {
		fmt.Printf("%-9s %6.1f µs\n", k, res[k]*1e6)
	}
}
