package plots

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/xentlab/xent/calibrate"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/scaling"
)

// overconfident returns logits of a 10-class problem that are 3× too
// sharp, with labels drawn from the calibrated probabilities.
func overconfident(rng *rand.Rand, rows int) ([]float32, []int32) {
	const cols = 10
	x := make([]float32, rows*cols)
	labels := make([]int32, rows)
	p := make([]float64, cols)
	for r := range labels {
		var s float64
		for j := range p {
			u := 1.5 * rng.NormFloat64()
			x[r*cols+j] = float32(3 * u)
			p[j] = math.Exp(u)
			s += p[j]
		}
		t := rng.Float64() * s
		y := 0
		for y < cols-1 && t > p[y] {
			t -= p[y]
			y++
		}
		labels[r] = int32(y)
	}
	return x, labels
}

// checkFile checks that path holds a PNG of the given size or an SVG
// document.
func checkFile(t *testing.T, path string, w, h vg.Length) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(path) {
	case ".png":
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// vgimg renders at 96 dpi by default.
		if cfg.Width != int(math.Round(w.Dots(96))) || cfg.Height != int(math.Round(h.Dots(96))) {
			t.Errorf("%s: %d × %d pixels", path, cfg.Width, cfg.Height)
		}
	case ".svg":
		if !bytes.Contains(data[:min(len(data), 200)], []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(data), []byte("</svg>")) {
			t.Errorf("%s: not an SVG document", path)
		}
	}
}

func TestReliabilityFigures(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	x, labels := overconfident(rng, 3000)
	before, err := metrics.TopLabel(x, 10, labels)
	if err != nil {
		t.Fatal(err)
	}
	temp, err := calibrate.FitTemperature(x, 10, labels)
	if err != nil {
		t.Fatal(err)
	}
	scaled := make([]float32, len(x))
	calibrate.Apply(calibrate.Temperature(temp), scaled, x, 10)
	after, _ := metrics.TopLabel(scaled, 10, labels)
	b1, _ := before.Bins(15, metrics.EqualWidth)
	b2, _ := after.Bins(15, metrics.EqualMass)
	for _, ext := range []string{".png", ".svg"} {
		p := filepath.Join(dir, "reliability"+ext)
		if err := Reliability(p, b1); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, 5*vg.Inch, 7*vg.Inch)
		p = filepath.Join(dir, "recalibration"+ext)
		if err := Recalibration(p, b1, b2, Title("T = 3")); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, 10*vg.Inch, 7*vg.Inch)
	}
	p := filepath.Join(dir, "small.png")
	if err := Reliability(p, b1, Size(3*vg.Inch, 4*vg.Inch)); err != nil {
		t.Fatal(err)
	}
	checkFile(t, p, 3*vg.Inch, 4*vg.Inch)
}

func TestScalingFigures(t *testing.T) {
	dir := t.TempDir()
	law := scaling.PowerLaw{Linf: 1.7, N0: 3e4, Alpha: 0.3}
	rng := rand.New(rand.NewPCG(3, 4))
	var n, loss []float64
	for _, v := range []float64{1e6, 3e6, 1e7, 3e7, 1e8, 3e8} {
		n, loss = append(n, v), append(loss, law.Predict(v)+0.005*rng.NormFloat64())
	}
	fit, err := scaling.FitPowerLaw(n, loss, scaling.Bootstrap(50))
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".png", ".svg"} {
		p := filepath.Join(dir, "powerlaw"+ext)
		if err := PowerLaw(p, fit, n, loss, 1e11); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, 7*vg.Inch, 5*vg.Inch)
	}
	lr := make([]float64, 2000)
	for i := range lr {
		lr[i] = 1e-3 * (1 - 0.9*float64(i)/float64(len(lr)))
	}
	truth := scaling.Annealing{L0: 2, A: 0.5, Alpha: 0.4, C: 0.3, Lambda: 0.999}
	curve := truth.Curve(lr)
	var steps []int
	var obs []float64
	for s := 20; s <= 1500; s += 20 {
		steps, obs = append(steps, s), append(obs, curve[s-1]+0.003*rng.NormFloat64())
	}
	af, err := scaling.FitAnnealing(steps, obs, lr[:1500], scaling.Bootstrap(30))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "annealing.png")
	if err := Annealing(p, af, steps, obs, lr); err != nil {
		t.Fatal(err)
	}
	checkFile(t, p, 7*vg.Inch, 7*vg.Inch)
	p = filepath.Join(dir, "curve.svg")
	if err := Curve(p, FitCurve{X: []float64{1, 2}, Y: []float64{3, 2}, FitX: []float64{1, 2, 4}, Fit: []float64{3, 2, 1.5}, LogY: true}); err != nil {
		t.Fatal(err)
	}
	checkFile(t, p, 6*vg.Inch, 4.5*vg.Inch)
}

func TestScoresFigure(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	in, out := make([]float64, 2000), make([]float64, 1500)
	for i := range in {
		in[i] = rng.NormFloat64() + 2
	}
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	for _, ext := range []string{".png", ".svg"} {
		p := filepath.Join(dir, "scores"+ext)
		if err := Scores(p, in, out, 0); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, 6*vg.Inch, 4.5*vg.Inch)
	}
	// All scores equal: one bin, no error.
	if err := Scores(filepath.Join(dir, "flat.png"), []float64{1, 1}, []float64{1}, 10); err != nil {
		t.Error(err)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bins := []metrics.Bin{{Lo: 0, Hi: 1, Count: 3, Conf: 0.7, Acc: 0.6}}
	for name, err := range map[string]error{
		"extension":   Reliability(filepath.Join(dir, "r.jpg"), bins),
		"no bins":     Reliability(filepath.Join(dir, "r.png"), nil),
		"empty bins":  Reliability(filepath.Join(dir, "r.png"), []metrics.Bin{{Lo: 0, Hi: 1}}),
		"bad bin":     Reliability(filepath.Join(dir, "r.png"), []metrics.Bin{{Lo: 0, Hi: 1, Count: 1, Acc: 2}}),
		"after":       Recalibration(filepath.Join(dir, "r.png"), bins, nil),
		"scores NaN":  Scores(filepath.Join(dir, "s.png"), []float64{math.NaN()}, []float64{1}, 0),
		"scores none": Scores(filepath.Join(dir, "s.png"), nil, []float64{1}, 0),
		"curve len":   Curve(filepath.Join(dir, "c.png"), FitCurve{X: []float64{1}, FitX: []float64{1, 2}, Fit: []float64{1, 2}}),
		"curve log":   Curve(filepath.Join(dir, "c.png"), FitCurve{FitX: []float64{0, 2}, Fit: []float64{1, 2}, LogX: true}),
		"curve inf":   Curve(filepath.Join(dir, "c.png"), FitCurve{FitX: []float64{1, 2}, Fit: []float64{1, math.Inf(1)}}),
		"power nil":   PowerLaw(filepath.Join(dir, "p.png"), nil, nil, nil, 0),
	} {
		if !errors.Is(err, ErrValue) {
			t.Errorf("%s: err = %v, want ErrValue", name, err)
		}
	}
	// No file was written by a failed call, and a missing directory is an
	// error.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed calls left %d files", len(entries))
	}
	if err := Reliability(filepath.Join(dir, "missing", "r.png"), bins); err == nil {
		t.Error("missing directory: no error")
	}
}
