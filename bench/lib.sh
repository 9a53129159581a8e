# lib.sh holds what the benchmark scripts share. A script sources it with
#
#   . "$dir/lib.sh"
#
# bench_setup ROOT DEFAULT_ROUNDS [rounds] [threads...] sets rounds (the
# first argument, or DEFAULT_ROUNDS) and threads (the rest, or "1 2"),
# makes the directory $tmp (removed on exit) and puts an xent binary at
# $tmp/xent: a copy of $XENT when it is set, else one built from the
# repository at ROOT.
bench_setup() {
	_root=$1
	rounds=${3:-$2}
	shift 2
	[ $# -gt 0 ] && shift
	threads=${*:-1 2}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	if [ -n "${XENT:-}" ]; then
		cp "$XENT" "$tmp/xent"
	else
		(cd "$_root" && go build -o "$tmp/xent" ./cmd/xent)
	fi
}

# field NAME prints the number in the field NAME of the JSON lines on
# standard input.
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }

# median prints the median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
