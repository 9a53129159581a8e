// Command openblas times OpenBLAS's cblas_sgemm on one shape, the baseline
// for xent's internal/gemm. It is a module of its own (cgo, -lopenblas) so
// that the xent module never depends on it.
//
//	OPENBLAS_NUM_THREADS=1 go run . -m 2048 -n 2048 -k 2048 -threads 1
//
// prints one JSON line:
//
//	{"op":"gemm","m":2048,"n":2048,"k":2048,"threads":1,"seconds":...,"gflops":...}
//
// where seconds is the median of -reps timed calls after one warm-up call,
// and gflops is 2·m·n·k/seconds/1e9. The library's configuration (the
// kernel it chose) goes to stderr.
package main

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

char* openblas_get_config(void);
char* openblas_get_corename(void);
void openblas_set_num_threads(int);
*/
import "C"

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"
	"unsafe"
)

type result struct {
	Op      string  `json:"op"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	TransA  bool    `json:"transa,omitempty"`
	TransB  bool    `json:"transb,omitempty"`
	Threads int     `json:"threads"`
	Seconds float64 `json:"seconds"`
	GFLOPS  float64 `json:"gflops"`
}

func main() {
	m := flag.Int("m", 1024, "rows of op(A) and C")
	n := flag.Int("n", 1024, "columns of op(B) and C")
	k := flag.Int("k", 1024, "columns of op(A), rows of op(B)")
	threads := flag.Int("threads", 1, "OpenBLAS threads (also set OPENBLAS_NUM_THREADS)")
	reps := flag.Int("reps", 0, "timed calls (0: enough for about two seconds, at least 3)")
	transA := flag.Bool("transa", false, "A is stored k×m")
	transB := flag.Bool("transb", false, "B is stored n×k")
	flag.Parse()
	if *m < 1 || *n < 1 || *k < 1 || *threads < 1 {
		fmt.Fprintln(os.Stderr, "openblas: m, n, k and threads must be ≥ 1")
		os.Exit(2)
	}
	C.openblas_set_num_threads(C.int(*threads))
	fmt.Fprintf(os.Stderr, "openblas: %s (core %s)\n", C.GoString(C.openblas_get_config()), C.GoString(C.openblas_get_corename()))

	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(x []float32) {
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
		}
	}
	a := make([]float32, *m**k)
	b := make([]float32, *k**n)
	c := make([]float32, *m**n)
	fill(a)
	fill(b)
	ta, lda := C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans), *k
	if *transA {
		ta, lda = C.CblasTrans, *m
	}
	tb, ldb := C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans), *n
	if *transB {
		tb, ldb = C.CblasTrans, *k
	}
	call := func() {
		C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(*m), C.blasint(*n), C.blasint(*k),
			1, (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
			(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
			0, (*C.float)(unsafe.Pointer(&c[0])), C.blasint(*n))
	}
	t0 := time.Now()
	call() // warm-up
	first := time.Since(t0).Seconds()
	r := *reps
	if r <= 0 {
		r = max(3, min(1000, int(2/max(first, 1e-6))))
	}
	times := make([]float64, r)
	for i := range times {
		t0 := time.Now()
		call()
		times[i] = time.Since(t0).Seconds()
	}
	sort.Float64s(times)
	med := times[r/2]
	if r%2 == 0 {
		med = (times[r/2-1] + times[r/2]) / 2
	}
	out, _ := json.Marshal(result{Op: "gemm", M: *m, N: *n, K: *k, TransA: *transA, TransB: *transB,
		Threads: *threads, Seconds: med, GFLOPS: 2 * float64(*m) * float64(*n) * float64(*k) / med / 1e9})
	fmt.Println(string(out))
}
