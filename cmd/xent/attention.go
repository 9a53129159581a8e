package main

import (
	"fmt"
	"io"
	"math"

	"github.com/xentlab/xent/attention"
	"github.com/xentlab/xent/npy"
)

func init() {
	register(&command{
		name:    "attention",
		summary: "fused attention (and its gradients) on .npy tensors in PyTorch's [B, H, S, d] layout",
		run:     runAttention,
	})
}

const attentionUsage = `--q Q.npy --k K.npy --v V.npy --out O.npy [--lse L.npy]
       [--causal] [--scale S] [--softcap C] [--window W] [--bias BIAS.npy] [--key-padding P.npy]
       [--normalizer softmax|sigmoid|softplus] [--sigmoid-bias B] [--selective --beta B] [--length-base N]
       [--dout dO.npy --dq dQ.npy --dk dK.npy --dv dV.npy] [--float64] [--threads N] [--json]`

func runAttention(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("attention", attentionUsage, stdout)
	qPath := fs.String("q", "", "queries, [B, H, S, d] (.npy, float32 or float64)")
	kPath := fs.String("k", "", "keys, [B, Hkv, T, d]; Hkv divides H")
	vPath := fs.String("v", "", "values, [B, Hkv, T, dv]")
	outPath := fs.String("out", "", "output file for the attention output, [B, H, S, dv]")
	lsePath := fs.String("lse", "", "output file for each row's log-normaliser, [B, H, S]")
	causal := fs.Bool("causal", false, "causal mask, aligned to the end of the keys (key j visible to query i when j ≤ i + T − S)")
	scale := fs.Float64("scale", 0, "score scale (0: 1/√d)")
	softcap := fs.Float64("softcap", 0, "logit soft-capping C·tanh(s/C) (0: off)")
	window := fs.Int("window", 0, "sliding window: keys within W positions of the query (0: none)")
	biasPath := fs.String("bias", "", "additive score bias, [S, T], [H, S, T] or [B, H, S, T] (−Inf masks)")
	padPath := fs.String("key-padding", "", "key padding mask, [B, T], bool or integer (nonzero: ignore the key)")
	normName := fs.String("normalizer", "softmax", "softmax, sigmoid or softplus")
	sigBias := fs.Float64("sigmoid-bias", math.NaN(), "sigmoid normalizer bias b (default −ln T)")
	selective := fs.Bool("selective", false, "selective attention's position temperature τ = 1 + exp(−exp β)·ln n (softmax)")
	beta := fs.Float64("beta", 1.5, "β of --selective")
	lengthBase := fs.Float64("length-base", 0, "softplus length scale κ = ln n / ln BASE (0: κ = 1)")
	doutPath := fs.String("dout", "", "upstream gradient ∂L/∂out, [B, H, S, dv]: computes the backward pass")
	dqPath := fs.String("dq", "", "output file for ∂L/∂Q")
	dkPath := fs.String("dk", "", "output file for ∂L/∂K")
	dvPath := fs.String("dv", "", "output file for ∂L/∂V")
	f64 := fs.Bool("float64", false, "compute in float64 (the reference path) and write float64 files")
	threads := fs.Int("threads", 0, "goroutines (0: all cores)")
	asJSON := fs.Bool("json", false, "print a JSON summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *qPath == "" || *kPath == "" || *vPath == "" || *outPath == "" {
		return usagef("--q, --k, --v and --out are required")
	}
	backward := *doutPath != "" || *dqPath != "" || *dkPath != "" || *dvPath != ""
	if backward && (*doutPath == "" || *dqPath == "" || *dkPath == "" || *dvPath == "") {
		return usagef("the backward pass needs all of --dout, --dq, --dk and --dv")
	}
	norm, err := attention.ParseNormalizer(*normName)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := attention.Config{Scale: *scale, Causal: *causal, Window: *window, Softcap: *softcap, Normalizer: norm,
		Selective: *selective, LengthBase: *lengthBase, Threads: *threads}
	if *selective {
		cfg.Beta = *beta
	}
	if !math.IsNaN(*sigBias) {
		cfg.SigmoidBias = sigBias
	}
	q, qs, err := readTensor(*qPath, "q", 4)
	if err != nil {
		return err
	}
	k, ks, err := readTensor(*kPath, "k", 4)
	if err != nil {
		return err
	}
	v, vs, err := readTensor(*vPath, "v", 4)
	if err != nil {
		return err
	}
	if ks[0] != qs[0] || vs[0] != qs[0] || vs[1] != ks[1] || vs[2] != ks[2] || ks[3] != qs[3] {
		return fmt.Errorf("shapes q %v, k %v, v %v: want q [B, H, S, d], k [B, Hkv, T, d], v [B, Hkv, T, dv]", qs, ks, vs)
	}
	sh := attention.Shape{Batch: qs[0], Heads: qs[1], KVHeads: ks[1], Queries: qs[2], Keys: ks[2], Dim: qs[3], ValueDim: vs[3]}
	in := attention.Input[float64]{Q: q, K: k, V: v, Shape: sh}
	if *biasPath != "" {
		b, bs, err := readTensor(*biasPath, "bias", 0)
		if err != nil {
			return err
		}
		lead := [][]int{nil, {sh.Heads}, {sh.Batch, sh.Heads}}
		if len(bs) < 2 || len(bs) > 4 || bs[len(bs)-2] != sh.Queries || bs[len(bs)-1] != sh.Keys || !equalInts(bs[:len(bs)-2], lead[len(bs)-2]) {
			return fmt.Errorf("bias %s: shape %v, want [S, T], [H, S, T] or [B, H, S, T] with S = %d, T = %d", *biasPath, bs, sh.Queries, sh.Keys)
		}
		in.Bias = b
	}
	if *padPath != "" {
		h, err := npy.ReadFileHeader(*padPath)
		if err != nil {
			return fmt.Errorf("key-padding: %w", err)
		}
		if h.DType.Kind == npy.Float || len(h.Shape) != 2 || h.Shape[0] != sh.Batch || h.Shape[1] != sh.Keys {
			return fmt.Errorf("key-padding %s: %s %v, want bool or integer [%d, %d]", *padPath, h.DType, h.Shape, sh.Batch, sh.Keys)
		}
		p, _, err := npy.ReadFile[int64](*padPath)
		if err != nil {
			return fmt.Errorf("key-padding: %w", err)
		}
		in.KeyPadding = make([]bool, len(p))
		for i, x := range p {
			in.KeyPadding[i] = x != 0
		}
	}
	var dOut []float64
	if backward {
		d, ds, err := readTensor(*doutPath, "dout", 4)
		if err != nil {
			return err
		}
		if ds[0] != sh.Batch || ds[1] != sh.Heads || ds[2] != sh.Queries || ds[3] != vs[3] {
			return fmt.Errorf("dout %s: shape %v, want the output's [%d, %d, %d, %d]", *doutPath, ds, sh.Batch, sh.Heads, sh.Queries, vs[3])
		}
		dOut = d
	}
	outShape := []int{sh.Batch, sh.Heads, sh.Queries, vs[3]}
	lseShape := outShape[:3]
	files := []struct {
		path  string
		shape []int
	}{{*outPath, outShape}, {*lsePath, lseShape}, {*dqPath, qs}, {*dkPath, ks}, {*dvPath, vs}}
	var res [5][]float64 // out, lse, dq, dk, dv
	var dbeta float64
	if *f64 {
		res, dbeta, err = attentionRun(cfg, in, dOut, backward)
	} else {
		res, dbeta, err = attentionRun32(cfg, in, dOut, backward)
	}
	if err != nil {
		return err
	}
	for x, f := range files {
		if f.path == "" {
			continue
		}
		if *f64 {
			err = npy.WriteFile(f.path, res[x], f.shape...)
		} else {
			err = npy.WriteFile(f.path, toF32(res[x]), f.shape...)
		}
		if err != nil {
			return err
		}
	}
	summary := map[string]any{"batch": sh.Batch, "heads": sh.Heads, "kv_heads": sh.KVHeads, "queries": sh.Queries,
		"keys": sh.Keys, "dim": sh.Dim, "value_dim": vs[3], "normalizer": norm.String(), "backward": backward, "float64": *f64}
	if *selective && backward {
		summary["dbeta"] = dbeta
	}
	if *asJSON {
		return writeJSON(stdout, summary)
	}
	fmt.Fprintf(stdout, "attention %s, B=%d H=%d Hkv=%d S=%d T=%d d=%d dv=%d: wrote %s", norm, sh.Batch, sh.Heads, sh.KVHeads, sh.Queries, sh.Keys, sh.Dim, vs[3], *outPath)
	for _, f := range files[1:] {
		if f.path != "" {
			fmt.Fprintf(stdout, ", %s", f.path)
		}
	}
	fmt.Fprintln(stdout)
	if *selective && backward {
		fmt.Fprintf(stdout, "dL/dbeta %.9g\n", dbeta)
	}
	return nil
}

// readTensor reads a float .npy file of rank dims (0: any rank) as
// float64 with its shape.
func readTensor(path, what string, dims int) ([]float64, []int, error) {
	h, err := npy.ReadFileHeader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if h.DType.Kind != npy.Float {
		return nil, nil, fmt.Errorf("%s %s: dtype %s, want float32 or float64", what, path, h.DType)
	}
	if dims > 0 && len(h.Shape) != dims {
		return nil, nil, fmt.Errorf("%s %s: shape %v, want %d dimensions", what, path, h.Shape, dims)
	}
	x, _, err := npy.ReadFile[float64](path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return x, h.Shape, nil
}

// attentionRun runs the float64 path.
func attentionRun(cfg attention.Config, in attention.Input[float64], dOut []float64, backward bool) ([5][]float64, float64, error) {
	var res [5][]float64
	sh := in.Shape
	dv := valueDim(sh)
	out := attention.Output[float64]{Out: make([]float64, sh.Batch*sh.Heads*sh.Queries*dv), LSE: make([]float64, sh.Batch*sh.Heads*sh.Queries)}
	if err := attention.Forward(cfg, in, out); err != nil {
		return res, 0, err
	}
	res[0], res[1] = out.Out, out.LSE
	if !backward {
		return res, 0, nil
	}
	g := attention.Grad[float64]{DQ: make([]float64, len(in.Q)), DK: make([]float64, len(in.K)), DV: make([]float64, len(in.V))}
	if err := attention.Backward(cfg, in, out, dOut, &g); err != nil {
		return res, 0, err
	}
	res[2], res[3], res[4] = g.DQ, g.DK, g.DV
	return res, g.DBeta, nil
}

// attentionRun32 runs the float32 path on the inputs rounded to float32.
func attentionRun32(cfg attention.Config, in64 attention.Input[float64], dOut []float64, backward bool) ([5][]float64, float64, error) {
	var res [5][]float64
	in := attention.Input[float32]{Q: toF32(in64.Q), K: toF32(in64.K), V: toF32(in64.V), Shape: in64.Shape, Bias: toF32(in64.Bias), KeyPadding: in64.KeyPadding}
	sh := in.Shape
	dv := valueDim(sh)
	out := attention.Output[float32]{Out: make([]float32, sh.Batch*sh.Heads*sh.Queries*dv), LSE: make([]float32, sh.Batch*sh.Heads*sh.Queries)}
	if err := attention.Forward(cfg, in, out); err != nil {
		return res, 0, err
	}
	res[0], res[1] = to64s(out.Out), to64s(out.LSE)
	if !backward {
		return res, 0, nil
	}
	g := attention.Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
	if err := attention.Backward(cfg, in, out, toF32(dOut), &g); err != nil {
		return res, 0, err
	}
	res[2], res[3], res[4] = to64s(g.DQ), to64s(g.DK), to64s(g.DV)
	return res, g.DBeta, nil
}

func to64s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func valueDim(sh attention.Shape) int {
	if sh.ValueDim != 0 {
		return sh.ValueDim
	}
	return sh.Dim
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
