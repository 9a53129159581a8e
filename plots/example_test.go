package plots_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/plots"
)

func ExampleReliability() {
	logits := []float32{
		4, 0, 0, 0, 4, 0, 0, 0, 4, 4, 0, 0,
		0, 4, 0, 3, 1, 0, 0, 2, 2, 1, 0, 3,
	}
	labels := []int32{0, 1, 2, 1, 1, 0, 1, 2}
	cal, err := metrics.TopLabel(logits, 3, labels)
	if err != nil {
		panic(err)
	}
	bins, _ := cal.Bins(10, metrics.EqualWidth)
	dir, _ := os.MkdirTemp("", "plots")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "reliability.svg")
	if err := plots.Reliability(path, bins, plots.Title("toy model")); err != nil {
		panic(err)
	}
	_, err = os.Stat(path)
	fmt.Println(err == nil)
	// Output: true
}
