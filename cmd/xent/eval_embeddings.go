package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/xentlab/xent/embedding"
	"github.com/xentlab/xent/npy"
)

// The embedding path of "xent eval": --embeddings E.npy [--positives
// P.npy] [--negatives N.npy] [--labels L.npy] --loss NAME[:key=value,...]
// evaluates one of the losses of package embedding (see "xent losses").
// --negatives holds the paired negatives [N, D] of the triplet losses.
//
// --positives holds the paired positives [N, D] for the losses that read
// them; for the losses over class vectors (norm-softmax, cosface, arcface,
// madacos, ebv) it holds the class vectors [C, D] instead, and when it is
// absent those are imprinted from the embeddings and labels (the
// normalised mean of each class's normalised embeddings; ebv generates
// its basis). --grad writes ∂loss/∂embeddings (float32 .npy, [N, D]).
func init() {
	evalEmbeddings = runEvalEmbeddings
}

func runEvalEmbeddings(f evalFlags, stdout io.Writer) error {
	for _, unused := range []struct {
		set  bool
		flag string
	}{
		{f.logits != "", "--logits"}, {f.targets != "", "--targets"}, {f.teacher != "", "--teacher"},
		{f.weights != "", "--weights"}, {f.posWeight != "", "--pos-weight"}, {f.lse != "", "--lse"},
		{f.smoothing != 0, "--label-smoothing"}, {f.zloss != 0, "--z-loss"}, {f.softcap != 0, "--softcap"},
		{f.temperature != 0, "--temperature"}, {f.ignore != -100, "--ignore-index"},
		{f.reduction != "mean", "--reduction"}, {f.inputLengths != "", "--input-lengths"},
		{f.targetLengths != "", "--target-lengths"},
	} {
		if unused.set {
			return usagef("%s does not apply to embedding losses (give parameters in --loss NAME:key=value)", unused.flag)
		}
	}
	name, _, _ := strings.Cut(f.lossName, ":")
	if _, ok := embedding.Lookup(strings.TrimSpace(name)); !ok {
		var names []string
		for _, s := range embedding.Specs() {
			names = append(names, s.Name)
		}
		return usagef("--embeddings needs an embedding loss: --loss NAME (one of: %s), not %q", strings.Join(names, ", "), f.lossName)
	}
	l, spec, err := embedding.Parse(f.lossName)
	if err != nil {
		return usageError{err.Error()}
	}
	z, rows, dim, wide, err := readMatrix(f.embeddings, "embeddings")
	if err != nil {
		return err
	}
	in := embedding.Input[float64]{Embeddings: z, Dim: dim}

	if f.labels != "" {
		if spec.Needs&(embedding.NeedsLabels|embedding.AcceptsLabels) == 0 {
			return usagef("loss %s does not take --labels", spec.Name)
		}
		a, err := loadArray(f.labels, "labels", both(wantInts("labels", f.labels), func(h npy.Header) error {
			if len(h.Shape) != 1 || h.Shape[0] != rows {
				return fmt.Errorf("labels %s: shape %v, want [%d] (one per embedding)", f.labels, h.Shape, rows)
			}
			return nil
		}))
		if err != nil {
			return err
		}
		in.Labels = a.i
	} else if spec.Needs&embedding.NeedsLabels != 0 {
		return usagef("loss %s needs --labels", spec.Name)
	}

	classVectors := spec.Needs&(embedding.NeedsClasses|embedding.AcceptsClasses) != 0 &&
		spec.Needs&(embedding.NeedsPositives|embedding.AcceptsPositives) == 0
	if f.positives != "" {
		p, pr, pd, _, err := readMatrix(f.positives, "positives")
		if err != nil {
			return err
		}
		if pd != dim {
			return fmt.Errorf("positives %s: dimension %d differs from the embeddings' %d", f.positives, pd, dim)
		}
		switch {
		case classVectors:
			in.Classes = p
		case spec.Needs&(embedding.NeedsPositives|embedding.AcceptsPositives) != 0:
			if pr != rows {
				return fmt.Errorf("positives %s: %d rows, want %d (one per embedding)", f.positives, pr, rows)
			}
			in.Positives = p
		default:
			return usagef("loss %s does not take --positives", spec.Name)
		}
	} else if spec.Needs&embedding.NeedsPositives != 0 {
		return usagef("loss %s needs --positives (paired positives [N, D])", spec.Name)
	}
	if f.negatives != "" {
		if spec.Needs&embedding.NeedsNegatives == 0 {
			return usagef("loss %s does not take --negatives", spec.Name)
		}
		ng, nr, nd, _, err := readMatrix(f.negatives, "negatives")
		if err != nil {
			return err
		}
		if nr != rows || nd != dim {
			return fmt.Errorf("negatives %s: shape [%d, %d], want [%d, %d] (one per embedding)", f.negatives, nr, nd, rows, dim)
		}
		in.Negatives = ng
	} else if spec.Needs&embedding.NeedsNegatives != 0 {
		return usagef("loss %s needs --negatives (paired negatives [N, D])", spec.Name)
	}
	if in.Classes == nil && spec.Needs&embedding.NeedsClasses != 0 {
		// No class vectors given: imprint them from the labelled embeddings.
		var c int64
		for i, y := range in.Labels {
			if y < 0 {
				return fmt.Errorf("label %d at row %d is negative", y, i)
			}
			c = max(c, y+1)
		}
		if in.Classes, err = embedding.Imprint(z, dim, in.Labels, int(c)); err != nil {
			return fmt.Errorf("imprinting class vectors (no --positives given): %w", err)
		}
	}

	out := embedding.Output[float64]{}
	if f.grad != "" {
		out.Grad = make([]float64, len(z))
	}
	var value float64
	if wide {
		value, err = l.Eval64(in, out)
	} else {
		// float32 embeddings: evaluate in float32, as a float32 program would.
		in32 := embedding.Input[float32]{Embeddings: toF32(in.Embeddings), Dim: dim, Positives: toF32(in.Positives),
			Negatives: toF32(in.Negatives), Labels: in.Labels, Classes: toF32(in.Classes)}
		out32 := embedding.Output[float32]{Grad: toF32(out.Grad)}
		value, err = l.Eval32(in32, out32)
		copyF64(out.Grad, out32.Grad)
	}
	if err != nil {
		return err
	}
	if f.grad != "" {
		outWide, err := outputWide(f.gradDType, wide)
		if err != nil {
			return err
		}
		if err := writeFloats(f.grad, out.Grad, outWide, rows, dim); err != nil {
			return err
		}
	}
	if f.asJSON {
		return writeJSON(stdout, map[string]any{"loss": value, "rows": rows, "dim": dim})
	}
	_, err = fmt.Fprintf(stdout, "loss %.9g (%s, mean over %d embeddings of dimension %d)\n", value, spec.Name, rows, dim)
	return err
}

// writeEmbeddingLosses lists the embedding losses in the format of "xent
// losses" (name, catalog section, summary; then parameters and inputs),
// for that command to print after the logit losses.
func writeEmbeddingLosses(w io.Writer) {
	for _, s := range embedding.Specs() {
		cat := s.Catalog
		if cat == "" {
			cat = "-"
		}
		fmt.Fprintf(w, "%-17s %-5s %s\n", s.Name, cat, s.Summary)
		fmt.Fprintf(w, "%-17s       parameters: %s; input: %s\n", "", s.ParamList(), s.InputText())
	}
}
