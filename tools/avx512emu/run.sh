#!/usr/bin/env bash
# Run a static Go test binary inside the Bochs x86 emulator with an AVX-512
# CPU model, so that AVX-512 (ZMM / opmask) assembly can be tested on hosts
# without AVX-512. See README.md in this directory.
#
# Usage: tools/avx512emu/run.sh PKG_TEST_BINARY [test flags...]
set -euo pipefail

usage() {
	cat >&2 <<'EOF'
usage: tools/avx512emu/run.sh PKG_TEST_BINARY [test flags...]

  CGO_ENABLED=0 go test -c -o /tmp/pkg.test ./pkg
  tools/avx512emu/run.sh /tmp/pkg.test -test.run 'TestX|TestY' -test.v

Environment: AVX512EMU_TIMEOUT, AVX512EMU_BOOT_TIMEOUT, AVX512EMU_CPU,
AVX512EMU_MEM, AVX512EMU_IPS, AVX512EMU_KERNEL, AVX512EMU_ENV,
AVX512EMU_WORKDIR, AVX512EMU_CMDLINE, AVX512EMU_BOCHSRC, AVX512EMU_VERBOSE,
AVX512EMU_KEEP, AVX512EMU_NO_INSTALL (see README.md).
EOF
	exit 2
}

die() {
	echo "avx512emu: $*" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in -h | --help) usage ;; esac

TEST_BIN=$1
shift
[[ -f $TEST_BIN && -r $TEST_BIN ]] || die "$TEST_BIN: no such file"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULE_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

# Settings (environment).
TIMEOUT=${AVX512EMU_TIMEOUT:-3600}            # wall seconds before giving up (whole run)
BOOT_TIMEOUT=${AVX512EMU_BOOT_TIMEOUT:-600}   # wall seconds for the boot up to /init
CPU_MODEL=${AVX512EMU_CPU:-corei7_skylake_x}  # Bochs CPU model with AVX-512
MEM_MB=${AVX512EMU_MEM:-512}                  # guest memory in MiB
IPS=${AVX512EMU_IPS:-50000000}                # Bochs emulated instructions per guest second
KERNEL=${AVX512EMU_KERNEL:-}                  # kernel image (default: /boot/vmlinuz-*-cloud-amd64)
TEST_ENV=${AVX512EMU_ENV:-}                   # NAME=VALUE ... passed to the test
WORKDIR_SRC=${AVX512EMU_WORKDIR:-}            # directory copied in as the test's working directory
CMDLINE_EXTRA=${AVX512EMU_CMDLINE:-}          # extra kernel command line
BOCHSRC_EXTRA=${AVX512EMU_BOCHSRC:-}          # extra bochsrc lines
VERBOSE=${AVX512EMU_VERBOSE:-0}               # 1: show boot messages with wall-clock times
KEEP=${AVX512EMU_KEEP:-0}                     # 1: keep the scratch directory

log() {
	if [[ $VERBOSE == 1 ]]; then echo "avx512emu: $*" >&2; fi
}

# ---------------------------------------------------------------------------
# Dependencies.
# ---------------------------------------------------------------------------
APT_PKGS="bochs bochsbios vgabios linux-image-cloud-amd64 isolinux syslinux-common xorriso"

# The Debian "cloud" kernel has few built-in drivers and boots several times
# faster in the emulator than the generic one.
find_kernel() {
	if [[ -n $KERNEL ]]; then
		echo "$KERNEL"
		return
	fi
	local k
	k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' 2>/dev/null | sort -V | tail -n 1)
	if [[ -z $k ]]; then
		k=$(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1)
	fi
	echo "$k"
}

missing_deps() {
	local miss=()
	command -v bochs-bin >/dev/null || miss+=(bochs)
	[[ -f /usr/share/bochs/BIOS-bochs-latest ]] || miss+=(bochsbios)
	[[ -f /usr/share/vgabios/vgabios.bin ]] || miss+=(vgabios)
	[[ -n $(find_kernel) ]] || miss+=(linux-image-cloud-amd64)
	[[ -f /usr/lib/ISOLINUX/isolinux.bin ]] || miss+=(isolinux)
	[[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ]] || miss+=(syslinux-common)
	command -v xorriso >/dev/null || miss+=(xorriso)
	echo "${miss[*]}"
}

command -v go >/dev/null || die "go not found in PATH (needed to build the init program)"
MISSING=$(missing_deps)
if [[ -n $MISSING ]]; then
	if [[ $(id -u) == 0 && ${AVX512EMU_NO_INSTALL:-0} != 1 ]] && command -v apt-get >/dev/null; then
		echo "avx512emu: installing missing packages: $MISSING" >&2
		apt-get update -qq >&2
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PKGS >&2
		MISSING=$(missing_deps)
	fi
	if [[ -n $MISSING ]]; then
		echo "avx512emu: missing: $MISSING" >&2
		die "install with: apt-get install --no-install-recommends $APT_PKGS"
	fi
fi
KERNEL=$(find_kernel)
[[ -r $KERNEL ]] || die "cannot read kernel image $KERNEL"
if [[ $KERNEL != *cloud* ]]; then
	echo "avx512emu: warning: $KERNEL is not a Debian cloud kernel; booting will be much slower" >&2
fi
BOCHS_CPUS=$(bochs-bin --help cpu 2>&1 || true)
[[ $BOCHS_CPUS == *"$CPU_MODEL"* ]] || die "this Bochs has no CPU model $CPU_MODEL (see bochs-bin --help cpu)"

# The test binary must be a static linux/amd64 ELF executable.
[[ $(head -c 4 "$TEST_BIN" | od -An -c | tr -d ' ') == '177ELF' ]] || die "$TEST_BIN is not an ELF executable"
[[ $(od -An -tx1 -j18 -N1 "$TEST_BIN" | tr -d ' ') == 3e ]] || die "$TEST_BIN is not an x86-64 executable"
if grep -aq 'ld-linux-x86-64\.so' "$TEST_BIN"; then
	die "$TEST_BIN is dynamically linked; build it with CGO_ENABLED=0"
fi

# Go test binaries time out after 10 minutes of (emulated) time by default;
# the emulator is much slower than real hardware, so unless the caller set
# a timeout, rely on AVX512EMU_TIMEOUT instead.
HAS_TIMEOUT=0
for a in "$@"; do
	case $a in -test.timeout* | --test.timeout*) HAS_TIMEOUT=1 ;; esac
done
if [[ $HAS_TIMEOUT == 0 ]]; then
	set -- -test.timeout=0 "$@"
fi

# ---------------------------------------------------------------------------
# Scratch directory.
# ---------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/avx512emu.XXXXXX")
BOCHS_PID=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	if [[ -n $BOCHS_PID ]] && kill -0 "$BOCHS_PID" 2>/dev/null; then
		kill "$BOCHS_PID" 2>/dev/null || true
		wait "$BOCHS_PID" 2>/dev/null || true
	fi
	if [[ $KEEP == 1 ]]; then
		echo "avx512emu: scratch files kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------
# Initramfs: /init (the Go program in ./init), /test, /args, /env,
# /etc/hosts, /dev/console and optionally /work. It is written directly in
# the "newc" cpio format (no root needed for the device node) and left
# uncompressed so that the emulated kernel does not spend time inflating it.
# ---------------------------------------------------------------------------
(cd "$MODULE_DIR" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
	go build -trimpath -ldflags='-s -w' -o "$WORK/init" ./tools/avx512emu/init)

: >"$WORK/args"
for a in "$@"; do
	printf '%s\0' "$a" >>"$WORK/args"
done
: >"$WORK/env"
read -r -a TEST_ENV_LIST <<<"$TEST_ENV"
for e in "${TEST_ENV_LIST[@]}"; do
	printf '%s\0' "$e" >>"$WORK/env"
done
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$WORK/hosts"

CPIO=$WORK/initrd.cpio
: >"$CPIO"
INO=1
pad4() { # pad4 N: append zero bytes to align N to a multiple of 4
	local n=$(((4 - $1 % 4) % 4))
	if ((n > 0)); then head -c "$n" /dev/zero >>"$CPIO"; fi
}
cpio_entry() { # cpio_entry NAME MODE(octal) [FILE] [RDEVMAJOR RDEVMINOR]
	local name=$1 mode=$2 file=${3:-} rmaj=${4:-0} rmin=${5:-0} size=0 namesize
	if [[ -n $file ]]; then size=$(stat -L -c %s "$file"); fi
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$INO" "$((8#$mode))" 0 0 1 0 "$size" 0 0 "$rmaj" "$rmin" "$namesize" 0 >>"$CPIO"
	printf '%s\0' "$name" >>"$CPIO"
	pad4 $((110 + namesize))
	if [[ -n $file ]]; then
		cat "$file" >>"$CPIO"
		pad4 "$size"
	fi
	INO=$((INO + 1))
}
cpio_entry dev 40755
cpio_entry dev/console 20600 "" 5 1
cpio_entry proc 40755
cpio_entry sys 40755
cpio_entry tmp 41777
cpio_entry etc 40755
cpio_entry etc/hosts 100644 "$WORK/hosts"
cpio_entry init 100755 "$WORK/init"
cpio_entry test 100755 "$TEST_BIN"
cpio_entry args 100644 "$WORK/args"
cpio_entry env 100644 "$WORK/env"
if [[ -n $WORKDIR_SRC ]]; then
	[[ -d $WORKDIR_SRC ]] || die "AVX512EMU_WORKDIR=$WORKDIR_SRC is not a directory"
	WORKDIR_SRC=${WORKDIR_SRC%/}
	cpio_entry work 40755
	while IFS= read -r -d '' p; do
		rel=${p#"$WORKDIR_SRC"/}
		if [[ -d $p ]]; then
			cpio_entry "work/$rel" 40755
		elif [[ -f $p ]]; then
			cpio_entry "work/$rel" 100644 "$p"
		fi
	done < <(find -L "$WORKDIR_SRC" -mindepth 1 -print0 | sort -z)
fi
cpio_entry 'TRAILER!!!' 0
log "initramfs: $(stat -c %s "$CPIO") bytes"

# ---------------------------------------------------------------------------
# Bootable ISO (ISOLINUX) with the kernel and the initramfs.
#
# Kernel command line:
#  - clearcpuid=pku,xsaves,xsavec: Bochs 2.7 reports no size for the PKRU
#    XSAVE component and a wrong compacted XSAVE size; without this the
#    kernel disables XSAVE and with it AVX and AVX-512.
#  - clearcpuid=fsrm: with "fast short REP MOVSB" (Ice Lake and later
#    models) the kernel's instruction patching at boot goes wrong under
#    Bochs 2.7 and the boot hangs.
#  - clearcpuid=aperfmperf: Bochs lacks these MSRs (the kernel would read
#    them on every timer tick).
#  - tsc_early_khz: Bochs' TSC counts emulated instructions, i.e. runs at
#    "ips" Hz, not at the frequency the CPU model reports.
#  - cryptomgr.notests, initcall_blacklist: skip the slowest initcalls
#    (crypto self-tests, X.509 key loading, tracing setup).
# ---------------------------------------------------------------------------
CLEARCPUID=pku,xsaves,xsavec,fsrm,aperfmperf
EXTRA=()
read -r -a EXTRA_WORDS <<<"$CMDLINE_EXTRA"
for w in "${EXTRA_WORDS[@]}"; do
	# Only the last clearcpuid= counts; merge the caller's into ours.
	if [[ $w == clearcpuid=* ]]; then
		CLEARCPUID+=",${w#clearcpuid=}"
	else
		EXTRA+=("$w")
	fi
done
CMDLINE="console=ttyS0,115200 quiet nokaslr mitigations=off"
CMDLINE+=" clearcpuid=$CLEARCPUID tsc_early_khz=$((IPS / 1000))"
CMDLINE+=" cryptomgr.notests initcall_blacklist=load_system_certificate_list,init_kprobe_trace,trace_eval_init"
if [[ $VERBOSE == 1 ]]; then
	CMDLINE=${CMDLINE/ quiet/}
	CMDLINE+=" earlyprintk=serial,ttyS0,115200"
fi
CMDLINE+=" ${EXTRA[*]}"

mkdir -p "$WORK/iso/isolinux" "$WORK/iso/boot"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$WORK/iso/isolinux/"
cp "$KERNEL" "$WORK/iso/boot/vmlinuz"
mv "$CPIO" "$WORK/iso/boot/initrd"
cat >"$WORK/iso/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT emu
PROMPT 0
TIMEOUT 0
LABEL emu
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd
  APPEND $CMDLINE
EOF
if ! xorriso -as mkisofs -quiet -o "$WORK/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -J -R "$WORK/iso" 2>"$WORK/xorriso.log"; then
	cat "$WORK/xorriso.log" >&2
	die "xorriso failed"
fi
rm -rf "$WORK/iso"

# ---------------------------------------------------------------------------
# Bochs. The Debian build has no "nogui" display library, so use "rfb"
# without waiting for a VNC client; sound and speaker are disabled because
# the sound plugin crashes without an audio device.
# ---------------------------------------------------------------------------
SERIAL=$WORK/serial.txt
: >"$SERIAL"
cat >"$WORK/bochsrc" <<EOF
display_library: rfb, options="timeout=0"
cpu: model=$CPU_MODEL, count=1, ips=$IPS, reset_on_triple_fault=0, ignore_bad_msrs=1
memory: guest=$MEM_MB, host=$MEM_MB
clock: sync=none, time0=local
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$WORK/boot.iso, status=inserted
ata1: enabled=0
boot: cdrom
floppy_bootsig_check: disabled=1
com1: enabled=1, mode=file, dev=$SERIAL
mouse: enabled=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: $WORK/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
$BOCHSRC_EXTRA
EOF

# Builds with the internal debugger stop before the first instruction; -rc
# feeds them a "continue" command.
BOCHS_ARGS=(-q -f "$WORK/bochsrc")
BOCHS_HELP=$(bochs-bin --help 2>&1 || true)
if [[ $BOCHS_HELP == *"-rc filename"* ]]; then
	echo continue >"$WORK/debugger.rc"
	BOCHS_ARGS+=(-rc "$WORK/debugger.rc")
fi

log "prepared in $(elapsed)s; booting $KERNEL, cpu=$CPU_MODEL, memory=${MEM_MB}M, ips=$IPS"
bochs-bin "${BOCHS_ARGS[@]}" </dev/null >"$WORK/bochs.out" 2>&1 &
BOCHS_PID=$!

# ---------------------------------------------------------------------------
# Follow the serial console. Lines before the AVX512EMU-CPU line are boot
# messages (shown on stderr with AVX512EMU_VERBOSE=1); the lines from it up
# to the AVX512EMU-EXIT marker are the test's output and go to stdout as
# they arrive.
# ---------------------------------------------------------------------------
STATUS=
START=$(date +%s)
OFFSET=0     # bytes of $SERIAL already processed (complete lines only)
PHASE='boot' # boot -> test -> done
PANIC_AT=
BLANKS=0     # blank test output lines not printed yet

process_line() {
	local line=${1%$'\r'}
	case $PHASE in
	boot)
		if [[ $line == AVX512EMU-CPU* ]]; then
			PHASE='test'
			log "/init started after $(elapsed)s"
			printf '%s\n' "$line"
		else
			if [[ $VERBOSE == 1 ]]; then
				printf '[%6ss] %s\n' "$(elapsed)" "$line" >&2
			fi
			if [[ $line == *'Kernel panic'* && -z $PANIC_AT ]]; then
				PANIC_AT=$(date +%s)
			fi
		fi
		;;
	test)
		if [[ $line =~ ^AVX512EMU-EXIT\ ([0-9]+) ]]; then
			# The init program writes a newline before the marker.
			for ((; BLANKS > 1; BLANKS--)); do echo; done
			STATUS=${BASH_REMATCH[1]}
			PHASE='done'
			log "test finished after $(elapsed)s"
		elif [[ -z $line ]]; then
			BLANKS=$((BLANKS + 1))
		else
			if [[ $line == *'Kernel panic'* && -z $PANIC_AT ]]; then
				PANIC_AT=$(date +%s)
			fi
			for ((; BLANKS > 0; BLANKS--)); do echo; done
			printf '%s\n' "$line"
		fi
		;;
	esac
}

while :; do
	ALIVE=0
	if kill -0 "$BOCHS_PID" 2>/dev/null; then ALIVE=1; fi
	size=$(stat -c %s "$SERIAL")
	if ((size > OFFSET)); then
		chunk=$(
			tail -c +$((OFFSET + 1)) "$SERIAL" | head -c $((size - OFFSET)) | tr -d '\0'
			echo x
		)
		chunk=${chunk%x}
		complete=${chunk%$'\n'*}
		if [[ $complete != "$chunk" ]]; then # at least one complete line
			OFFSET=$((OFFSET + ${#complete} + 1))
			while IFS= read -r l; do
				process_line "$l"
				if [[ $PHASE == 'done' ]]; then break; fi
			done <<<"$complete"
		fi
	fi
	if [[ $PHASE == 'done' ]]; then break; fi
	if [[ -n $PANIC_AT ]] && (($(date +%s) >= PANIC_AT + 3)); then
		tail -n 40 "$SERIAL" | tr -d '\r' >&2
		echo "avx512emu: kernel panic" >&2
		break
	fi
	if [[ $ALIVE == 0 ]]; then
		echo "avx512emu: bochs exited before the test finished; last messages:" >&2
		tail -n 20 "$SERIAL" | tr -d '\r' >&2
		grep -a -E '^[0-9]+[pe]\[' "$WORK/bochs.log" 2>/dev/null | tail -n 10 >&2 || true
		grep -a -E '>>PANIC<<' "$WORK/bochs.out" 2>/dev/null | tail -n 5 >&2 || true
		break
	fi
	now=$(date +%s)
	if [[ $PHASE == 'boot' ]] && ((now - START >= BOOT_TIMEOUT)); then
		echo "avx512emu: boot did not reach /init within ${BOOT_TIMEOUT}s (AVX512EMU_BOOT_TIMEOUT); last messages:" >&2
		tail -n 20 "$SERIAL" | tr -d '\r' >&2
		break
	fi
	if ((now - START >= TIMEOUT)); then
		echo "avx512emu: timeout after ${TIMEOUT}s (AVX512EMU_TIMEOUT)" >&2
		break
	fi
	sleep 0.5
done

kill "$BOCHS_PID" 2>/dev/null || true
wait "$BOCHS_PID" 2>/dev/null || true
BOCHS_PID=

if [[ -z $STATUS ]]; then
	exit 124
fi
exit "$STATUS"
