#!/bin/bash
# make demo: the demo site in network namespaces, vmsgate on its gateway,
# real connections allowed and refused by the kernel, then the counters.
set -u
cd "$(dirname "$0")/.."
. tests/e2e/lib.sh

VMSGATE=$PWD/build/vmsgate
POLICY=policies/examples/demo-site.yaml
work=$(mktemp -d)

cleanup() {
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	[ -n "${monitor:-}" ] && kill "$monitor" 2>/dev/null
	gw "$VMSGATE" detach >/dev/null 2>&1
	topo_down
	pins_down
	rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it builds network namespaces and loads XDP" >&2
	exit 1
fi

echo "== the demo site: $POLICY"
"$VMSGATE" check -q -c "$POLICY" || exit 1
topo_up || { echo "failed to build the namespaces" >&2; exit 1; }
pins_setup vmsgate-demo || { echo "failed to mount a bpffs for the pins" >&2; exit 1; }

echo "== vmsgate run on the gateway (XDP on gw-srv, gw-cam, gw-cli)"
ip netns exec vmg-gw "$VMSGATE" run -c "$POLICY" >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 50); do
	grep -q enforcing "$work/daemon.log" && break
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q enforcing "$work/daemon.log"; then
	cat "$work/daemon.log"
	echo "vmsgate did not start" >&2
	exit 1
fi
sed 's/^/   /' "$work/daemon.log"
ip netns exec vmg-gw "$VMSGATE" monitor --json >"$work/events.json" 2>/dev/null &
monitor=$!

# listeners: what the servers, cameras and clients run
serve_tcp srv 10.10.0.11 7563		# recording server: video to clients
serve_tcp srv 10.10.0.5 12345		# management server: Smart Client
serve_tcp srv 10.10.0.5 1433		# SQL server
serve_tcp srv 10.10.0.11 8966		# recording server tray icon (local only)
serve_tcp srv 10.10.0.20 8081		# mobile server
serve_tcp cam 10.20.0.50 554		# camera RTSP
serve_tcp cam 10.20.0.50 23		# camera telnet
serve_tcp cli 10.30.0.20 3389		# a workstation's remote desktop
wait_for_port cli 10.30.0.20 3389
sleep 0.3

#	from-net source destination port what
attempts=(
	"cli 10.30.0.20 10.10.0.11 7563 Smart Client pulls video from a recording server"
	"cli 10.30.0.20 10.10.0.5 12345 Smart Client talks to the management server"
	"cli 10.30.0.10 10.10.0.20 8081 Management Client reaches the mobile server"
	"srv 10.10.0.11 10.20.0.50 554 recording server pulls RTSP from a camera"
	"cli 10.30.0.20 10.10.0.5 1433 Smart Client tries the SQL server"
	"cli 10.30.0.20 10.10.0.11 8966 Smart Client tries the tray-icon port"
	"cam 10.20.0.50 10.10.0.11 7563 camera tries the client video port"
	"cam 10.20.0.50 10.30.0.20 3389 camera tries a workstation's desktop"
	"cli 10.30.0.20 10.20.0.50 23 workstation tries telnet on a camera"
)

echo
echo "== connections through the gateway"
printf '%-50s %-29s %-10s %s\n' "WHAT" "FLOW" "RESULT" "REASON"
for a in "${attempts[@]}"; do
	read -r net src dst port what <<<"$a"
	if try_tcp "$net" "$src" "$dst" "$port"; then
		result=connected
		# the SYN's verdict, from the same program and policy run privately
		reason=$("$VMSGATE" explain -c "$POLICY" --from "$src" --to "$dst:$port/tcp" |
			sed -n 's/^verdict: pass (\(.*\))$/\1/p')
	else
		result=blocked
		sleep 0.2
		reason=$(grep "\"src\":\"$src\"" "$work/events.json" |
			grep "\"dst\":\"$dst\",\"dport\":$port," | tail -n1 |
			sed -n 's/.*"reason":"\([a-z_]*\)".*/\1/p')
	fi
	printf '%-50s %-29s %-10s %s\n' "$what" "$src > $dst:$port" "$result" "${reason:--}"
done

echo
echo "== vmsgate stats"
gw "$VMSGATE" stats | awk 'NR == 1 || $2 + $3 + $4 > 0 || /ROLE/ || NF == 3'

echo
echo "== a few lines of http://127.0.0.1:9740/metrics"
gw curl -s http://127.0.0.1:9740/metrics |
	grep -E '^vmsgate_(packets_total\{reason="(allowed|return|src_not_allowed|local_only|port_not_allowed)",action="(pass|drop)"|policy_generation|interface_attached)' |
	grep -v ' 0$' | head -n 12

echo
echo "== nftables holds the same policy (table inet vmsgate, first rules)"
gw nft list chain inet vmsgate forward 2>/dev/null | sed -n '1,8p'
echo
echo "demo done: namespaces, program, pins and table are removed on exit"
