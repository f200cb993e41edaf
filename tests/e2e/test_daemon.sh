#!/bin/bash
# End to end: the daemon attached in the gateway namespace of the demo site,
# real TCP and UDP through it, reloads, a crash, drift repair, metrics.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

VMSGATE=$PWD/build/vmsgate
work=$(mktemp -d)
policy=$work/site.yaml
log=$work/daemon.log
cp policies/examples/demo-site.yaml "$policy"

cleanup() {
	stop_daemon
	gw "$VMSGATE" detach >/dev/null 2>&1
	topo_down
	pins_down
	rm -rf "$work"
}
trap cleanup EXIT

if ! topo_up; then
	echo "FAIL: cannot create the network namespaces of the demo site"
	exit 1
fi
pins_setup vmsgate-e2e || { echo "FAIL: cannot mount a bpffs for the pins"; exit 1; }
gw "$VMSGATE" detach >/dev/null 2>&1

# ---- start ----
expect "daemon starts on the demo site" start_daemon "$policy" "$log"
for i in srv cam cli; do
	expect "attached to gw-$i" grep -q "attached to gw-$i in native mode" "$log"
done

serve_tcp srv 10.10.0.11 7563
serve_tcp srv 10.10.0.5 1433
serve_tcp srv 10.10.0.11 8966
serve_tcp cam 10.20.0.50 554
serve_udp srv 10.10.0.11 9999 "$work/udp-9999"
serve_udp srv 10.10.0.11 65101 "$work/udp-65101"
wait_for_port srv 10.10.0.11 7563
wait_for_port cam 10.20.0.50 554
sleep 0.2

# ---- allowed and forbidden connections ----
expect "smart client reaches recording server 7563/tcp" try_tcp cli 10.30.0.20 10.10.0.11 7563
expect "recording server pulls RTSP 554/tcp from a camera" try_tcp srv 10.10.0.11 10.20.0.50 554
expect_not "camera cannot reach recording server 7563/tcp" try_tcp cam 10.20.0.50 10.10.0.11 7563
expect_not "smart client cannot reach SQL 1433/tcp" try_tcp cli 10.30.0.20 10.10.0.5 1433
expect_not "tray-icon port 8966/tcp is local only" try_tcp cli 10.30.0.20 10.10.0.11 8966

# ---- counters, exactly: UDP datagrams are counted one for one ----
before_port=$(counter port_not_allowed drop)
before_local=$(counter local_only drop)
udp_burst cam 10.20.0.50 10.10.0.11 9999 7
udp_burst cli 10.30.0.20 10.10.0.11 65101 5
sleep 0.5
expect_eq "7 datagrams to a closed UDP port dropped as port_not_allowed" \
	$((before_port + 7)) "$(counter port_not_allowed drop)"
expect_eq "5 datagrams to local-only 65101/udp dropped as local_only" \
	$((before_local + 5)) "$(counter local_only drop)"
expect_eq "no dropped datagram reached the server" 0 \
	"$(cat "$work/udp-9999" "$work/udp-65101" 2>/dev/null | wc -l)"

# ---- the stream comes back: 2 MB from a camera ----
ip netns exec vmg-cam socat TCP-LISTEN:8554,bind=10.20.0.51,reuseaddr \
	SYSTEM:'head -c 2000000 /dev/zero' >/dev/null 2>&1 &
VMG_PIDS+=($!)
cat >>"$policy" <<'EXTRA'
extra:
  - { from: [recording-server], to: devices, proto: tcp, ports: "8554",
      purpose: "RTSP on an alternate port" }
  - { from: [smart-client], to: recording-server, proto: tcp, ports: "7600" }
EXTRA
expect "reload with a new flow succeeds" gw "$VMSGATE" reload
wait_for_port cam 10.20.0.51 8554
got=$(ip netns exec vmg-srv timeout 10 socat -u TCP:10.20.0.51:8554,bind=10.10.0.11 - |
	wc -c)
expect_eq "recording server receives the whole 2 MB stream from the camera" 2000000 "$got"
expect "replies counted as return" test "$(counter return pass)" -gt 0

# ---- a long-lived connection survives ten reloads ----
drops_before=$(gw "$VMSGATE" stats | awk 'NR > 1 && NF == 4 { s += $3 } END { print s }')
( ip netns exec vmg-srv socat -u TCP-LISTEN:7600,bind=10.10.0.11,reuseaddr - 2>/dev/null |
	wc -c >"$work/long.out" ) &
receiver=$!
wait_for_port srv 10.10.0.11 7600
( for i in $(seq 40); do head -c 50000 /dev/zero; sleep 0.05; done ) |
	ip netns exec vmg-cli socat -u - TCP:10.10.0.11:7600,bind=10.30.0.20 &
sender=$!
reloads=0
for i in $(seq 10); do
	gw "$VMSGATE" reload >/dev/null && reloads=$((reloads + 1))
	sleep 0.1
done
wait $sender
wait $receiver
expect_eq "ten reloads while the connection was sending" 10 "$reloads"
expect_eq "all 2,000,000 bytes arrived across the reloads" 2000000 "$(tr -d ' ' <"$work/long.out")"
drops_after=$(gw "$VMSGATE" stats | awk 'NR > 1 && NF == 4 { s += $3 } END { print s }')
expect_eq "no packet dropped during the reloads" "$drops_before" "$drops_after"

# ---- a bad reload keeps the running policy ----
cp "$policy" "$work/good.yaml"
printf 'hosts:\n  devices: [10.20.0.300]\n' >>"$policy"
out=$(gw "$VMSGATE" reload 2>&1)
rc=$?
expect_eq "bad reload exits 1" 1 "$rc"
expect "bad reload names FILE:LINE:COL" grep -qE "site.yaml:[0-9]+:[0-9]+: error: " <<<"$out"
expect "policy still enforced after a bad reload" try_tcp cli 10.30.0.20 10.10.0.11 7563
expect_not "and still forbids after a bad reload" try_tcp cam 10.20.0.50 10.10.0.11 7563
cp "$work/good.yaml" "$policy"

# ---- metrics over HTTP ----
gw curl -sf http://127.0.0.1:9740/metrics >"$work/metrics.txt"
expect "metrics page served" test -s "$work/metrics.txt"
if command -v promtool >/dev/null; then
	expect "promtool accepts the metrics page" promtool check metrics <"$work/metrics.txt"
else
	echo "SKIP: promtool check (promtool not installed)"
fi
expect "metrics count the failed reload" \
	grep -q '^vmsgate_reloads_total{result="failure"} 1$' "$work/metrics.txt"
expect "metrics show the attached interfaces" \
	grep -q '^vmsgate_interface_attached{interface="gw-cam",mode="native"} 1$' \
	"$work/metrics.txt"

# ---- nftables: sets hold the policy, drift is repaired ----
els=$(gw nft -j list set inet vmsgate recording_server_v4 | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
s = [x["set"] for x in d["nftables"] if "set" in x][0]
def show(e):
    if isinstance(e, dict) and "range" in e:
        return "-".join(e["range"])
    if isinstance(e, dict) and "prefix" in e:
        return "%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"])
    return str(e)
print(" ".join(sorted(show(e) for e in s.get("elem", []))))')
expect_eq "nft set recording_server_v4 holds the recording servers" "10.10.0.11-10.10.0.12" "$els"
els=$(gw nft -j list set inet vmsgate devices_v4 | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
s = [x["set"] for x in d["nftables"] if "set" in x][0]
e = s["elem"][0]
print("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"]) if "prefix" in e else e)')
expect_eq "nft set devices_v4 holds the camera subnet" "10.20.0.0/24" "$els"
gw nft delete table inet vmsgate
for i in $(seq 50); do
	gw nft list table inet vmsgate >/dev/null 2>&1 && break
	sleep 0.1
done
expect "nft table deleted by hand is put back" gw nft list table inet vmsgate

# ---- kill -9: enforcement stays, a restart adopts ----
stop_daemon -KILL
expect_not "after kill -9 a camera still cannot reach 7563" try_tcp cam 10.20.0.50 10.10.0.11 7563
expect "after kill -9 allowed traffic still flows" try_tcp cli 10.30.0.20 10.10.0.11 7563
before=$(wc -l <"$work/udp-9999" 2>/dev/null || echo 0)
( for i in $(seq 30); do udp_burst cam 10.20.0.50 10.10.0.11 9999 1; sleep 0.05; done ) &
burst=$!
expect "restarted daemon starts" start_daemon "$policy" "$log"
wait $burst
expect "restart adopted the pinned data plane" grep -q "adopted the pinned data plane" "$log"
expect_eq "no forbidden datagram passed during the restart" "$before" \
	"$(wc -l <"$work/udp-9999" 2>/dev/null || echo 0)"

# ---- an interface that vanishes and comes back is attached again ----
ip -n vmg-gw link del gw-cam
ip link add gw-cam netns vmg-gw type veth peer name eth0 netns vmg-cam
gw ip addr add 10.20.0.1/24 dev gw-cam
gw ip link set gw-cam up
ip -n vmg-cam addr add 10.20.0.50/24 dev eth0
ip -n vmg-cam link set eth0 up
ip -n vmg-cam route add default via 10.20.0.1
for i in $(seq 50); do
	grep -q "gw-cam is back" "$log" && break
	sleep 0.1
done
expect "gw-cam attached again after it came back" grep -q "gw-cam is back" "$log"
serve_tcp cam 10.20.0.50 554
wait_for_port cam 10.20.0.50 554
expect_not "camera traffic judged again on the new gw-cam" try_tcp cam 10.20.0.50 10.10.0.11 7563
expect "and allowed camera traffic flows again" try_tcp srv 10.10.0.11 10.20.0.50 554

# ---- detach refuses while running, then removes everything ----
expect_not "detach refuses while the daemon runs" gw "$VMSGATE" detach
stop_daemon

# ---- pins of another ABI version are refused, nothing changed ----
for slot in 0 1; do
	bpftool map update pinned "$VMSGATE_PIN_DIR/vmg_config" key "$slot" 0 0 0 \
		value 99 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
done
out=$(gw "$VMSGATE" run -c "$policy" 2>&1)
expect_eq "a daemon facing pins of another ABI exits 1" 1 "$?"
abi=$(sed -n 's/^#define VMG_ABI_VERSION \([0-9]*\)$/\1/p' include/vmsgate_abi.h)
expect "and says which ABI and what to do" \
	grep -q "are of another vmsgate version (ABI 99, this one speaks $abi); run 'vmsgate detach'" \
	<<<"$out"
expect "detach removes program, pins and table" gw "$VMSGATE" detach
expect_not "no nft table after detach" gw nft list table inet vmsgate
expect_not "no pins after detach" test -e "$VMSGATE_PIN_DIR"

# ---- the systemd unit ----
sed "s|/usr/local/sbin/vmsgate|$VMSGATE|g" systemd/vmsgate.service >"$work/vmsgate.service"
if command -v systemd-analyze >/dev/null; then
	expect "systemd-analyze verify accepts the unit" \
		systemd-analyze verify "$work/vmsgate.service"
else
	echo "SKIP: systemd unit check (systemd-analyze not installed)"
fi

e2e_finish
