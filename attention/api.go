package attention

import (
	"unsafe"

	"github.com/xentlab/xent/internal/rowstat"
)

// Forward computes attention: for every batch element b, query head h and
// query i, with g = h/(H/KVHeads) its key/value head,
//
//	s_ij = Scale·q_i·k_j, capped to Softcap·tanh(s_ij/Softcap) if Softcap > 0, plus Bias_ij
//	out_i = Σ_j A_ij·v_j
//
// over the keys j that the masks (Causal, Window, KeyPadding, −Inf bias)
// leave visible, A_ij given by the Normalizer (see Config). out.LSE, when
// not nil, receives each row's log-normaliser. A row that sees no key gets
// output 0 and log-normaliser −Inf (PyTorch gives NaN there).
//
// float32 runs the fused path: scores are computed tile by tile with the
// packed GEMM and reduced online, so that besides its inputs and outputs
// it uses O(tile) memory per thread, never O(S·T); see the package
// documentation for the accuracy. float64 runs the reference path, one
// query row at a time in float64 (O(T) memory per thread).
//
// Non-finite values in Q, K or V, and scores that overflow, are errors
// (ErrValue), as are NaN and +Inf in Bias; on error the contents of out
// are unspecified. Results are bit-identical for any Threads and TileRows.
func Forward[F Float](c Config, in Input[F], out Output[F]) error {
	p, err := newPlan(c, in, len(out.Out), len(out.LSE), false)
	if err != nil {
		return err
	}
	if len(out.LSE) == 0 {
		out.LSE = nil // no rows, or not wanted
	}
	if isF32[F]() {
		return forward32(p, as32(in), Output[float32]{Out: rowstat.AsExact[F, float32](out.Out), LSE: rowstat.AsExact[F, float32](out.LSE)})
	}
	return forward64(p, as64(in), Output[float64]{Out: rowstat.AsExact[F, float64](out.Out), LSE: rowstat.AsExact[F, float64](out.LSE)})
}

// Backward computes the gradients of a loss L with respect to Q, K and V
// given dOut = ∂L/∂out, the inputs and the outputs of Forward (out.Out and
// out.LSE, both required) with the same Config:
//
//	dA_ij = dOut_i·v_j,  dv_j = Σ_i A_ij·dOut_i
//	softmax:  ∂L/∂z_ij = A_ij·(dA_ij − Σ_l A_il·dA_il),  z = τ_i·s (τ_i = 1 unless Selective)
//	sigmoid:  ∂L/∂s_ij = dA_ij·A_ij·(1 − A_ij)
//	softplus: ∂L/∂s_ij = A_ij·(dA_ij − Σ_l A_il·dA_il)·κ_i·σ(κ_i s_ij)/softplus(κ_i s_ij)
//
// then through the soft-cap (a factor 1 − tanh²) and the scale to dq_i and
// dk_j; dK and dV are summed over the query heads sharing a key/value
// head. Σ_l A_il·dA_il is computed as dOut_i·out_i (as FlashAttention-2
// does), and the weights are recomputed from the scores and LSE, never
// stored. With Selective, g.DBeta receives ∂L/∂β.
//
// float32 runs the fused path (FlashAttention-2's loop, with the packed
// GEMM); float64 the reference path. Results are bit-identical for any
// Threads. The bias receives no gradient.
func Backward[F Float](c Config, in Input[F], out Output[F], dOut []F, g *Grad[F]) error {
	p, err := newPlan(c, in, len(out.Out), len(out.LSE), true)
	if err != nil {
		return err
	}
	if err := p.checkGrad(len(dOut), len(g.DQ), len(g.DK), len(g.DV)); err != nil {
		return err
	}
	if isF32[F]() {
		gg := Grad[float32]{DQ: rowstat.AsExact[F, float32](g.DQ), DK: rowstat.AsExact[F, float32](g.DK), DV: rowstat.AsExact[F, float32](g.DV)}
		err = backward32(p, as32(in), Output[float32]{Out: rowstat.AsExact[F, float32](out.Out), LSE: rowstat.AsExact[F, float32](out.LSE)}, rowstat.AsExact[F, float32](dOut), &gg)
		g.DBeta = gg.DBeta
		return err
	}
	gg := Grad[float64]{DQ: rowstat.AsExact[F, float64](g.DQ), DK: rowstat.AsExact[F, float64](g.DK), DV: rowstat.AsExact[F, float64](g.DV)}
	err = backward64(p, as64(in), Output[float64]{Out: rowstat.AsExact[F, float64](out.Out), LSE: rowstat.AsExact[F, float64](out.LSE)}, rowstat.AsExact[F, float64](dOut), &gg)
	g.DBeta = gg.DBeta
	return err
}

func isF32[F Float]() bool {
	var x F
	return unsafe.Sizeof(x) == 4
}

func as32[F Float](in Input[F]) Input[float32] {
	return Input[float32]{Q: rowstat.AsExact[F, float32](in.Q), K: rowstat.AsExact[F, float32](in.K), V: rowstat.AsExact[F, float32](in.V),
		Shape: in.Shape, Bias: rowstat.AsExact[F, float32](in.Bias), KeyPadding: in.KeyPadding}
}

func as64[F Float](in Input[F]) Input[float64] {
	return Input[float64]{Q: rowstat.AsExact[F, float64](in.Q), K: rowstat.AsExact[F, float64](in.K), V: rowstat.AsExact[F, float64](in.V),
		Shape: in.Shape, Bias: rowstat.AsExact[F, float64](in.Bias), KeyPadding: in.KeyPadding}
}
