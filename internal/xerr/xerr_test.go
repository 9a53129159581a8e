package xerr_test

import (
	"errors"
	"testing"

	"github.com/xentlab/xent/attention"
	"github.com/xentlab/xent/calibrate"
	"github.com/xentlab/xent/embedding"
	"github.com/xentlab/xent/internal/xerr"
	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
	"github.com/xentlab/xent/plots"
	"github.com/xentlab/xent/sample"
	"github.com/xentlab/xent/scaling"
	"github.com/xentlab/xent/softmax"
)

// Every package's ErrShape and ErrValue, by name.
var (
	shapes = map[string]error{
		"attention": attention.ErrShape, "embedding": embedding.ErrShape, "linear": linear.ErrShape,
		"loss": loss.ErrShape, "metrics": metrics.ErrShape, "npy": npy.ErrShape, "sample": sample.ErrShape,
		"scaling": scaling.ErrShape, "softmax": softmax.ErrShape,
	}
	values = map[string]error{
		"attention": attention.ErrValue, "calibrate": calibrate.ErrValue, "embedding": embedding.ErrValue,
		"linear": linear.ErrValue, "loss": loss.ErrValue, "metrics": metrics.ErrValue, "plots": plots.ErrValue,
		"sample": sample.ErrValue, "scaling": scaling.ErrValue,
	}
)

// TestErrorsIsAcrossPackages makes real errors in several packages and
// checks that errors.Is matches them against every package's value of the
// same kind, and never against the other kind.
func TestErrorsIsAcrossPackages(t *testing.T) {
	_, lossValue := loss.NewFocal(-1)
	_, lossShape := mustCE(t).Eval32(loss.Input[float32]{Logits: []float32{1, 2, 3}, Cols: 2, Labels: []int32{0}}, loss.Output[float32]{})
	softmaxShape := softmax.Softmax(make([]float32, 3), []float32{1, 2, 3}, 0)
	_, embValue := embedding.NewInfoNCE(-1, false, true)
	_, sampleValue := sample.Parse("top_k=x")
	cases := []struct {
		from  string
		err   error
		shape bool
	}{
		{"loss.NewFocal", lossValue, false},
		{"CrossEntropy.Eval32", lossShape, true},
		{"softmax.Softmax", softmaxShape, true},
		{"embedding.NewInfoNCE", embValue, false},
		{"sample.Parse", sampleValue, false},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Fatalf("%s: no error", c.from)
		}
		want, other := values, shapes
		if c.shape {
			want, other = shapes, values
		}
		for pkg, target := range want {
			if !errors.Is(c.err, target) {
				t.Errorf("%s: errors.Is(%q, %s) = false", c.from, c.err, pkg)
			}
		}
		for pkg, target := range other {
			if errors.Is(c.err, target) {
				t.Errorf("%s: errors.Is(%q, %s of the other kind) = true", c.from, c.err, pkg)
			}
		}
	}
}

// TestOneValuePerKind checks that each package re-exports the shared
// values rather than declaring its own.
func TestOneValuePerKind(t *testing.T) {
	for pkg, e := range shapes {
		if e != xerr.ErrShape {
			t.Errorf("%s.ErrShape is a value of its own", pkg)
		}
	}
	for pkg, e := range values {
		if e != xerr.ErrValue {
			t.Errorf("%s.ErrValue is a value of its own", pkg)
		}
	}
	if errors.Is(xerr.ErrShape, xerr.ErrValue) || errors.Is(xerr.ErrValue, xerr.ErrShape) {
		t.Error("ErrShape and ErrValue match each other")
	}
}

func mustCE(t *testing.T) loss.Loss {
	t.Helper()
	ce, err := loss.NewCrossEntropy()
	if err != nil {
		t.Fatal(err)
	}
	return ce
}
