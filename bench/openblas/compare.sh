#!/bin/sh
# compare.sh runs xent's Gemm ("xent bench gemm") and OpenBLAS's
# cblas_sgemm (this module) on the same shapes, alternating the two
# processes for several rounds so that both see the same machine, and
# prints the median GFLOP/s of each side over the rounds (each round
# itself the median of 5 calls), their ratio, and the best round of each
# (a guide on a machine shared with other work).
#
#   sh bench/openblas/compare.sh [rounds] [threads...]
#
# The shapes are those of xent's benchmarks: 2048³ and the three products
# of the fused classifier head on a 256-row block (H·Wᵀ, G·W, Gᵀ·H).
# Override them with SHAPES="m n k flags;...". OpenBLAS runs with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so that it picks its own
# kernel for the CPU, and OPENBLAS_NUM_THREADS set to the thread count.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-5}
[ $# -gt 0 ] && shift
threads=${*:-1 2}
shapes=${SHAPES:-"2048 2048 2048;256 4096 1024 transb;256 1024 4096;4096 1024 256 transa"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${XENT:-}" ]; then
	cp "$XENT" "$tmp/xent"
else
	(cd "$root" && go build -o "$tmp/xent" ./cmd/xent)
fi
(cd "$here" && go build -o "$tmp/openblas" .)

gflops() { sed -n 's/.*"gflops":\([0-9.e+-]*\).*/\1/p'; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

printf '%-26s %7s %9s %9s %7s   %9s %9s %7s\n' shape threads xent openblas ratio best-xent best-oblas ratio
echo "$shapes" | tr ';' '\n' | while read -r m n k flag; do
	[ -z "$m" ] && continue
	fx="" fo=""
	case "$flag" in
	transa) fx="--transa" fo="-transa" ;;
	transb) fx="--transb" fo="-transb" ;;
	esac
	for t in $threads; do
		: >"$tmp/x" && : >"$tmp/o"
		r=0
		while [ "$r" -lt "$rounds" ]; do
			"$tmp/xent" bench gemm --m "$m" --n "$n" --k "$k" $fx --threads "$t" --reps 5 --baseline none --json | gflops >>"$tmp/x"
			env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$t" \
				"$tmp/openblas" -m "$m" -n "$n" -k "$k" $fo -threads "$t" -reps 5 2>/dev/null | gflops >>"$tmp/o"
			r=$((r + 1))
		done
		x=$(median <"$tmp/x")
		o=$(median <"$tmp/o")
		bx=$(sort -g "$tmp/x" | tail -1)
		bo=$(sort -g "$tmp/o" | tail -1)
		printf '%-26s %7d %9.1f %9.1f %7.3f   %9.1f %9.1f %7.3f\n' "${m}x${n}x${k} $flag" "$t" "$x" "$o" \
			"$(echo "$x $o" | awk '{print $1/$2}')" "$bx" "$bo" "$(echo "$bx $bo" | awk '{print $1/$2}')"
	done
done
