package lab

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/xentlab/xent/loss"
)

// Test-only losses, registered under names no real loss uses.

// oneHotLoss is soft-target cross-entropy that insists on one-hot
// targets (it stands for losses that read targets, not labels).
type oneHotLoss struct{}

func (oneHotLoss) Name() string { return "lab-test-onehot" }

func (oneHotLoss) Eval32(in loss.Input[float32], out loss.Output[float32]) (float64, error) {
	if in.Labels != nil || in.Cols < 1 || len(in.Targets) != len(in.Logits) {
		return 0, errors.New("lab-test-onehot: want Targets, not Labels")
	}
	rows := len(in.Logits) / in.Cols
	var sum float64
	for i := 0; i < rows; i++ {
		x, q := in.Logits[i*in.Cols:(i+1)*in.Cols], in.Targets[i*in.Cols:(i+1)*in.Cols]
		ones := 0
		for _, v := range q {
			switch v {
			case 1:
				ones++
			case 0:
			default:
				return 0, fmt.Errorf("row %d: target %v is not one-hot", i, v)
			}
		}
		if ones != 1 {
			return 0, fmt.Errorf("row %d: %d ones", i, ones)
		}
		m := float64(slices.Max(x))
		var s float64
		for _, v := range x {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		for j, v := range x {
			sum -= float64(q[j]) * (float64(v) - lse)
			if out.Grad != nil {
				out.Grad[i*in.Cols+j] = float32((math.Exp(float64(v)-lse) - float64(q[j])) / float64(rows))
			}
		}
	}
	return sum / float64(rows), nil
}

func (oneHotLoss) Eval64(loss.Input[float64], loss.Output[float64]) (float64, error) {
	return 0, errors.New("not used")
}

// countingLoss is cross-entropy with per-example state that counts the
// visits of every example.
type countingLoss struct{ ce loss.Loss }

func (countingLoss) Name() string { return "lab-test-stateful" }

func (c countingLoss) Eval32(in loss.Input[float32], out loss.Output[float32]) (float64, error) {
	return c.ce.Eval32(in, out)
}

func (c countingLoss) Eval64(in loss.Input[float64], out loss.Output[float64]) (float64, error) {
	return c.ce.Eval64(in, out)
}

func (countingLoss) InitialState(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 100
	}
	return s
}

func (c countingLoss) Step32(in loss.Input[float32], out loss.Output[float32], state []float64) (float64, error) {
	if len(state) != len(in.Labels) {
		return 0, fmt.Errorf("%d states for %d rows", len(state), len(in.Labels))
	}
	for i := range state {
		state[i]++
	}
	return c.ce.Eval32(in, out)
}

// failingLoss is cross-entropy that fails on batches of more than two
// rows (it passes the objective's probe, then fails in training).
type failingLoss struct{ ce loss.Loss }

func (failingLoss) Name() string { return "lab-test-failing" }
func (f failingLoss) Eval32(in loss.Input[float32], out loss.Output[float32]) (float64, error) {
	if len(in.Labels) > 2 {
		return 0, errors.New("lab-test-failing: too many rows")
	}
	return f.ce.Eval32(in, out)
}
func (f failingLoss) Eval64(in loss.Input[float64], out loss.Output[float64]) (float64, error) {
	return f.ce.Eval64(in, out)
}

// teacherOnly rejects anything but a teacher.
type teacherOnly struct{}

func (teacherOnly) Name() string { return "lab-test-teacher" }
func (teacherOnly) Eval32(in loss.Input[float32], _ loss.Output[float32]) (float64, error) {
	if in.Teacher == nil {
		return 0, errors.New("lab-test-teacher: needs Teacher")
	}
	return 0, nil
}
func (teacherOnly) Eval64(loss.Input[float64], loss.Output[float64]) (float64, error) {
	return 0, errors.New("not used")
}

func init() {
	loss.Register(loss.Spec{Name: "lab-test-onehot", Summary: "test", Needs: loss.NeedsTargets,
		New: func(map[string]float64, []loss.Option) (loss.Loss, error) { return oneHotLoss{}, nil }})
	loss.Register(loss.Spec{Name: "lab-test-stateful", Summary: "test", Needs: loss.NeedsLabels,
		New: func(_ map[string]float64, opts []loss.Option) (loss.Loss, error) {
			ce, err := loss.NewCrossEntropy(loss.ForCrossEntropy(opts...)...)
			return countingLoss{ce}, err
		}})
	loss.Register(loss.Spec{Name: "lab-test-teacher", Summary: "test", Needs: loss.NeedsTeacher,
		New: func(map[string]float64, []loss.Option) (loss.Loss, error) { return teacherOnly{}, nil }})
	loss.Register(loss.Spec{Name: "lab-test-defaults", Summary: "test", Needs: loss.NeedsLabels,
		Params: []loss.Param{{Name: "a", Default: 1}, {Name: "b", Default: 2}},
		New: func(p map[string]float64, opts []loss.Option) (loss.Loss, error) {
			if p["a"] != 5 {
				return nil, fmt.Errorf("a = %v, want the lab default 5", p["a"])
			}
			return loss.NewCrossEntropy(loss.ForCrossEntropy(opts...)...)
		}})
	loss.Register(loss.Spec{Name: "lab-test-failing", Summary: "test", Needs: loss.NeedsLabels,
		New: func(_ map[string]float64, opts []loss.Option) (loss.Loss, error) {
			ce, err := loss.NewCrossEntropy(loss.ForCrossEntropy(opts...)...)
			return failingLoss{ce}, err
		}})
	LabelDefaults["lab-test-defaults"] = "a=5,zz=3"
}

func TestObjectiveOneHot(t *testing.T) {
	o, err := NewObjective("lab-test-onehot")
	if err != nil {
		t.Fatal(err)
	}
	logits := []float32{1, 2, 3, 0, 0, 0}
	g := make([]float32, 6)
	v, err := o.eval(logits, 3, []int32{2, 0}, []int{0, 1}, g)
	if err != nil {
		t.Fatal(err)
	}
	want := (math.Log(math.E+math.Exp(2)+math.Exp(3)) - 3 + math.Log(3)) / 2
	if !near(v, want, 1e-6) {
		t.Errorf("loss %v, want %v", v, want)
	}
	if _, err := o.eval(logits, 3, []int32{3, 0}, []int{0, 1}, g); err == nil {
		t.Error("label out of range: no error")
	}
}

func TestObjectiveRejects(t *testing.T) {
	if _, err := NewObjective("lab-test-teacher"); err == nil {
		t.Error("a teacher-only loss was accepted")
	}
	_, err := NewObjective("no-such-loss")
	if !errors.Is(err, ErrUnregistered) {
		t.Errorf("unknown loss: %v, want ErrUnregistered", err)
	}
	if _, err := NewObjective("cross-entropy:nope=1"); err == nil || errors.Is(err, ErrUnregistered) {
		t.Errorf("bad parameter: %v", err)
	}
	o, err := NewObjective("lab-test-defaults")
	if err != nil {
		t.Fatal(err)
	}
	if o.Effective != "lab-test-defaults:a=5" {
		t.Errorf("effective %q", o.Effective)
	}
	if _, err := NewObjective("lab-test-defaults:a=4"); err == nil {
		t.Error("a parameter given in the text did not override the lab default")
	}
}

func TestObjectiveState(t *testing.T) {
	set := syntheticSet(90, 4, 3, 1)
	o, err := NewObjective("lab-test-stateful")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Stateful() {
		t.Fatal("not stateful")
	}
	c := DefaultTrainConfig()
	c.Hidden, c.Batch, c.Epochs = 4, 16, 3
	m, _ := c.NewModel(4, 3)
	if _, err := Train(t.Context(), m, set, o, c, Hooks{}); err != nil {
		t.Fatal(err)
	}
	if len(o.state) != set.Rows {
		t.Fatalf("%d states for %d examples", len(o.state), set.Rows)
	}
	for i, s := range o.state {
		if s != 103 {
			t.Fatalf("example %d: state %v, want 100 + 3 visits", i, s)
		}
	}
}

func TestParseLosses(t *testing.T) {
	for in, want := range map[string][]string{
		"cross-entropy":                                  {"cross-entropy"},
		" gce:q=0.7 , cross-entropy,":                    {"gce:q=0.7", "cross-entropy"},
		"sce:alpha=0.1,logfloor=-4,focal":                {"sce:alpha=0.1,logfloor=-4", "focal"},
		"focal,poly1:epsilon=2,ldr-kl:lambda=1,margin=0": {"focal", "poly1:epsilon=2", "ldr-kl:lambda=1,margin=0"},
		"": nil,
	} {
		if got := ParseLosses(in); !slices.Equal(got, want) {
			t.Errorf("ParseLosses(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckLosses(t *testing.T) {
	ok, skipped, err := CheckLosses([]string{"cross-entropy", "not-yet-a-loss", "lab-test-onehot"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ok, []string{"cross-entropy", "lab-test-onehot"}) || len(skipped) != 1 || skipped[0].Loss != "not-yet-a-loss" {
		t.Errorf("ok %v, skipped %v", ok, skipped)
	}
	if _, _, err := CheckLosses([]string{"cross-entropy:bad=1"}); err == nil {
		t.Error("bad parameter: no error")
	}
	if _, _, err := CheckLosses([]string{"cross-entropy", "cross-entropy"}); err == nil {
		t.Error("duplicate: no error")
	}
}

// TestRegisteredLabelLosses checks the lab's wiring of the registered
// losses that need more than labels, when they are registered: aldr-kl
// must keep its per-example temperatures (a change of its API would
// otherwise make it run without state), and sce must train on one-hot
// targets with the lab's log floor.
func TestRegisteredLabelLosses(t *testing.T) {
	if _, ok := loss.Lookup("aldr-kl"); ok {
		o, err := NewObjective("aldr-kl")
		if err != nil {
			t.Fatal(err)
		}
		if !o.Stateful() {
			t.Fatal("aldr-kl is registered but has no InitialState/Step32: update the state wiring in objective.go")
		}
		set := syntheticSet(64, 5, 3, 4)
		c := DefaultTrainConfig()
		c.Hidden, c.Batch, c.Epochs = 8, 16, 1
		m, _ := c.NewModel(5, 3)
		if _, err := Train(t.Context(), m, set, o, c, Hooks{}); err != nil {
			t.Fatal(err)
		}
		init := o.step.InitialState(1)[0]
		moved := 0
		for _, s := range o.state {
			if s != init {
				moved++
			}
		}
		if moved == 0 {
			t.Error("aldr-kl: no example's state changed after an epoch")
		}
	}
	o, err := NewObjective("sce-labels")
	if err != nil {
		t.Fatal(err)
	}
	if o.Effective != "sce-labels:alpha=0.01,beta=1" {
		t.Errorf("sce-labels: effective %q", o.Effective)
	}
	g := make([]float32, 6)
	if _, err := o.eval([]float32{5, -5, 0, 0, 9, -9}, 3, []int32{2, 0}, []int{0, 1}, g); err != nil {
		t.Errorf("sce-labels: %v", err)
	}
	// The catalog's sce is the teacher variant: on one-hot labels its
	// reverse term is infinite without a log floor, so the lab refuses it
	// as xent eval refuses labels for it.
	if _, err := NewObjective("sce"); err == nil {
		t.Error("sce (the teacher variant) accepted as a label objective")
	}
}
