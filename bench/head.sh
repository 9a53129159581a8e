#!/bin/sh
# head.sh times the fused classifier head (forward + backward, "xent
# bench linear-ce") against PyTorch's F.cross_entropy(h @ w.T, y).backward()
# (bench/pytorch/bench.py head) on N = 4096 tokens, D = 1024, V = 32768,
# and the gradient-filtered head against the exact one on the peaked
# benchmark (--peaked, FilterEps = 2⁻¹²). The sides run one after the
# other, rounds times per thread count; the report gives each side's
# median over the rounds and the ratios.
#
#   sh bench/head.sh [rounds] [threads...]
#
# SHAPE="--tokens N --dim D --vocab V" chooses another shape.
#
# Needs Debian's python3-torch. PyTorch runs at its best settings:
# ATEN_CPU_CAPABILITY=avx512 where the CPU has AVX-512, OpenBLAS free to
# pick its kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), and
# OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = the thread count.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_setup "$here/.." 3 "$@"
if grep -qw avx512f /proc/cpuinfo; then export ATEN_CPU_CAPABILITY=avx512; fi
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
shape=${SHAPE:-"--tokens 4096 --dim 1024 --vocab 32768"}

printf '%7s %10s %10s %7s   %10s %10s %7s\n' threads xent pytorch ratio "peaked" filtered ratio
for t in $threads; do
	: >"$tmp/x" && : >"$tmp/p" && : >"$tmp/e" && : >"$tmp/f"
	r=0
	while [ "$r" -lt "$rounds" ]; do
		"$tmp/xent" bench linear-ce $shape --threads "$t" --reps 1 --baseline none --json | field ours_s >>"$tmp/x"
		OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/pytorch/bench.py" head $shape --threads "$t" --reps 1 | field seconds >>"$tmp/p"
		"$tmp/xent" bench linear-ce $shape --peaked --threads "$t" --reps 1 --baseline none --json | field ours_s >>"$tmp/e"
		"$tmp/xent" bench linear-ce $shape --peaked --filter-eps 0.000244140625 --threads "$t" --reps 1 --baseline none --json | field ours_s >>"$tmp/f"
		r=$((r + 1))
	done
	x=$(median <"$tmp/x") p=$(median <"$tmp/p") e=$(median <"$tmp/e") f=$(median <"$tmp/f")
	printf '%7d %9.3fs %9.3fs %7.2f   %9.3fs %9.3fs %7.2f\n' "$t" "$x" "$p" "$(echo "$p $x" | awk '{print $1/$2}')" \
		"$e" "$f" "$(echo "$e $f" | awk '{print $1/$2}')"
done
