package xentbeam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/npy"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
	register.DoFn2x2[context.Context, Shard, []byte, error](&evalFn{})
	register.DoFn2x1[context.Context, []byte, error](&reportFn{})
}

// Shard names the files of one shard: its logits and, when the
// evaluation has them, its targets (one row per row of logits).
type Shard struct {
	Logits, Targets string
}

// MatchShards lists the files matching the logits and the targets
// patterns (globs of a Beam file system: /data/logits-*.npy,
// gs://bucket/run/logits-*.npy, ...), each sorted, and pairs them in that
// order. targets may be empty (losses without targets). The counts must
// be equal.
func MatchShards(ctx context.Context, logits, targets string) ([]Shard, error) {
	ls, err := match(ctx, logits)
	if err != nil {
		return nil, err
	}
	var ts []string
	if targets != "" {
		if ts, err = match(ctx, targets); err != nil {
			return nil, err
		}
		if len(ts) != len(ls) {
			return nil, fmt.Errorf("xentbeam: %d logits files match %s but %d targets files match %s; give one per shard", len(ls), logits, len(ts), targets)
		}
	}
	out := make([]Shard, len(ls))
	for i := range ls {
		out[i].Logits = ls[i]
		if ts != nil {
			out[i].Targets = ts[i]
		}
	}
	return out, nil
}

func match(ctx context.Context, pattern string) ([]string, error) {
	fs, err := filesystem.New(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("xentbeam: %s: %w", pattern, err)
	}
	defer fs.Close()
	files, err := fs.List(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("xentbeam: %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("xentbeam: no file matches %s", pattern)
	}
	slices.Sort(files)
	return files, nil
}

// Options are the settings of an evaluation besides its files, as the
// flags of xent eval name them.
type Options struct {
	Loss                           string // loss spec, e.g. "cross-entropy" or "focal:gamma=2"
	Reduction                      string // "mean" (default) or "sum"
	IgnoreIndex                    int64
	LabelSmoothing, ZLoss, SoftCap float64
	BFloat16                       bool // 2-byte logits are bfloat16 (|V2, <u2, <i2)
}

// DefaultOptions returns the defaults of xent eval: cross-entropy, mean,
// ignore index −100.
func DefaultOptions() Options {
	return Options{Loss: "cross-entropy", Reduction: "mean", IgnoreIndex: -100}
}

// NewConfig returns the configuration xent eval uses for these files:
// the headers of the first shard give the columns, the precision and the
// kind of targets; metrics are added for integer labels of class scores.
func NewConfig(ctx context.Context, first Shard, o Options) (evalacc.Config, error) {
	var cfg evalacc.Config
	red, err := loss.ParseReduction(o.Reduction)
	if err != nil {
		return cfg, err
	}
	if red == loss.None {
		return cfg, fmt.Errorf("xentbeam: reduction none is not a reduced evaluation")
	}
	canon, ls, err := evalacc.Canonical(o.Loss)
	if err != nil {
		return cfg, err
	}
	lh, err := readHeader(ctx, first.Logits, o.BFloat16)
	if err != nil {
		return cfg, err
	}
	if len(lh.h.Shape) != 2 || !lh.isFloat {
		return cfg, fmt.Errorf("xentbeam: logits %s: shape %v, dtype %s; want float [rows, cols]", first.Logits, lh.h.Shape, lh.h.DType)
	}
	cfg = evalacc.DefaultConfig(canon)
	cfg.Reduction = red
	cfg.Cols, cfg.Wide = lh.h.Shape[1], lh.h.DType.Size == 8
	cfg.IgnoreIndex, cfg.LabelSmoothing, cfg.ZLoss, cfg.SoftCap = o.IgnoreIndex, o.LabelSmoothing, o.ZLoss, o.SoftCap
	if first.Targets != "" {
		th, err := readHeader(ctx, first.Targets, false)
		if err != nil {
			return cfg, err
		}
		switch {
		case th.h.DType.Kind != npy.Float:
			cfg.Targets = evalacc.Labels
		case ls.Needs&loss.NeedsScalarTargets != 0:
			cfg.Targets = evalacc.ScalarTargets
		default:
			cfg.Targets = evalacc.SoftTargets
		}
	}
	if cfg.Targets == evalacc.Labels && !ls.NotClassScores {
		cfg.Metrics = evalacc.EvalMetrics(cfg.Cols)
	}
	// Checked here, on the launcher, rather than on every worker.
	if _, err := evalacc.NewEvaluator(cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

type header struct {
	h       npy.Header
	isFloat bool
}

func readHeader(ctx context.Context, path string, bf16 bool) (header, error) {
	r, c, err := openRows(ctx, path, bf16)
	if err != nil {
		return header{}, err
	}
	defer c.Close()
	return header{r.Header(), r.IsFloat()}, nil
}

// openRows opens an .npy file of any Beam file system for reading rows.
func openRows(ctx context.Context, path string, bf16 bool) (*npy.RowReader, io.Closer, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := fs.OpenRead(ctx, path)
	if err != nil {
		fs.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var opts []npy.RowOption
	if bf16 {
		opts = append(opts, npy.BFloat16())
	}
	r, err := npy.NewRowReader(f, opts...)
	if err != nil {
		f.Close()
		fs.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, closers{f, fs}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// evalFn evaluates one shard into the binary form of its partial.
type evalFn struct {
	Cfg      evalacc.Config
	BFloat16 bool
	// Window is the bytes of logits evaluated at a time (0: the default).
	Window int
}

func (f *evalFn) ProcessElement(ctx context.Context, s Shard) ([]byte, error) {
	var opts []evalacc.Option
	if f.Window > 0 {
		opts = append(opts, evalacc.Window(f.Window))
	}
	ev, err := evalacc.NewEvaluator(f.Cfg, opts...)
	if err != nil {
		return nil, err
	}
	sh := evalacc.Shard{LogitsName: s.Logits, TargetsName: s.Targets}
	lr, lc, err := openRows(ctx, s.Logits, f.BFloat16)
	if err != nil {
		return nil, fmt.Errorf("logits: %w", err)
	}
	defer lc.Close()
	sh.Logits = lr
	if s.Targets != "" {
		tr, tc, err := openRows(ctx, s.Targets, false)
		if err != nil {
			return nil, fmt.Errorf("targets: %w", err)
		}
		defer tc.Close()
		sh.Targets = tr
	}
	if err := ev.Add(sh); err != nil {
		return nil, err
	}
	return ev.Partial().MarshalBinary()
}

// Evaluate evaluates every shard of shards (a PCollection of Shard) on the
// workers and returns a PCollection of one element: the binary form of
// the merged partial (empty when shards is empty). window is the bytes of
// logits a worker evaluates at a time (0: evalacc's default).
func Evaluate(s beam.Scope, cfg evalacc.Config, bf16 bool, window int, shards beam.PCollection) beam.PCollection {
	s = s.Scope("xent.Evaluate")
	parts := beam.ParDo(s, &evalFn{Cfg: cfg, BFloat16: bf16, Window: window}, beam.Reshuffle(s, shards))
	return beam.Combine(s, &PartialFn{}, parts)
}

// reportFn writes the report of a merged partial to a file of a Beam file
// system, as JSON (the object xent eval --json prints) or as text.
type reportFn struct {
	Cfg     evalacc.Config
	Output  string
	JSON    bool
	Partial string // where to write the merged partial too (optional)
}

func (f *reportFn) ProcessElement(ctx context.Context, b []byte) error {
	p, err := PartialOf(f.Cfg, b)
	if err != nil {
		return err
	}
	if f.Partial != "" {
		pb, err := p.MarshalBinary()
		if err != nil {
			return err
		}
		if err := writeFile(ctx, f.Partial, pb); err != nil {
			return err
		}
	}
	out, err := FormatReport(p, f.JSON)
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Output, out)
}

// PartialOf decodes the binary form of a partial of the evaluation cfg;
// an empty form is the empty partial of cfg.
func PartialOf(cfg evalacc.Config, b []byte) (*evalacc.Partial, error) {
	if len(b) == 0 {
		ev, err := evalacc.NewEvaluator(cfg)
		if err != nil {
			return nil, err
		}
		return ev.Partial(), nil
	}
	p := new(evalacc.Partial)
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return p, nil
}

// FormatReport returns the report of p as xent eval and xent merge print
// it: one JSON object and a newline, or the text report.
func FormatReport(p *evalacc.Partial, asJSON bool) ([]byte, error) {
	r, err := p.Report()
	if err != nil {
		return nil, err
	}
	if asJSON {
		b, err := json.Marshal(r.JSON())
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

func writeFile(ctx context.Context, path string, b []byte) error {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// WriteReport writes the report of merged (the output of Evaluate) to
// output, as JSON or text, and the merged partial's binary form to
// partial when it is not empty.
func WriteReport(s beam.Scope, cfg evalacc.Config, output string, asJSON bool, partial string, merged beam.PCollection) {
	s = s.Scope("xent.WriteReport")
	beam.ParDo0(s, &reportFn{Cfg: cfg, Output: output, JSON: asJSON, Partial: partial}, merged)
}

// Output says where a pipeline writes its results.
type Output struct {
	Report  string // the report (required)
	JSON    bool   // the report as JSON rather than text
	Partial string // the merged partial's binary form (optional)
	Window  int    // bytes of logits a worker evaluates at a time (0: the default)
}

// Pipeline matches the shards (see MatchShards), settles the
// configuration from the first (see NewConfig) and returns the pipeline
// that evaluates them and writes the results.
func Pipeline(ctx context.Context, logits, targets string, o Options, out Output) (*beam.Pipeline, error) {
	if out.Report == "" {
		return nil, fmt.Errorf("xentbeam: no report file")
	}
	shards, err := MatchShards(ctx, logits, targets)
	if err != nil {
		return nil, err
	}
	cfg, err := NewConfig(ctx, shards[0], o)
	if err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	merged := Evaluate(s, cfg, o.BFloat16, out.Window, beam.CreateList(s, shards))
	WriteReport(s, cfg, out.Report, out.JSON, out.Partial, merged)
	return p, nil
}
