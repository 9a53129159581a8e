#!/usr/bin/env bash
# The attention targets: xent's fused attention against our GEMM's FLOP
# rate, against PyTorch's materialized attention (Debian's 1.13, at its
# best settings: preallocated buffers; and the plain autograd code), the
# decoding shape against a read of the K/V cache, and sigmoid against
# softmax attention. Each xent command times its anchor in the same
# process; PyTorch runs right after, with the same threads. Prints one
# JSON object per measurement.
#
# Usage: bench/attention.sh [THREADS...]   (default: 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)
go build -o /tmp/xent-bench ./cmd/xent
py=/usr/bin/python3
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
run() { # T command...
	local t=$1
	shift
	OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t ATEN_CPU_CAPABILITY=avx512 "$@"
}
for t in "${threads[@]}"; do
	for causal in "" "--causal"; do
		for bwd in "" "--backward"; do
			run "$t" /tmp/xent-bench bench attention --heads 8 --queries 2048 --dim 128 $causal $bwd --threads "$t" --reps 9 --baseline gemm --json
			run "$t" $py bench/pytorch/bench.py attention --heads 8 --queries 2048 --head-dim 128 $causal $bwd --threads "$t" --reps 9
			run "$t" $py bench/pytorch/bench.py attention --heads 8 --queries 2048 --head-dim 128 $causal $bwd --autograd --threads "$t" --reps 3
		done
	done
	run "$t" /tmp/xent-bench bench attention --heads 32 --kv-heads 8 --queries 1 --keys 32768 --dim 128 --threads "$t" --reps 31 --baseline stream --json
	for causal in "" "--causal"; do
		run "$t" /tmp/xent-bench bench attention --heads 8 --queries 2048 --dim 128 $causal --normalizer sigmoid --threads "$t" --reps 9 --baseline softmax --json
	done
done
