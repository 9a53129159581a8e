#!/usr/bin/env bash
# Side-by-side comparison of xent with PyTorch and oneDNN on the softmax
# family, cross-entropy and the fused head, at each baseline's best
# settings. Prints one JSON object per measurement.
#
# Needs Debian's python3-torch and libdnnl-dev (apt-get install -y
# python3-torch libdnnl-dev). Usage:
#   bench/compare.sh [softmax|ce|head|ctc|sample|all] [THREADS...]
# (sample runs on one thread: a decoding step's sampler.)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
shift || true
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)

go build -o /tmp/xent-bench ./cmd/xent
gcc -O2 -o /tmp/onednn-softmax bench/onednn/softmax.c -ldnnl
py=/usr/bin/python3
# PyTorch 1.13 runs its AVX2 kernels unless told otherwise.
if grep -qw avx512f /proc/cpuinfo; then export ATEN_CPU_CAPABILITY=avx512; fi
# OpenBLAS (used by PyTorch's GEMMs) at its best: let it pick its kernels.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

run_threads() { # T command...
	local t=$1
	shift
	OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t "$@"
}

if [ "$what" = softmax ] || [ "$what" = all ]; then
	for shape in "4096 32768" "32768 1024" "16 262144" "256 1024"; do
		set -- $shape
		for t in "${threads[@]}"; do
			for op in softmax logsoftmax lse; do
				run_threads "$t" /tmp/xent-bench bench "$op" --rows "$1" --cols "$2" --threads "$t" --reps 7 --baseline none --json
				run_threads "$t" $py bench/pytorch/bench.py "$op" --rows "$1" --cols "$2" --threads "$t" --reps 7
			done
			run_threads "$t" /tmp/onednn-softmax softmax "$1" "$2" 7
			run_threads "$t" /tmp/onednn-softmax logsoftmax "$1" "$2" 7
		done
	done
fi
if [ "$what" = ce ] || [ "$what" = all ]; then
	for t in "${threads[@]}"; do
		run_threads "$t" /tmp/xent-bench bench ce --rows 4096 --cols 32768 --threads "$t" --reps 5 --baseline none --json
		run_threads "$t" $py bench/pytorch/bench.py ce --rows 4096 --cols 32768 --threads "$t" --reps 5
	done
fi
if [ "$what" = ctc ] || [ "$what" = all ]; then
	for c in 5000 30; do
		for t in "${threads[@]}"; do
			run_threads "$t" /tmp/xent-bench bench ctc --frames 500 --batch 32 --classes "$c" --target 100 --threads "$t" --reps 5 --json
			run_threads "$t" $py bench/pytorch/bench.py ctc --frames 500 --batch 32 --classes "$c" --target 100 --threads "$t" --reps 5
		done
	done
fi
if [ "$what" = head ] || [ "$what" = all ]; then
	for t in "${threads[@]}"; do
		run_threads "$t" /tmp/xent-bench bench linear-ce --tokens 4096 --dim 1024 --vocab 32768 --threads "$t" --reps 2 --baseline none --json
		run_threads "$t" $py bench/pytorch/bench.py head --tokens 4096 --dim 1024 --vocab 32768 --threads "$t" --reps 2
	done
fi
if [ "$what" = sample ] || [ "$what" = all ]; then
	for v in 32000 128256 151936 262144; do
		for kind in peaked flat; do
			run_threads 1 /tmp/xent-bench bench sample --vocab "$v" --kind "$kind" --reps 7 --json
			ATEN_CPU_CAPABILITY=avx512 run_threads 1 $py bench/pytorch/bench.py topp --rows 1 --vocab "$v" --kind "$kind" --threads 1 --reps 7
			ATEN_CPU_CAPABILITY=avx512 run_threads 1 $py bench/pytorch/bench.py topp --rows 8 --vocab "$v" --kind "$kind" --threads 1 --reps 7
		done
	done
fi
