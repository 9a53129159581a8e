package scaling_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/xentlab/xent/scaling"
)

func ExampleFitPowerLaw() {
	// Losses of five model sizes that follow L = 1.8 + (1e5/N)^0.3 exactly.
	law := scaling.PowerLaw{Linf: 1.8, N0: 1e5, Alpha: 0.3}
	var n, loss []float64
	for _, size := range []float64{1e6, 1e7, 1e8, 1e9, 1e10} {
		n = append(n, size)
		loss = append(loss, law.Predict(size))
	}
	fit, err := scaling.FitPowerLaw(n, loss, scaling.Bootstrap(0))
	if err != nil {
		panic(err)
	}
	fmt.Printf("L∞ %.3f  N₀ %.3g  α %.3f  L(1e12) %.4f\n", fit.Law.Linf, fit.Law.N0, fit.Law.Alpha, fit.Predict(1e12))
	// Output: L∞ 1.800  N₀ 1e+05  α 0.300  L(1e12) 1.8079
}

func ExampleReadCurve() {
	csv := "step,loss,lr\n1,4.0,1e-3\n2,3.5,1e-3\n3,3.2,5e-4\n"
	c, err := scaling.ReadCurve(strings.NewReader(csv))
	if err != nil {
		panic(err)
	}
	lr, _ := c.Schedule()
	s1, s2 := scaling.Areas(lr, 0.999)
	fmt.Println(c.Loss, s1[2], math.Round(s2[2]*1e6)/1e6)
	// Output: [4 3.5 3.2] 0.0025 0.0005
}
