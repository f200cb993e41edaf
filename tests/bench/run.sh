#!/bin/bash
# make bench: describes the machine, measures, and writes
#   build/bench/results.csv    every figure: median, minimum, maximum, runs
#   build/bench/cost.png       per-packet cost against policy size
#   BENCHMARKS.md              the tables, with the plot (docs/bench-cost.png)
#
# Stages, each in network namespaces of its own (prefix vmgb-):
#   packet   bench_dp: per-packet cost through BPF_PROG_TEST_RUN
#   control  bench_cp: compile, map fill and swap, reloads, map memory, nftables
#   daemon   daemon.sh: the daemon's memory and its reload from SIGHUP
#   wire     wire.sh: a flood over veth, dropped by vmsgate or by nftables
# It measures and reports; it never fails on a figure. It fails when a
# stage could not run, after writing what the others measured.
#
# BENCH_QUICK=1 runs every stage briefly (a smoke test of the bench itself).
set -u
cd "$(dirname "$0")/../.."
OUT=build/bench
CSV=$OUT/results.csv
PLOT_COPY=docs/bench-cost.png
PY=/usr/bin/python3	# Debian's, with matplotlib; another earlier on PATH may lack it
START=$(date +%s)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	SIZES=10,1000 ELEMENTS=1000 RUNS=3 REPEAT=50000 WIRE_SECONDS=0.5 DAEMON_SIZES="1000"
else
	SIZES=10,1000,10000,100000 ELEMENTS=1000,10000,100000 RUNS=11 REPEAT=100000
	WIRE_SECONDS=2 DAEMON_SIZES="10000 100000"
fi
CP_RUNS=5

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF programs, namespaces, nftables)" >&2
	exit 1
fi

cleanup() {
	local ns
	for ns in vmgb-dp vmgb-cp; do
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT

describe_machine() {
	local cpu cores kernel clang libbpf bpftool xdptools nft mem mitig hv
	cpu=$(awk -F: '/^model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo)
	cores=$(nproc)
	kernel=$(uname -r)
	clang=$(clang --version | head -1)
	libbpf=$(pkg-config --modversion libbpf 2>/dev/null)
	bpftool=$(bpftool version 2>/dev/null | head -1)
	xdptools=$(dpkg-query -W -f='${Version}' xdp-tools 2>/dev/null)
	nft=$(nft --version 2>/dev/null)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	mitig=$(cat /sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow 2>/dev/null)
	hv=$(lscpu 2>/dev/null | awk -F: '/Hypervisor vendor/ { gsub(/ /, "", $2); print $2 }')
	cat <<-EOF
	cpu=$cpu
	cores=$cores
	hypervisor=${hv:-none}
	memory=$mem
	kernel=$kernel
	debian=$(cat /etc/debian_version 2>/dev/null)
	clang=$clang
	libbpf=$libbpf
	bpftool=$bpftool
	xdp_tools=$xdptools
	nftables=$nft
	srso_mitigation=$mitig
	date=$(date -u +%Y-%m-%dT%H:%MZ)
	EOF
}

# stage NAME CMD...: runs one stage, says how long it took, remembers failures
FAILED=""
stage() {
	local name=$1 t0=$(date +%s)
	shift
	echo "bench: $name ..."
	if ! "$@"; then
		echo "bench: stage $name failed" >&2
		FAILED="$FAILED $name"
	fi
	echo "stage_seconds_$name=$(($(date +%s) - t0))" >>"$OUT/machine.txt"
}

# The per-packet bench holds each of its programs (6 a size) on an interface
# of its own: see bench_dp.c, --hold.
packet_stage() {
	local i
	ip netns add vmgb-dp || return 1
	for i in $(seq 0 2 30); do
		ip -n vmgb-dp link add "vmgb-h$i" type veth peer name "vmgb-h$((i + 1))" || return 1
	done
	ip netns exec vmgb-dp "$OUT/bench_dp" --sizes "$SIZES" --runs "$RUNS" --repeat "$REPEAT" \
		--cpu 1 --floor "$OUT/floor.bpf.o" --hold vmgb-h --csv "$CSV"
}

control_stage() {
	ip netns add vmgb-cp || return 1
	ip -n vmgb-cp link set lo up
	ip netns exec vmgb-cp "$OUT/bench_cp" --sizes "$SIZES" --elements "$ELEMENTS" \
		--runs "$CP_RUNS" --dir "$OUT" --csv "$CSV"
}

wire_stage() {
	"$OUT/bench_cp" site 10000 lo "$OUT/wire-site.yaml" &&
		./tests/bench/wire.sh "$OUT/wire-site.yaml" "$CSV" "$WIRE_SECONDS" "$CP_RUNS"
}

# Build what the stages run
make --no-print-directory bench-build >/dev/null || {
	echo "bench: build failed; run 'make bench-build' to see why" >&2
	exit 1
}
mkdir -p "$OUT"
echo "section,metric,subject,hosts,family,median,min,max,unit,runs,note" >"$CSV"
describe_machine >"$OUT/machine.txt"
printf 'repeat=%s\nwire_seconds=%s\n' "$REPEAT" "$WIRE_SECONDS" >>"$OUT/machine.txt"
export VMSGATE_CATALOG_DIR=$PWD/policies
# the program looks up replies in conntrack when the kernel has it: have it
modprobe nf_conntrack 2>/dev/null

stage packet packet_stage
stage control control_stage
stage daemon ./tests/bench/daemon.sh "$CSV" "$CP_RUNS" $DAEMON_SIZES
stage wire wire_stage
cleanup

echo "elapsed_seconds=$(($(date +%s) - START))" >>"$OUT/machine.txt"
mkdir -p "$(dirname "$PLOT_COPY")"
"$PY" tests/bench/report.py --csv "$CSV" --machine "$OUT/machine.txt" --md BENCHMARKS.md \
	--png "$OUT/cost.png" --png-link "$PLOT_COPY" || FAILED="$FAILED report"
echo "bench: wrote $CSV, $OUT/cost.png, $PLOT_COPY and BENCHMARKS.md" \
	"in $(($(date +%s) - START)) s"
if [ -n "$FAILED" ]; then
	echo "bench: stages that did not run:$FAILED" >&2
	exit 1
fi
