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
