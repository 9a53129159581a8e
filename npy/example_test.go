package npy_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/xentlab/xent/npy"
)

func Example() {
	dir, err := os.MkdirTemp("", "npy-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "logits.npy")

	// Save a 2×3 float32 matrix, as np.save would.
	logits := []float32{1, 2, 3, 4, 5, 6}
	if err := npy.WriteFile(path, logits, 2, 3); err != nil {
		log.Fatal(err)
	}

	// Learn what the file holds before reading it.
	h, err := npy.ReadFileHeader(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.DType, h.Shape, h.Len())

	// Read it as float64; reading it as integer labels is refused.
	x, _, err := npy.ReadFile[float64](path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x)
	_, _, err = npy.ReadFile[int32](path)
	fmt.Println(err != nil)
	// Output:
	// <f4 [2 3] 6
	// [1 2 3 4 5 6]
	// true
}
