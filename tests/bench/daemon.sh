#!/bin/bash
# The daemon as an operator runs it: resident memory with a policy in
# force, and a reload from SIGHUP to the status file saying it is done.
#
#   vmgb-dmn  vmgb-d0 (XDP attached here) with its peer vmgb-d1
#
# Pins go to a bpffs of our own under /run/vmgb-bench, like the e2e tests'
# pins_setup, never to /sys/fs/bpf/vmsgate.
#
# usage: daemon.sh CSV RUNS HOSTS...
set -u
cd "$(dirname "$0")/../.."
BENCH=build/bench
VMSGATE=$PWD/build/vmsgate
export VMSGATE_RUN_DIR=/run/vmgb-bench
export VMSGATE_PIN_DIR=$VMSGATE_RUN_DIR/bpf/vmsgate
DAEMON=

csv_row() {	# metric subject hosts median min max unit runs note
	echo "daemon,$1,$2,$3,,$4,$5,$6,$7,$8,$9" >>"$CSV"
}

stop_daemon() {
	[ -n "$DAEMON" ] || return 0
	kill -TERM "$DAEMON" 2>/dev/null
	wait "$DAEMON" 2>/dev/null
	DAEMON=
	ip netns exec vmgb-dmn "$VMSGATE" detach >/dev/null 2>&1
}

down() {
	stop_daemon
	ip netns del vmgb-dmn 2>/dev/null
	umount "$VMSGATE_RUN_DIR/bpf" 2>/dev/null
	rm -rf "$VMSGATE_RUN_DIR"
	return 0
}

up() {
	down
	ip netns add vmgb-dmn || return 1
	ip -n vmgb-dmn link set lo up
	ip -n vmgb-dmn link add vmgb-d0 type veth peer name vmgb-d1 || return 1
	ip -n vmgb-dmn link set vmgb-d0 up
	ip -n vmgb-dmn link set vmgb-d1 up
	mkdir -p "$VMSGATE_RUN_DIR/bpf"
	mount -t bpf bpf "$VMSGATE_RUN_DIR/bpf" || return 1
}

# start_daemon SITE: vmsgate run in the namespace, until its status says running
start_daemon() {
	ip netns exec vmgb-dmn "$VMSGATE" run -c "$1" >>"$LOG" 2>&1 &
	DAEMON=$!
	local i
	for i in $(seq 600); do
		ip netns exec vmgb-dmn "$VMSGATE" status 2>/dev/null |
			grep -q "daemon:      running" && return 0
		kill -0 "$DAEMON" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

rss_kib() {
	awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"
}

# reloads RUNS: milliseconds of each reload, one a line
reloads() {
	local i
	for i in $(seq "$1"); do
		ip netns exec vmgb-dmn "$BENCH/bench_cp" daemon-reload "$VMSGATE_RUN_DIR" |
			awk '$2 == "ok" { print $1 }'
	done
}

# summary: median min max of the numbers on stdin
summary() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "nan nan nan"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

CSV=$1 RUNS=$2
shift 2
LOG=$BENCH/daemon.log
: >"$LOG"
trap down EXIT
up || { echo "daemon: failed to set up vmgb-dmn" >&2; exit 1; }
status=0
for hosts in "$@"; do
	site=$BENCH/daemon-site.yaml a=$BENCH/daemon-$hosts-a.yaml b=$BENCH/daemon-$hosts-b.yaml
	# b moves 1% of the cameras
	"$BENCH/bench_cp" site "$hosts" vmgb-d0 "$a" 0 &&
		"$BENCH/bench_cp" site "$hosts" vmgb-d0 "$b" $((hosts / 200 + 1)) || exit 1
	cp "$a" "$site"
	if ! start_daemon "$site"; then
		echo "daemon: vmsgate run failed with $hosts hosts; see $LOG" >&2
		status=1
		stop_daemon
		continue
	fi
	rss=$(rss_kib "$DAEMON" VmRSS)
	csv_row resident_memory vmsgate "$hosts" "$rss" "$rss" "$rss" KiB 1 "VmRSS after start"

	read -r m lo hi < <(reloads "$RUNS" | summary)
	csv_row reload_unchanged vmsgate "$hosts" "$m" "$lo" "$hi" ms "$RUNS" \
		"SIGHUP to status file; same file"
	read -r m lo hi < <(for i in $(seq "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then cp "$b" "$site"; else cp "$a" "$site"; fi
		reloads 1
	done | summary)
	csv_row reload_changed vmsgate "$hosts" "$m" "$lo" "$hi" ms "$RUNS" \
		"SIGHUP to status file; 1% of hosts moved"
	rss=$(rss_kib "$DAEMON" VmRSS)
	hwm=$(rss_kib "$DAEMON" VmHWM)
	csv_row resident_memory_after_reloads vmsgate "$hosts" "$rss" "$rss" "$rss" KiB 1 \
		"VmRSS after the reloads"
	csv_row peak_memory vmsgate "$hosts" "$hwm" "$hwm" "$hwm" KiB 1 "VmHWM, start and reloads"
	stop_daemon
done
exit $status
