// Command xent-beam evaluates a loss and the classification metrics of
// xent over shards of .npy logits and targets on Apache Beam, and writes
// the report that xent eval prints for the same files (bit-identical).
//
//	xent-beam --logits 'gs://b/run/logits-*.npy' --targets 'gs://b/run/labels-*.npy' \
//	    --output gs://b/run/report.json --json [--loss cross-entropy] [--runner dataflow ...]
//
// The shards are the files matching --logits and --targets, each list
// sorted and paired in that order. Each shard is evaluated on a worker,
// a block of rows at a time; the partial evaluations are combined exactly
// and the report written to --output (and the merged partial to
// --partial, for xent merge). Runner flags are Beam's: --runner (prism,
// the default, runs in this process; flink, spark, dataflow, universal),
// --endpoint for a job server, and the runner's own (--project, --region,
// --staging_location ... for Dataflow). See the README of this module.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/xentlab/xent/beam/xentbeam"
)

var (
	logits    = flag.String("logits", "", "pattern of the logits shards, .npy [rows, cols] float16/bfloat16/float32/float64 (required)")
	targets   = flag.String("targets", "", "pattern of the targets shards (labels or float targets), one per logits shard")
	output    = flag.String("output", "", "file of the report (required)")
	asJSON    = flag.Bool("json", false, "write the report as the JSON object xent eval --json prints")
	partial   = flag.String("partial", "", "also write the merged partial evaluation here (.xacc), for xent merge")
	lossSpec  = flag.String("loss", "cross-entropy", "loss spec, as xent eval --loss")
	reduction = flag.String("reduction", "mean", "mean or sum")
	ignore    = flag.Int64("ignore-index", -100, "label whose rows are not counted")
	smoothing = flag.Float64("label-smoothing", 0, "label smoothing ε")
	zloss     = flag.Float64("z-loss", 0, "z-loss coefficient")
	softcap   = flag.Float64("softcap", 0, "logit soft-capping c (0: none)")
	dtype     = flag.String("dtype", "", "bf16: read 2-byte logits as bfloat16")
	window    = flag.Int("window", 0, "bytes of logits a worker evaluates at a time (0: the default)")
)

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "xent-beam:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	switch {
	case *logits == "":
		return fmt.Errorf("--logits is required")
	case *output == "":
		return fmt.Errorf("--output is required")
	case *dtype != "" && *dtype != "bf16":
		return fmt.Errorf("--dtype %q: want bf16 (other dtypes are read from the files)", *dtype)
	}
	o := xentbeam.Options{Loss: *lossSpec, Reduction: *reduction, IgnoreIndex: *ignore,
		LabelSmoothing: *smoothing, ZLoss: *zloss, SoftCap: *softcap, BFloat16: *dtype == "bf16"}
	p, err := xentbeam.Pipeline(ctx, *logits, *targets, o, xentbeam.Output{Report: *output, JSON: *asJSON, Partial: *partial, Window: *window})
	if err != nil {
		return err
	}
	return beamx.Run(ctx, p)
}
