package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "evaluate a loss (and its gradient) on .npy logits and targets",
		run:     runEval,
	})
	register(&command{
		name:    "losses",
		summary: "list every registered loss with its parameters and catalog reference",
		run:     runLosses,
	})
}

const evalUsage = `--logits L.npy (--targets T.npy | --teacher T.npy) [--loss NAME[:key=value,...]]
   or: --loss ctc[:blank=B,zero_infinity=1] --logits L.npy ([T, N, C]) --targets Y.npy ([N, S] or [ΣS])
       [--input-lengths IL.npy] [--target-lengths TL.npy]
   or: --hidden H.npy --classifier W.npy [--bias B.npy] --targets T.npy [--shift S] [--filter-eps E]
       [--grad-hidden GH.npy] [--grad-classifier GW.npy] [--grad-bias GB.npy]
       [--ignore-index I] [--label-smoothing E] [--weights W.npy] [--pos-weight PW.npy]
       [--reduction mean|sum|none] [--z-loss S] [--softcap C] [--temperature T]
       [--grad G.npy] [--lse LSE.npy] [--threads N] [--json] [--groups G.npy] [--tasks T.npy]
   or: --embeddings E.npy [--positives P.npy] [--negatives N.npy] [--labels L.npy] --loss NAME[:key=value,...] [--grad G.npy]`

type evalFlags struct {
	logits, targets, teacher, lossName     string
	weights, posWeight, grad, lse          string
	embeddings, positives, labels          string
	negatives                              string
	inputLengths, targetLengths            string
	hidden, classifier, bias               string
	gradHidden, gradClassifier, gradBias   string
	shift                                  int
	filterEps                              float64
	ignore                                 int64
	smoothing, zloss, softcap, temperature float64
	reduction                              string
	threads                                int
	asJSON                                 bool
	gradDType                              string
	groups, tasks                          string
	stream                                 streamFlags
}

// files returns the input and the output files an eval command line
// names.
func (f evalFlags) files() (inputs, outputs []atomicfile.Named) {
	inputs, outputs = named("logits", f.logits, "targets", f.targets, "teacher", f.teacher, "weights", f.weights,
		"pos-weight", f.posWeight, "embeddings", f.embeddings, "positives", f.positives, "labels", f.labels,
		"negatives", f.negatives, "input-lengths", f.inputLengths, "target-lengths", f.targetLengths,
		"hidden", f.hidden, "classifier", f.classifier, "bias", f.bias, "groups", f.groups, "tasks", f.tasks),
		named("grad", f.grad, "lse", f.lse, "grad-hidden", f.gradHidden, "grad-classifier", f.gradClassifier,
			"grad-bias", f.gradBias, "partial", f.stream.partial)
	// Shard lists and patterns: every file they name is an input.
	for _, flag := range [][2]string{{"logits", f.logits}, {"targets", f.targets}, {"teacher", f.teacher}} {
		if !strings.ContainsAny(flag[1], ",*?[") {
			continue
		}
		if files, err := expandShards(flag[0], flag[1]); err == nil {
			for _, p := range files {
				inputs = append(inputs, atomicfile.Named{Flag: flag[0], Path: p})
			}
		}
	}
	return inputs, outputs
}

// evalEmbeddings evaluates an embedding loss (set by the file that
// implements that path); nil until then.
var evalEmbeddings func(f evalFlags, stdout io.Writer) error

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", evalUsage, stdout)
	var f evalFlags
	fs.StringVar(&f.logits, "logits", "", "logits .npy of shape [rows, cols] (float16, bfloat16 with --dtype bf16, float32 or float64; a comma list or glob of shards), or [C] for one example (its label [] or [1], soft target or teacher [C]) (required)")
	fs.StringVar(&f.targets, "targets", "", "integer labels [rows], or float targets [rows, cols] (soft targets; bce targets)")
	fs.StringVar(&f.teacher, "teacher", "", "teacher logits [rows, cols] for distillation losses")
	fs.StringVar(&f.lossName, "loss", "cross-entropy", "loss name with optional parameters, e.g. kd:temperature=4 (see xent losses)")
	fs.Int64Var(&f.ignore, "ignore-index", -100, "label whose rows are skipped")
	fs.Float64Var(&f.smoothing, "label-smoothing", 0, "label smoothing ε in [0, 1]")
	fs.StringVar(&f.weights, "weights", "", "class weights, .npy of shape [cols]")
	fs.StringVar(&f.posWeight, "pos-weight", "", "bce: positive-class weights, .npy of shape [cols]")
	fs.StringVar(&f.reduction, "reduction", "mean", "mean, sum or none")
	fs.Float64Var(&f.zloss, "z-loss", 0, "z-loss coefficient (adds S·lse² per row)")
	fs.Float64Var(&f.softcap, "softcap", 0, "soft-cap c: logits become c·tanh(z/c) (0: off)")
	fs.Float64Var(&f.temperature, "temperature", 0, "kd: softening temperature (same as --loss kd:temperature=T)")
	fs.StringVar(&f.grad, "grad", "", "write dLoss/dLogits here (.npy, the logits' shape and precision)")
	fs.StringVar(&f.lse, "lse", "", "write each row's log-sum-exp here (.npy [rows], the logits' precision)")
	fs.StringVar(&f.gradDType, "grad-dtype", "input", gradDTypeUsage)
	fs.StringVar(&f.embeddings, "embeddings", "", "embedding losses: embeddings [N, D] .npy")
	fs.StringVar(&f.positives, "positives", "", "embedding losses: positive embeddings [N, D] .npy")
	fs.StringVar(&f.labels, "labels", "", "embedding losses: integer labels [N] .npy")
	fs.StringVar(&f.negatives, "negatives", "", "embedding losses: negative embeddings [N, D] .npy (triplet-margin)")
	fs.StringVar(&f.inputLengths, "input-lengths", "", "ctc: frames of each sequence, integers [N] .npy (default: all)")
	fs.StringVar(&f.targetLengths, "target-lengths", "", "ctc: length of each target, integers [N] .npy")
	fs.StringVar(&f.hidden, "hidden", "", "fused head: hidden states [N, D] .npy (with --classifier; replaces --logits)")
	fs.StringVar(&f.classifier, "classifier", "", "fused head: classifier weights [V, D] .npy")
	fs.StringVar(&f.bias, "bias", "", "fused head: bias [V] .npy")
	fs.IntVar(&f.shift, "shift", 0, "fused head: score row t against target t+shift")
	fs.Float64Var(&f.filterEps, "filter-eps", 0, "fused head: gradient filtering threshold (0: exact)")
	fs.StringVar(&f.gradHidden, "grad-hidden", "", "fused head: write dLoss/dH here (.npy, the hidden states' precision)")
	fs.StringVar(&f.gradClassifier, "grad-classifier", "", "fused head: write dLoss/dW here (.npy, the classifier's precision)")
	fs.StringVar(&f.gradBias, "grad-bias", "", "fused head: write dLoss/db here (.npy, the bias's precision)")
	fs.IntVar(&f.threads, "threads", 0, "goroutines (0: all cores)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fs.StringVar(&f.groups, "groups", "", "bag, eisl, mft: integer ids [rows] .npy grouping the rows (bag ids; sequence ids; sample ids)")
	fs.StringVar(&f.tasks, "tasks", "", "mft: integer task ids ≥ 0 [rows] .npy")
	addStreamFlags(fs, &f.stream)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := outputWide(f.gradDType, false); err != nil {
		return err
	}
	if err := checkThreads(f.threads); err != nil {
		return err
	}
	if err := checkFiles(f.files()); err != nil {
		return err
	}
	if (f.inputLengths != "" || f.targetLengths != "") && (f.embeddings != "" || f.hidden != "" || f.classifier != "") {
		return usagef("--input-lengths and --target-lengths apply to sequence losses (ctc) only")
	}
	if (f.groups != "" || f.tasks != "") && (f.embeddings != "" || f.hidden != "" || f.classifier != "") {
		return usagef("--groups and --tasks apply to bag, eisl and mft only")
	}
	if f.negatives != "" && f.embeddings == "" {
		return usagef("--negatives applies to embedding losses (with --embeddings) only")
	}
	if f.embeddings != "" {
		if evalEmbeddings == nil {
			return usagef("--embeddings: no embedding losses are built in")
		}
		return evalEmbeddings(f, stdout)
	}
	if f.hidden != "" || f.classifier != "" {
		if f.logits != "" {
			return usagef("give either --logits or --hidden with --classifier, not both")
		}
		return evalHead(f, stdout)
	}
	if f.logits == "" {
		return usagef("--logits (or --hidden with --classifier) is required")
	}
	name, _, _ := strings.Cut(f.lossName, ":")
	if s, ok := loss.Lookup(strings.TrimSpace(name)); ok && s.Needs&loss.NeedsSequences != 0 {
		red, err := loss.ParseReduction(f.reduction)
		if err != nil {
			return usageError{err.Error()}
		}
		l, s, err := loss.Parse(f.lossName, loss.WithReduction(red), loss.WithThreads(f.threads))
		if err != nil {
			return usageError{err.Error()}
		}
		if f.groups != "" || f.tasks != "" {
			return usagef("--groups and --tasks apply to bag, eisl and mft only")
		}
		return evalSequences(f, stdout, l, s, red)
	}
	if f.inputLengths != "" || f.targetLengths != "" {
		return usagef("--input-lengths and --target-lengths apply to sequence losses (ctc) only")
	}
	spec := f.lossName
	if f.temperature != 0 && !strings.Contains(spec, ":") {
		spec += fmt.Sprintf(":temperature=%g", f.temperature)
	}
	if err := checkLossSpec(f, spec); err != nil {
		return err
	}
	if f.groups == "" && f.tasks == "" { // grouped losses are evaluated in memory
		if handled, err := evalStreaming(f, stdout, stderr); handled {
			return err
		}
	}
	return evalLogits(f, stdout)
}

// wantMatrix is a header check: a 2-D float array.
func wantMatrix(what, path string) func(npy.Header) error {
	return func(h npy.Header) error {
		if len(h.Shape) != 2 {
			return fmt.Errorf("%s %s: shape %v, want 2-D [rows, cols]", what, path, h.Shape)
		}
		return wantFloat(what, path)(h)
	}
}

// readMatrix reads a 2-D float .npy and says whether it is stored in
// float64.
func readMatrix(path, what string) ([]float64, int, int, bool, error) {
	a, err := loadArray(path, what, wantMatrix(what, path))
	if err != nil {
		return nil, 0, 0, false, err
	}
	return a.f, a.h.Shape[0], a.h.Shape[1], a.wide(), nil
}

// readLogits reads the logits: a matrix [rows, cols], or, when vector is
// set (the elementwise losses, whose targets have the logits' shape), a
// vector [N] of one logit per example, read as [N, 1], or, when unbatched
// is set (the class losses), a vector [C] of one example's logits, read as
// [1, C] as PyTorch does.
func readLogits(path string, vector, unbatched bool) (x []float64, rows, cols int, wide, oneD bool, err error) {
	a, err := loadArray(path, "logits", func(h npy.Header) error {
		if (vector || unbatched) && len(h.Shape) == 1 {
			return wantFloat("logits", path)(h)
		}
		return wantMatrix("logits", path)(h)
	})
	if err != nil {
		return nil, 0, 0, false, false, err
	}
	if len(a.h.Shape) == 1 {
		if len(a.f) == 0 {
			return nil, 0, 0, false, false, fmt.Errorf("logits %s: an empty vector", path)
		}
		if unbatched {
			return a.f, 1, len(a.f), a.wide(), true, nil
		}
		return a.f, len(a.f), 1, a.wide(), true, nil
	}
	return a.f, a.h.Shape[0], a.h.Shape[1], a.wide(), false, nil
}

// wantVector is a header check: a 1-D array of n elements.
func wantVector(what, path string, n int) func(npy.Header) error {
	return func(h npy.Header) error {
		if len(h.Shape) != 1 || h.Shape[0] != n {
			return fmt.Errorf("%s %s: shape %v, want [%d]", what, path, h.Shape, n)
		}
		return nil
	}
}

// readVector reads a 1-D .npy of n numbers (integers converted).
func readVector(path, what string, n int) ([]float64, error) {
	a, err := loadArray(path, what, wantVector(what, path, n))
	if err != nil {
		return nil, err
	}
	return a.floats(), nil
}

func evalLogits(f evalFlags, stdout io.Writer) error {
	spec := f.lossName
	if f.temperature != 0 {
		if strings.Contains(spec, ":") {
			return usagef("give the temperature either in --loss or with --temperature, not both")
		}
		spec += fmt.Sprintf(":temperature=%g", f.temperature)
	}
	if err := checkLossSpec(f, spec); err != nil {
		return err
	}
	lname, _, _ := strings.Cut(f.lossName, ":")
	ls, known := loss.Lookup(strings.TrimSpace(lname))
	vector := known && ls.Needs&loss.NeedsTargets != 0
	classes := known && ls.Needs&(loss.NeedsLabels|loss.AcceptsSoftTargets|loss.NeedsTeacher) != 0 && ls.Needs&loss.NeedsScalarTargets == 0
	x, rows, cols, wide, oneD, err := readLogits(f.logits, vector, !vector && classes)
	unbatched := oneD && !vector // one example's logits [C]
	if err != nil {
		return err
	}
	if rows == 0 {
		return noRows("logits", f.logits)
	}
	red, opts, ceOpts, err := lossOptions(f, cols)
	if err != nil {
		return err
	}
	// checkLossSpec has refused the option flags a loss does not take.
	var posWeight []float64
	if f.posWeight != "" {
		if posWeight, err = readVector(f.posWeight, "pos-weight", cols); err != nil {
			return err
		}
	}
	l, s, err := loss.ParseWith(spec, opts, ceOpts, posWeight)
	if err != nil {
		return err
	}
	if l, err = withGroups(l, f, rows); err != nil {
		return err
	}

	in := loss.Input[float64]{Logits: x, Cols: cols}
	var labels []int64
	takesTeacher := s.Needs&loss.NeedsTeacher != 0
	takesTargets := s.Needs&(loss.NeedsLabels|loss.AcceptsSoftTargets|loss.NeedsTargets|loss.NeedsScalarTargets) != 0
	needsTargets := s.Needs&(loss.NeedsLabels|loss.NeedsTargets|loss.NeedsScalarTargets) != 0
	if takesTeacher && f.teacher != "" {
		t, tr, tc, _, err := readTeacher(f.teacher, unbatched)
		if err != nil {
			return err
		}
		if tr != rows || tc != cols {
			return fmt.Errorf("teacher shape [%d, %d] differs from the logits' [%d, %d]", tr, tc, rows, cols)
		}
		in.Teacher = t
	}
	switch {
	case takesTeacher && in.Teacher == nil && !(s.Needs&loss.AcceptsSoftTargets != 0 && f.targets != ""):
		if s.Name == "sce" {
			return usagef("loss sce (the teacher variant, catalog A27) needs --teacher or soft --targets; sce-labels is the symmetric cross-entropy on labels")
		}
		return usagef("loss %s needs --teacher", s.Name)
	case needsTargets && f.targets == "" || !takesTeacher && f.targets == "":
		return usagef("loss %s needs --targets", s.Name)
	case f.targets != "" && !takesTargets:
		return usagef("loss %s does not take --targets", s.Name)
	}
	if f.targets != "" {
		// One open: the dtype decides between labels and float targets.
		a, err := loadArray(f.targets, "targets", func(h npy.Header) error {
			switch {
			case h.DType.Kind != npy.Float:
				if s.Needs&loss.NeedsLabels == 0 {
					return fmt.Errorf("targets %s: integer labels, but loss %s needs float targets", f.targets, s.Name)
				}
				if unbatched && (len(h.Shape) == 0 || len(h.Shape) == 1 && h.Shape[0] == 1) {
					return nil // one label, shape [] or [1]
				}
				if unbatched {
					return fmt.Errorf("targets %s: labels of shape %v, want [] or [1] for logits of shape [%d]", f.targets, h.Shape, cols)
				}
				if len(h.Shape) != 1 || h.Shape[0] != rows {
					return fmt.Errorf("targets %s: labels of shape %v, want [%d]", f.targets, h.Shape, rows)
				}
			case s.Needs&loss.NeedsScalarTargets != 0:
				return wantVector("targets", f.targets, rows)(h)
			case s.Needs&loss.NeedsLabels != 0 && floatLabels(h, rows, cols, oneD, unbatched):
				return fmt.Errorf("targets %s: dtype %s, want integers (labels; soft targets have the logits' shape)", f.targets, h.DType)
			case s.Needs&(loss.AcceptsSoftTargets|loss.NeedsTargets) == 0:
				return fmt.Errorf("targets %s: float targets, but loss %s needs integer labels", f.targets, s.Name)
			case unbatched && len(h.Shape) == 1:
				// One example's soft target [C].
				return wantVector("targets", f.targets, cols)(h)
			case oneD && len(h.Shape) == 1:
				// A logit vector [N] takes a target vector [N].
				return wantVector("targets", f.targets, rows)(h)
			case len(h.Shape) != 2:
				return fmt.Errorf("targets %s: shape %v, want 2-D [rows, cols]", f.targets, h.Shape)
			case h.Shape[0] != rows || h.Shape[1] != cols:
				return fmt.Errorf("targets shape [%d, %d] differs from the logits' [%d, %d]", h.Shape[0], h.Shape[1], rows, cols)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if a.isFloat() {
			in.Targets = a.f
		} else {
			labels = a.i
			in.Labels64 = labels
		}
	}
	if f.teacher != "" && in.Teacher == nil {
		return usagef("loss %s does not take --teacher", s.Name)
	}
	if labels != nil && !slices.ContainsFunc(labels, func(y int64) bool { return y != f.ignore }) {
		return allIgnored(f.targets, f.ignore)
	}

	out := loss.Output[float64]{Rows: make([]float64, rows)}
	if f.grad != "" {
		out.Grad = make([]float64, len(x))
	}
	if f.lse != "" {
		if s.Name != "cross-entropy" {
			return usagef("--lse is available for cross-entropy only")
		}
		out.LSE = make([]float64, rows)
	}
	var value float64
	if wide {
		value, err = l.Eval64(in, out)
	} else {
		// float32 logits: evaluate in float32, as a float32 program would.
		value, err = evalAs32(l, in, out)
	}
	if err != nil {
		return err
	}
	outWide, err := outputWide(f.gradDType, wide)
	if err != nil {
		return err
	}
	// Each file is replaced atomically, the pair is not: a run killed
	// between the two writes leaves a new --lse beside an old --grad.
	if f.lse != "" {
		if err := writeFloats(f.lse, out.LSE, outWide, rows); err != nil {
			return err
		}
	}
	if f.grad != "" {
		shape := []int{rows, cols}
		if oneD {
			shape = []int{len(x)} // the logits' own shape, [N] or [C]
		}
		if err := writeFloats(f.grad, out.Grad, outWide, shape...); err != nil {
			return err
		}
	}

	res := map[string]any{"loss": value, "rows": rows, "cols": cols}
	if red == loss.None {
		res["loss"] = out.Rows
	}
	if labels != nil && !s.NotClassScores {
		acc, top5, err := accuracies(x, cols, labels, f.ignore)
		if err != nil {
			return err
		}
		res["accuracy"], res["top5"] = acc, top5
		if err := addCalibrationKeys(res, x, cols, labels, f.ignore); err != nil {
			return err
		}
	}
	if f.asJSON {
		return writeJSON(stdout, res)
	}
	if red == loss.None {
		fmt.Fprintf(stdout, "loss (%s, per row):\n", s.Name)
		for i, v := range out.Rows {
			fmt.Fprintf(stdout, "  %d\t%.9g\n", i, v)
		}
	} else {
		fmt.Fprintf(stdout, "loss %.9g (%s, %s over %d rows × %d columns)\n", value, s.Name, red, rows, cols)
	}
	if labels != nil && !s.NotClassScores {
		fmt.Fprintf(stdout, "accuracy %.6f  top-5 %.6f\n", res["accuracy"], res["top5"])
		printCalibrationKeys(stdout, res)
	}
	return nil
}

// lossOptions turns the loss flags into the shared loss options and
// cross-entropy's own (label smoothing, z-loss, soft-capping).
func lossOptions(f evalFlags, cols int) (loss.Reduction, []loss.Option, []loss.CrossEntropyOption, error) {
	red, err := loss.ParseReduction(f.reduction)
	if err != nil {
		return 0, nil, nil, usageError{err.Error()}
	}
	opts := []loss.Option{loss.WithReduction(red), loss.WithThreads(f.threads)}
	if f.ignore != -100 {
		opts = append(opts, loss.WithIgnoreIndex(f.ignore))
	}
	ce := loss.CrossEntropySettings(f.smoothing, f.zloss, f.softcap)
	if f.weights != "" {
		w, err := readVector(f.weights, "weights", cols)
		if err != nil {
			return 0, nil, nil, err
		}
		opts = append(opts, loss.WithClassWeights(w))
	}
	return red, opts, ce, nil
}

// evalAs32 rounds the inputs to float32, evaluates in float32 and widens
// the outputs back.
func evalAs32(l loss.Loss, in loss.Input[float64], out loss.Output[float64]) (float64, error) {
	in32 := loss.Input[float32]{Logits: toF32(in.Logits), Cols: in.Cols, Labels64: in.Labels64,
		Targets: toF32(in.Targets), Teacher: toF32(in.Teacher), RowWeights: toF32(in.RowWeights)}
	out32 := loss.Output[float32]{Grad: toF32(out.Grad), Rows: toF32(out.Rows), LSE: toF32(out.LSE)}
	v, err := l.Eval32(in32, out32)
	copyF64(out.Grad, out32.Grad)
	copyF64(out.Rows, out32.Rows)
	copyF64(out.LSE, out32.LSE)
	return v, err
}

func toF32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func copyF64(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// accuracies returns top-1 and top-5 accuracy over the rows whose label
// is not the ignore index.
func accuracies(x []float64, cols int, labels []int64, ignore int64) (float64, float64, error) {
	var keptX []float64
	var keptY []int32
	for i, y := range labels {
		if y == ignore {
			continue
		}
		if y < 0 || y >= int64(cols) || y > math.MaxInt32 {
			return 0, 0, fmt.Errorf("label %d at row %d outside [0, %d)", y, i, cols)
		}
		keptX = append(keptX, x[i*cols:(i+1)*cols]...)
		keptY = append(keptY, int32(y))
	}
	if len(keptY) == 0 {
		return 0, 0, nil
	}
	a1, err := metrics.Accuracy(keptX, cols, keptY, 1)
	if err != nil {
		return 0, 0, err
	}
	a5, err := metrics.Accuracy(keptX, cols, keptY, min(5, cols))
	return a1, a5, err
}

func runLosses(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("losses", "[--json]", stdout)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *asJSON {
		return writeLossesJSON(stdout)
	}
	for _, s := range loss.Specs() {
		cat := s.Catalog
		if cat == "" {
			cat = "-"
		}
		fmt.Fprintf(stdout, "%-17s %-5s %s\n", s.Name, cat, s.Summary)
		fmt.Fprintf(stdout, "%-17s       parameters: %s; input: %s\n", "", s.ParamList(), s.InputText())
	}
	writeEmbeddingLosses(stdout)
	return nil
}
