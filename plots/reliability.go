package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xentlab/xent/metrics"
)

// checkBins validates reliability bins: at least one example, intervals
// within [0, 1], finite values.
func checkBins(fn string, bins []metrics.Bin) error {
	if len(bins) == 0 {
		return fmt.Errorf("plots.%s: no bins: %w", fn, ErrValue)
	}
	n := 0
	for i, b := range bins {
		ok := b.Lo >= 0 && b.Hi <= 1 && b.Lo <= b.Hi && b.Count >= 0 &&
			b.Conf >= 0 && b.Conf <= 1 && b.Acc >= 0 && b.Acc <= 1
		if !ok {
			return fmt.Errorf("plots.%s: bin %d = %+v is not a reliability bin: %w", fn, i, b, ErrValue)
		}
		n += b.Count
	}
	if n == 0 {
		return fmt.Errorf("plots.%s: the bins hold no example: %w", fn, ErrValue)
	}
	return nil
}

// reliabilityPanels returns the reliability diagram of bins (accuracy bars
// per bin, the gap to the mean confidence shaded, the diagonal) and the
// histogram of confidences below it (fraction of examples per bin, with
// the overall accuracy and mean confidence as vertical lines).
func reliabilityPanels(title string, bins []metrics.Bin) (top, bottom *plot.Plot, err error) {
	e := metrics.BinErrors(bins)
	top = plot.New()
	top.Title.Text = fmt.Sprintf("%s (ECE %.4f, MCE %.4f, %d bins)", title, e.ECE, e.MCE, len(bins))
	top.X.Label.Text = "confidence"
	top.Y.Label.Text = "accuracy"
	top.Title.Padding = vg.Points(6)
	// The band above accuracy 1 holds the legend, so that it never
	// covers a bar.
	top.X.Min, top.X.Max, top.Y.Min, top.Y.Max = 0, 1, 0, 1.32
	top.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25}, {Value: 0.5, Label: "0.5"}, {Value: 0.75}, {Value: 1, Label: "1"}})
	acc := &rects{fill: withAlpha(blue, 200), stroke: draw.LineStyle{Color: blue, Width: vg.Points(0.5)}}
	// Over-confidence (confidence above accuracy) is shaded above the
	// bar; under-confidence lies inside the bar and is drawn opaque over
	// it, so that both look like their legend swatches.
	gap := &rects{fill: withAlpha(red, 70), stroke: draw.LineStyle{Color: red, Width: vg.Points(0.5)}}
	under := &rects{fill: underFill, stroke: draw.LineStyle{Color: underEdge, Width: vg.Points(0.5)}}
	hist := &rects{fill: withAlpha(grey, 160), stroke: draw.LineStyle{Color: grey, Width: vg.Points(0.5)}}
	total := 0
	var meanConf, meanAcc float64
	for _, b := range bins {
		total += b.Count
	}
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		acc.r = append(acc.r, rect{b.Lo, b.Hi, 0, b.Acc})
		if b.Conf >= b.Acc {
			gap.r = append(gap.r, rect{b.Lo, b.Hi, b.Acc, b.Conf})
		} else {
			under.r = append(under.r, rect{b.Lo, b.Hi, b.Conf, b.Acc})
		}
		w := float64(b.Count) / float64(total)
		hist.r = append(hist.r, rect{b.Lo, b.Hi, 0, w})
		meanConf += w * b.Conf
		meanAcc += w * b.Acc
	}
	diag, err := line([]float64{0, 1}, []float64{0, 1}, grey, vg.Points(1), vg.Points(4), vg.Points(3))
	if err != nil {
		return nil, nil, err
	}
	top.Add(acc, gap, under, diag)
	top.Legend.Add("accuracy", acc)
	top.Legend.Add("over-confidence (gap up to the confidence)", gap)
	top.Legend.Add("under-confidence (gap down to the confidence)", under)
	top.Legend.Top, top.Legend.Left = true, true
	top.Legend.TextStyle.Font.Size = vg.Points(9)
	top.Legend.Padding = vg.Points(1)

	bottom = plot.New()
	bottom.X.Label.Text = "confidence"
	bottom.Y.Label.Text = "fraction of examples"
	bottom.X.Min, bottom.X.Max, bottom.Y.Min = 0, 1, 0
	bottom.Y.Max = 1.3 * maxHeight(hist) // room for the legend
	ma, err := line([]float64{meanAcc, meanAcc}, []float64{0, maxHeight(hist)}, blue, vg.Points(1.5), vg.Points(4), vg.Points(2))
	if err != nil {
		return nil, nil, err
	}
	mc, err := line([]float64{meanConf, meanConf}, []float64{0, maxHeight(hist)}, red, vg.Points(1.5))
	if err != nil {
		return nil, nil, err
	}
	bottom.Add(hist, ma, mc)
	bottom.Legend.Add(fmt.Sprintf("accuracy %.3f", meanAcc), ma)
	bottom.Legend.Add(fmt.Sprintf("mean confidence %.3f", meanConf), mc)
	bottom.Legend.Top, bottom.Legend.Left = true, true
	return top, bottom, nil
}

func maxHeight(r *rects) float64 {
	m := 0.0
	for _, x := range r.r {
		m = math.Max(m, x.y1)
	}
	return m
}

// Reliability draws the reliability diagram of bins (from
// metrics.Calibration.Bins): accuracy per confidence bin against the
// diagonal of perfect calibration, the gap to each bin's mean confidence
// shaded, ECE and MCE in the title; and below it the histogram of
// confidences with the overall accuracy and mean confidence.
func Reliability(path string, bins []metrics.Bin, opts ...Option) error {
	const fn = "Reliability"
	if err := checkBins(fn, bins); err != nil {
		return err
	}
	c := configure("Reliability", 5*vg.Inch, 7*vg.Inch, opts)
	top, bottom, err := reliabilityPanels(c.title, bins)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	return save(fn, path, c.w, c.h, [][]*plot.Plot{{top}, {bottom}})
}

// Recalibration draws two reliability diagrams with their confidence
// histograms side by side: before and after a calibration map (e.g.
// temperature scaling; the title can name it, default "temperature
// scaling").
func Recalibration(path string, before, after []metrics.Bin, opts ...Option) error {
	const fn = "Recalibration"
	if err := checkBins(fn, before); err != nil {
		return err
	}
	if err := checkBins(fn, after); err != nil {
		return err
	}
	c := configure("temperature scaling", 10*vg.Inch, 7*vg.Inch, opts)
	// The map (and its fitted parameters, named in the title) applies
	// after, not before.
	t1, b1, err := reliabilityPanels("before", before)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	t2, b2, err := reliabilityPanels("after "+c.title, after)
	if err != nil {
		return fmt.Errorf("plots.%s: %w", fn, err)
	}
	return save(fn, path, c.w, c.h, [][]*plot.Plot{{t1, t2}, {b1, b2}})
}
