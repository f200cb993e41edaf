#!/bin/bash
# The demo site in network namespaces, shared by `make demo` and the
# end-to-end tests.
#
#   vmg-srv  10.10.0.5 (management, SQL, event server), 10.10.0.11 and
#            10.10.0.12 (recording servers), 10.10.0.20 (mobile server)
#   vmg-cam  10.20.0.50, 10.20.0.51 (cameras)
#   vmg-cli  10.30.0.10 (Management Client), 10.30.0.20 (Smart Client)
#   vmg-gw   the gateway: gw-srv 10.10.0.1, gw-cam 10.20.0.1, gw-cli 10.30.0.1,
#            forwarding between them; vmsgate runs here.
#
# Every namespace and link made here carries the vmg- or gw- prefix, and
# topo_down removes them all.

VMG_NETS=(srv cam cli)
declare -A VMG_GW_ADDR=([srv]=10.10.0.1 [cam]=10.20.0.1 [cli]=10.30.0.1)
declare -A VMG_HOST_ADDRS=(
	[srv]="10.10.0.5 10.10.0.11 10.10.0.12 10.10.0.20"
	[cam]="10.20.0.50 10.20.0.51"
	[cli]="10.30.0.10 10.30.0.20"
)
VMG_PIDS=()

gw() { ip netns exec vmg-gw "$@"; }

topo_down() {
	for pid in "${VMG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	VMG_PIDS=()
	for n in gw "${VMG_NETS[@]}"; do
		ip netns pids "vmg-$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "vmg-$n" 2>/dev/null
	done
	return 0
}

topo_up() {
	topo_down
	ip netns add vmg-gw || return 1
	gw ip link set lo up
	gw sysctl -qw net.ipv4.ip_forward=1
	for n in "${VMG_NETS[@]}"; do
		ip netns add "vmg-$n" || return 1
		ip link add "gw-$n" netns vmg-gw type veth peer name eth0 netns "vmg-$n" ||
			return 1
		gw ip addr add "${VMG_GW_ADDR[$n]}/24" dev "gw-$n"
		gw ip link set "gw-$n" up
		ip -n "vmg-$n" link set lo up
		for a in ${VMG_HOST_ADDRS[$n]}; do
			ip -n "vmg-$n" addr add "$a/24" dev eth0
		done
		ip -n "vmg-$n" link set eth0 up
		ip -n "vmg-$n" route add default via "${VMG_GW_ADDR[$n]}"
	done
	sleep 1
}

# serve_tcp NET ADDR PORT: a listener that answers every connection with "ok".
serve_tcp() {
	ip netns exec "vmg-$1" socat "TCP-LISTEN:$3,bind=$2,fork,reuseaddr" \
		SYSTEM:'echo ok' >/dev/null 2>&1 &
	VMG_PIDS+=($!)
}

# try_tcp NET SRC DST PORT: 0 when a connection through the gateway gets "ok".
try_tcp() {
	local out
	out=$(ip netns exec "vmg-$1" timeout 3 socat -T2 - \
		"TCP:$3:$4,bind=$2,connect-timeout=1" </dev/null 2>/dev/null)
	[ "$out" = ok ]
}

# send_udp NET SRC DST PORT: one datagram.
send_udp() {
	echo probe | ip netns exec "vmg-$1" timeout 2 socat -u - "UDP:$3:$4,bind=$2" \
		2>/dev/null
}

wait_for_port() {
	local net=$1 addr=$2 port=$3 i
	for i in $(seq 50); do
		ip netns exec "vmg-$net" ss -Htln "src $addr:$port" 2>/dev/null | grep -q . &&
			return 0
		sleep 0.1
	done
	return 1
}

# ---- assertions for the shell suites: "PASS: ..." / "FAIL: ..." lines ----
VMG_FAILS=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; VMG_FAILS=$((VMG_FAILS + 1)); }

# expect NAME CMD...: the command succeeds
expect() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# expect_not NAME CMD...: the command fails
expect_not() {
	local name=$1
	shift
	if "$@"; then fail "$name"; else pass "$name"; fi
}

# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}

# counter REASON ACTION: packets of vmg_reason_cnt, from `vmsgate stats`
counter() {
	local col
	case $2 in pass) col=2 ;; drop) col=3 ;; would_drop) col=4 ;; esac
	gw "$VMSGATE" stats | awk -v r="$1" -v c="$col" '$1 == r { print $c; exit }'
}

# udp_burst NET SRC DST PORT N: N datagrams, exactly
udp_burst() {
	local i
	for i in $(seq "$5"); do
		send_udp "$1" "$2" "$3" "$4"
	done
}

# serve_udp NET ADDR PORT FILE: every datagram received is appended to FILE
serve_udp() {
	ip netns exec "vmg-$1" socat -u "UDP-RECV:$3,bind=$2" "OPEN:$4,creat,append" \
		>/dev/null 2>&1 &
	VMG_PIDS+=($!)
}

# start_daemon POLICY LOG: vmsgate run in the gateway; waits until it enforces
start_daemon() {
	# not through gw(): $! must be the daemon itself (ip netns exec execs it)
	ip netns exec vmg-gw "$VMSGATE" run -c "$1" >>"$2" 2>&1 &
	VMG_DAEMON=$!
	local i
	for i in $(seq 100); do
		gw "$VMSGATE" status 2>/dev/null | grep -q "daemon:      running" && return 0
		kill -0 "$VMG_DAEMON" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_daemon() {
	[ -n "${VMG_DAEMON:-}" ] || return 0
	kill "${1:--TERM}" "$VMG_DAEMON" 2>/dev/null
	wait "$VMG_DAEMON" 2>/dev/null
	VMG_DAEMON=
}

e2e_finish() {
	echo "e2e: $VMG_FAILS failed"
	[ "$VMG_FAILS" = 0 ]
}

# pins_setup NAME: a bpffs of our own for the pins and a run directory, so a
# test never touches an installed vmsgate's. `ip netns exec` gives each
# command a fresh /sys, so the pins cannot live under /sys/fs/bpf here.
pins_setup() {
	export VMSGATE_RUN_DIR=/run/$1
	mkdir -p "$VMSGATE_RUN_DIR/bpf"
	mountpoint -q "$VMSGATE_RUN_DIR/bpf" ||
		mount -t bpf bpf "$VMSGATE_RUN_DIR/bpf" || return 1
	export VMSGATE_PIN_DIR=$VMSGATE_RUN_DIR/bpf/vmsgate
}

pins_down() {
	[ -n "${VMSGATE_RUN_DIR:-}" ] || return 0
	umount "$VMSGATE_RUN_DIR/bpf" 2>/dev/null
	rm -rf "$VMSGATE_RUN_DIR"
}
