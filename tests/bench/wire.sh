#!/bin/bash
# The wire benchmark's network, then bench_wire in it.
#
#   vmgb-tx   vmgb-tx0 192.0.2.10/24, 2001:db8::10/64: the flood's source
#   vmgb-gw   vmgb-gw0 192.0.2.1/24, 2001:db8::1/64: the gateway, which would
#             forward to the protected hosts through vmgb-out0
#   vmgb-srv  vmgb-srv0 198.51.100.2/24, 2001:db8:1::2/64: where they would be;
#             nothing is meant to arrive, and vmgb-out0's tx counter says so
#
# The receiving veth polls in a NAPI thread of its own, pinned to CPU 1; the
# sender runs on CPU 0. Everything made here carries the vmgb- prefix and
# wire_down removes it.
#
# usage: wire.sh SITE CSV SECONDS RUNS
set -u
cd "$(dirname "$0")/../.."
BENCH=build/bench
RX_CPU=1
TX_CPU=0

wire_down() {
	local ns
	for ns in vmgb-tx vmgb-gw vmgb-srv; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

wire_up() {
	wire_down
	ip netns add vmgb-tx && ip netns add vmgb-gw && ip netns add vmgb-srv || return 1
	ip link add vmgb-tx0 netns vmgb-tx type veth peer name vmgb-gw0 netns vmgb-gw || return 1
	ip link add vmgb-out0 netns vmgb-gw type veth peer name vmgb-srv0 netns vmgb-srv ||
		return 1
	for ns in vmgb-tx vmgb-gw vmgb-srv; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
	done
	ip netns exec vmgb-gw sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ip -n vmgb-tx addr add 192.0.2.10/24 dev vmgb-tx0
	ip -n vmgb-tx addr add 2001:db8::10/64 dev vmgb-tx0 nodad
	ip -n vmgb-gw addr add 192.0.2.1/24 dev vmgb-gw0
	ip -n vmgb-gw addr add 2001:db8::1/64 dev vmgb-gw0 nodad
	ip -n vmgb-gw addr add 198.51.100.1/24 dev vmgb-out0
	ip -n vmgb-gw addr add 2001:db8:1::1/64 dev vmgb-out0 nodad
	ip -n vmgb-srv addr add 198.51.100.2/24 dev vmgb-srv0
	ip -n vmgb-srv addr add 2001:db8:1::2/64 dev vmgb-srv0 nodad
	ip -n vmgb-srv link set vmgb-srv0 up
	ip -n vmgb-gw link set vmgb-out0 up
	ip -n vmgb-gw link set vmgb-gw0 up
	ip -n vmgb-tx link set vmgb-tx0 up
	ip -n vmgb-gw route add 10.20.0.0/14 via 198.51.100.2 dev vmgb-out0
	ip -n vmgb-gw route add fd00:20::/64 via 2001:db8:1::2 dev vmgb-out0
	ip netns exec vmgb-gw sysctl -qw net.ipv4.conf.vmgb-gw0.rp_filter=0
	# NAPI without an XDP program (so nftables gets the same frames), in a thread
	ip netns exec vmgb-gw "$BENCH/bench_wire" gro vmgb-gw0 || return 1
	ip netns exec vmgb-gw sh -c 'echo 1 > /sys/class/net/vmgb-gw0/threaded' || return 1
}

# The NAPI thread of vmgb-gw0, by its name: napi/vmgb-gw0-<id>
napi_pid() {
	local d
	for d in /proc/[0-9]*; do
		case "$(cat "$d/comm" 2>/dev/null)" in
		napi/vmgb-gw0-*) echo "${d#/proc/}"; return 0 ;;
		esac
	done
	return 1
}

site=$1 csv=$2 seconds=$3 runs=$4
trap wire_down EXIT
wire_up || { echo "wire: failed to build the namespaces" >&2; exit 1; }
pid=$(napi_pid) || { echo "wire: no NAPI thread for vmgb-gw0" >&2; exit 1; }
taskset -p -c "$RX_CPU" "$pid" >/dev/null || exit 1
for family in 4 6; do
	"$BENCH/bench_wire" run --gw vmgb-gw --tx vmgb-tx --rx-if vmgb-gw0 --tx-if vmgb-tx0 \
		--out-if vmgb-out0 --napi-pid "$pid" --site "$site" --family "$family" \
		--seconds "$seconds" --runs "$runs" --tx-cpu "$TX_CPU" \
		--xmit "$BENCH/xmit.bpf.o" --csv "$csv" || exit 1
done
