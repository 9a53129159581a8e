package lab

// This file is the lab's only contact with packages metrics and
// calibrate, so that a change in their APIs is absorbed here.

import (
	"fmt"

	"github.com/xentlab/xent/calibrate"
	"github.com/xentlab/xent/metrics"
)

// Bin is one bin of a reliability diagram: the confidences (Lo, Hi], the
// number of test examples in it, their mean confidence and their
// accuracy.
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
	Conf  float64 `json:"conf"`
	Acc   float64 `json:"acc"`
}

// Scores are the metrics of a model's logits on labelled examples.
type Scores struct {
	Accuracy float64 `json:"accuracy"`
	NLL      float64 `json:"nll"`
	// ECE is the expected calibration error with equal-width bins
	// (Guo et al. 2017), over the bins of Reliability.
	ECE         float64 `json:"ece"`
	Reliability []Bin   `json:"reliability,omitempty"`
}

// score evaluates logits [rows×cols] against labels: accuracy, NLL, and,
// when bins > 0, the ECE and reliability diagram with that many
// equal-width bins.
func score(logits []float32, cols int, labels []int32, bins, threads int) (Scores, error) {
	r, err := metrics.Evaluate(logits, cols, labels, metrics.Threads(threads))
	if err != nil {
		return Scores{}, err
	}
	s := Scores{NLL: r.NLL}
	acc, ok := r.AccuracyAt(1)
	if !ok {
		return Scores{}, fmt.Errorf("lab: no top-1 accuracy from metrics")
	}
	s.Accuracy = acc
	if bins <= 0 {
		return s, nil
	}
	cal := r.Calibration
	if cal == nil {
		if cal, err = metrics.TopLabel(logits, cols, labels, metrics.Threads(threads)); err != nil {
			return Scores{}, err
		}
	}
	if s.ECE, err = cal.ECE(bins); err != nil {
		return Scores{}, err
	}
	bs, err := cal.Bins(bins, metrics.EqualWidth)
	if err != nil {
		return Scores{}, err
	}
	for _, b := range bs {
		s.Reliability = append(s.Reliability, Bin{Lo: b.Lo, Hi: b.Hi, Count: b.Count, Conf: b.Conf, Acc: b.Acc})
	}
	return s, nil
}

// fitTemperature fits temperature scaling on held-out logits and labels
// and returns T.
func fitTemperature(logits []float32, cols int, labels []int32, threads int) (float64, error) {
	return calibrate.FitTemperature(logits, cols, labels, calibrate.Threads(threads))
}

// applyTemperature writes logits/T into dst.
func applyTemperature(dst, logits []float32, cols int, t float64) error {
	return calibrate.Apply(calibrate.Temperature(t), dst, logits, cols)
}
