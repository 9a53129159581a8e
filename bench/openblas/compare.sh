#!/bin/sh
# compare.sh times xent's Gemm against OpenBLAS's cblas_sgemm on a set of
# shapes, for each thread count, with "xent bench gemm --baseline
# openblas": every round times both sides one after the other (5 calls
# each, the median call), and the report gives the median over the rounds
# of each side, their ratio and xent's range over the rounds.
#
#   sh bench/openblas/compare.sh [rounds] [threads...]
#
# SHAPES="m n k [transa|transb];..." chooses the shapes; the presets are
#   block (the default): 2048³ and the three products of the fused
#     classifier head on a 256-row token block (N = 256, D = 1024, V = 4096:
#     H·Wᵀ, G·W, Gᵀ·H);
#   head: the same products over the whole batch of the head's benchmark
#     (N = 4096, D = 1024, V = 32768);
#   all: both.
# REPS sets the calls per round and side (default 5).
# OpenBLAS runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so that
# it picks its own kernel for the CPU, and OPENBLAS_NUM_THREADS set to the
# thread count.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
bench_setup "$here/../.." 5 "$@"
block="2048 2048 2048;256 4096 1024 transb;256 1024 4096;4096 1024 256 transa"
head="4096 32768 1024 transb;4096 1024 32768;32768 1024 4096 transa"
case "${SHAPES:-block}" in
block) shapes=$block ;;
head) shapes=$head ;;
all) shapes="$block;$head" ;;
*) shapes=$SHAPES ;;
esac
(cd "$here" && go build -o "$tmp/xent-openblas" .)
export XENT_OPENBLAS="$tmp/xent-openblas"

range() { sed -n "s/.*\"$1\":\[\([0-9.e+-]*\),\([0-9.e+-]*\)\].*/\2 \1/p" | awk '{printf "%.1f–%.1f", $1, $2}'; }

printf '%-28s %7s %9s %9s %7s   %s\n' shape threads xent openblas ratio "xent rounds"
echo "$shapes" | tr ';' '\n' | while read -r m n k flag; do
	[ -z "$m" ] && continue
	f=""
	case "$flag" in
	transa) f="--transa" ;;
	transb) f="--transb" ;;
	esac
	for t in $threads; do
		out=$("$tmp/xent" bench gemm --m "$m" --n "$n" --k "$k" $f --threads "$t" --reps "${REPS:-5}" --rounds "$rounds" --baseline openblas --json)
		printf '%-28s %7d %9.1f %9.1f %7.3f   %s\n' "${m}x${n}x${k} $flag" "$t" \
			"$(echo "$out" | field gflops)" "$(echo "$out" | field baseline_gflops)" \
			"$(echo "$out" | field speedup)" "$(echo "$out" | range gflops_range)"
	done
done
