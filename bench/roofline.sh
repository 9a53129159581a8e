#!/bin/sh
# roofline.sh measures xent's memory-bound operations against their roofs,
# round after round, and prints each round's fraction and the median:
#
#   softmax, log-softmax, cross-entropy forward+backward and log-sum-exp
#     on [4096, 32768] float32 (xent bench OP --rows 4096 --cols 32768
#     --reps 5 --baseline none), against Go's copy of the same bytes (a
#     read for log-sum-exp) timed in the same process, call by call;
#   attention decoding, 32 query heads on 8 KV heads, d = 128, T = 32768
#     (xent bench attention ... --reps 31 --baseline stream), the fastest
#     call against the fastest read of the same K and V.
#
#   sh bench/roofline.sh [rounds] [threads...]     (default: 5 rounds, 1 2)
#
# The operations alternate inside each round, so that a change in the
# machine's bandwidth (other tenants, say) reaches all of them; compare
# fractions, not milliseconds, between runs. XENT=path uses that binary
# instead of building one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_setup "$here/.." 5 "$@"

ops="softmax logsoftmax ce lse decode"
for t in $threads; do
	r=1
	while [ "$r" -le "$rounds" ]; do
		for op in $ops; do
			if [ "$op" = decode ]; then
				out=$("$tmp/xent" bench attention --heads 32 --kv-heads 8 --queries 1 --keys 32768 --dim 128 --threads "$t" --reps 31 --baseline stream --json)
				f=$(echo "$out" | field fraction_of_stream)
			else
				out=$("$tmp/xent" bench "$op" --rows 4096 --cols 32768 --threads "$t" --reps 5 --baseline none --json)
				f=$(echo "$out" | field roof_fraction)
			fi
			echo "$t $op $r $f" >>"$tmp/fractions"
		done
		r=$((r + 1))
	done
done

printf '%-11s %7s %7s   %s\n' op threads median "each round (sorted), fraction of the roof"
for t in $threads; do
	for op in $ops; do
		awk -v t="$t" -v op="$op" '$1 == t && $2 == op { print $4 }' "$tmp/fractions" >"$tmp/one"
		printf '%-11s %7d %7.3f  ' "$op" "$t" "$(median <"$tmp/one")"
		sort -g "$tmp/one" | awk '{ printf " %.3f", $1 } END { print "" }'
	done
done
