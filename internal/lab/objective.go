package lab

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xentlab/xent/loss"
)

// Objective is a registered loss used as a training objective on class
// labels. It is built by name through the loss registry, so every loss
// that can train on labels works the moment it is registered.
//
// How the labels reach the loss depends on what it reads: losses that
// take labels (loss.NeedsLabels) get them as they are; losses that read
// target distributions instead (soft targets or, like kd, a teacher or
// targets) get the one-hot distributions of the labels in Input.Targets,
// provided a trial evaluation on a tiny batch accepts them.
//
// A loss may keep state per training example across epochs (ALDR-KL's
// adaptive temperature λᵢ, updated at every visit of example i). Such a
// loss has the methods
//
//	InitialState(n int) []float64
//	Step32(in loss.Input[float32], out loss.Output[float32], state []float64) (float64, error)
//
// The trainer keeps the state of every training example in one array
// from InitialState, gathers the batch's values before each step, lets
// Step32 update them, and scatters them back.
type Objective struct {
	// Text is the name as given, with its parameters ("gce:q=0.7"), and
	// Effective the text the loss was built from (with the lab's label
	// defaults, see LabelDefaults).
	Text, Effective string
	// Loss is the built loss and Spec its registry entry.
	Loss loss.Loss
	Spec loss.Spec

	oneHot  bool      // pass labels as one-hot Targets
	targets []float32 // the batch's one-hot targets

	step   stepper
	state  []float64 // one value per training example
	bstate []float64 // the batch's values
}

// stepper is a loss with per-example state.
type stepper interface {
	InitialState(n int) []float64
	Step32(in loss.Input[float32], out loss.Output[float32], state []float64) (float64, error)
}

// LabelDefaults holds parameters the lab sets for losses whose registry
// defaults do not suit its data, used unless the loss's text sets them:
// sce-labels (Wang et al.'s symmetric cross-entropy on labels) takes
// their MNIST setting α = 0.01, β = 1 (the registry's defaults, α = 0.1,
// are their CIFAR-10 setting). The registry's sce is the teacher variant
// (catalog A27), the same loss in the lab as in xent eval.
var LabelDefaults = map[string]string{
	"sce-labels": "alpha=0.01,beta=1",
}

// ErrUnregistered is wrapped by NewObjective's error for a name that
// the loss registry does not know (a loss that has not landed yet).
var ErrUnregistered = errors.New("loss not registered")

// NewObjective builds the named loss ("NAME" or "NAME:key=value,...")
// from the registry, with mean reduction. It fails for unknown names
// (wrapping ErrUnregistered), bad parameters, and losses that cannot
// train on class labels.
func NewObjective(text string) (*Objective, error) {
	name, params := splitLossName(text)
	spec, ok := loss.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnregistered, name)
	}
	eff := withDefaults(name, params, LabelDefaults[name], spec)
	// One goroutine: a batch is a few hundred rows.
	l, spec, err := loss.Parse(eff, loss.WithThreads(1))
	if err != nil {
		return nil, err
	}
	o := &Objective{Text: text, Effective: eff, Loss: l, Spec: spec}
	if s, ok := l.(stepper); ok {
		o.step = s
	}
	if spec.Needs&loss.NeedsLabels == 0 {
		o.oneHot = true
	}
	if err := o.probe(); err != nil {
		if o.oneHot {
			return nil, fmt.Errorf("loss %s does not train on class labels (it reads neither labels nor one-hot targets: %v)", name, err)
		}
		return nil, fmt.Errorf("loss %s: %v", name, err)
	}
	return o, nil
}

// probe evaluates the loss on a tiny batch, to find a loss that rejects
// the inputs the lab would give it before a run starts.
func (o *Objective) probe() error {
	logits := []float32{0.5, -1, 2, 1, 0, -0.5}
	grad := make([]float32, len(logits))
	if o.step != nil {
		o.state = o.step.InitialState(2)
	}
	_, err := o.eval(logits, 3, []int32{2, 0}, []int{0, 1}, grad)
	o.state = nil
	return err
}

// Stateful reports whether the loss keeps per-example state.
func (o *Objective) Stateful() bool { return o.step != nil }

// reset starts the per-example state of a training set of n examples.
func (o *Objective) reset(n int) {
	if o.step != nil {
		o.state = o.step.InitialState(n)
	}
}

// eval evaluates the loss on one batch: logits [len(labels)×cols], labels,
// the training-set index of every row (for per-example state), and the
// gradient of the mean loss written to grad.
func (o *Objective) eval(logits []float32, cols int, labels []int32, idx []int, grad []float32) (float64, error) {
	in := loss.Input[float32]{Logits: logits, Cols: cols, Labels: labels}
	out := loss.Output[float32]{Grad: grad}
	if o.oneHot {
		o.targets = grow(o.targets, len(labels)*cols)
		clear(o.targets)
		for r, y := range labels {
			if y < 0 || int(y) >= cols {
				return 0, fmt.Errorf("label %d of row %d outside [0, %d)", y, r, cols)
			}
			o.targets[r*cols+int(y)] = 1
		}
		in.Labels, in.Targets = nil, o.targets
	}
	if o.step == nil {
		return o.Loss.Eval32(in, out)
	}
	if len(o.state) == 0 {
		return 0, errors.New("lab: per-example state not initialised")
	}
	if cap(o.bstate) < len(idx) {
		o.bstate = make([]float64, len(idx))
	}
	b := o.bstate[:len(idx)]
	for r, i := range idx {
		b[r] = o.state[i]
	}
	v, err := o.step.Step32(in, out, b)
	if err != nil {
		return v, err
	}
	for r, i := range idx {
		o.state[i] = b[r]
	}
	return v, nil
}

// splitLossName cuts "NAME:key=value,..." into the name and its
// parameters as text (loss.Parse checks them).
func splitLossName(text string) (string, [][2]string) {
	name, rest, _ := strings.Cut(text, ":")
	var p [][2]string
	for _, kv := range strings.Split(rest, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		p = append(p, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return strings.TrimSpace(name), p
}

// withDefaults rebuilds "NAME:params" adding the parameters of defaults
// ("k=v,...") that params does not set and the loss has.
func withDefaults(name string, params [][2]string, defaults string, spec loss.Spec) string {
	known := map[string]bool{}
	for _, p := range spec.Params {
		known[p.Name] = true
	}
	set := map[string]bool{}
	var parts []string
	for _, p := range params {
		set[p[0]] = true
		parts = append(parts, p[0]+"="+p[1])
	}
	if defaults != "" {
		for _, kv := range strings.Split(defaults, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if !set[k] && known[k] {
				if _, err := strconv.ParseFloat(v, 64); err == nil {
					parts = append(parts, k+"="+v)
				}
			}
		}
	}
	if len(parts) == 0 {
		return name
	}
	return name + ":" + strings.Join(parts, ",")
}
