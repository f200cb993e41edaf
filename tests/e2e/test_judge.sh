#!/bin/bash
# vmsgate explain and replay: the real program, loaded privately, judging
# synthesized packets and a capture written by scapy.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

VMSGATE=$PWD/build/vmsgate
DEMO=policies/examples/demo-site.yaml
LARGE=policies/examples/large-site.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# explain POLICY FROM TO [FLAGS] -> the verdict line
verdict() {
	"$VMSGATE" explain -c "$1" --from "$2" --to "$3" ${4:+--flags "$4"} 2>&1 |
		sed -n 's/^verdict: //p'
}

expect_eq "explain: smart client to recording server 7563" "pass (allowed)" \
	"$(verdict $DEMO 10.30.0.20 10.10.0.11:7563/tcp)"
expect_eq "explain: camera to recording server 7563" "drop (src_not_allowed)" \
	"$(verdict $DEMO 10.20.0.50 10.10.0.11:7563/tcp)"
expect_eq "explain: tray-icon port is local only" "drop (local_only)" \
	"$(verdict $DEMO 10.30.0.20 10.10.0.11:8966/tcp)"
expect_eq "explain: a port no flow opens" "drop (port_not_allowed)" \
	"$(verdict $DEMO 10.30.0.20 10.10.0.5:22/tcp)"
expect_eq "explain: camera's RTSP reply (SYN-ACK) is a return" "pass (return)" \
	"$(verdict $DEMO 10.20.0.50:554 10.10.0.11:40000/tcp SA)"
expect_eq "explain: a bare SYN from port 554 is not a return" "drop (port_not_allowed)" \
	"$(verdict $DEMO 10.20.0.50:554 10.10.0.11:40000/tcp S)"
expect_eq "explain: an address in no role" "pass (unlisted)" \
	"$(verdict $DEMO 10.30.0.20 192.0.2.1:443/tcp)"
expect_eq "explain: ICMP errors-only refuses echo" "drop (icmp)" \
	"$(verdict $DEMO 10.30.0.20 10.10.0.5/icmp)"
expect_eq "explain: IPv6 smart client to a recording server" "pass (allowed)" \
	"$(verdict $LARGE fd00:70::5 '[fd00:50:1::9]:7563/tcp')"
expect_eq "explain: IPv6 camera RTP in the site range" "pass (allowed)" \
	"$(verdict $LARGE fd00:60::7 '[fd00:50:2::1]:50999/udp')"
expect_eq "explain: just past the site range" "drop (port_not_allowed)" \
	"$(verdict $LARGE fd00:60::7 '[fd00:50:2::1]:51000/udp')"
out=$("$VMSGATE" explain -c $DEMO --from 10.30.0.20 --to 10.10.0.11:7563/tcp)
expect "explain names the purpose of the rule" grep -q "^purpose: Retrieving video" <<<"$out"

# `any` names sources only: it opens nothing on listed hosts, and under
# unlisted_destinations: drop only the replies of allowed flows reach it
cat >"$work/any.yaml" <<'YAML'
unlisted_destinations: drop
hosts:
  sql-server: [10.0.0.5]
  api-gateway: [10.0.0.40]
  mobile-server: [10.0.0.20]
  mobile-client: [any]
  management-client: [any]
YAML
expect_eq "any: a flow to an any-role opens nothing on the SQL server" "drop (port_not_allowed)" \
	"$(verdict "$work/any.yaml" 10.0.0.40 10.0.0.5:22332/tcp)"
expect_eq "any: a mobile client anywhere reaches the mobile server" "pass (allowed)" \
	"$(verdict "$work/any.yaml" 203.0.113.9 10.0.0.20:8081/tcp)"
expect_eq "any: the mobile server's reply reaches it under unlisted drop" "pass (return)" \
	"$(verdict "$work/any.yaml" 10.0.0.20:8081 203.0.113.9:50000/tcp SA)"
expect_eq "any: but a new connection to that address is unlisted" "drop (unlisted)" \
	"$(verdict "$work/any.yaml" 10.0.0.20:50000 203.0.113.9:8081/tcp S)"

# a policy too big for the maps: check refuses it as run would, in one line
printf 'hosts:\n  devices: [10.0.0.0/8]\n  recording-server: [10.1.0.0/16]\nextra:\n' \
	>"$work/big.yaml"
for flow in "devices recording-server" "recording-server devices"; do
	for proto in tcp udp; do
		set -- $flow
		printf '  - { from: [%s], to: %s, proto: %s, ports: "1-65535" }\n' "$1" "$2" "$proto"
	done
done >>"$work/big.yaml"
out=$("$VMSGATE" check -q -c "$work/big.yaml" 2>&1)
expect_eq "check refuses a policy too big for the maps" 1 "$?"
expect_eq "in one line" 1 "$(wc -l <<<"$out")"
expect "naming the file, the map and the sizes" grep -qE \
	"^$work/big.yaml: error: policy does not fit map vmg_ports: [0-9]+ entries, capacity 262144; " \
	<<<"$out"

printf 'hosts:\n  devices: [10.0.0.0/40]\n' >"$work/bad.yaml"
out=$("$VMSGATE" explain -c "$work/bad.yaml" --from 10.0.0.1 --to 10.0.0.2:80/tcp 2>&1)
expect_eq "explain with a bad policy exits 1" 1 "$?"
expect "and names FILE:LINE:COL" grep -q "bad.yaml:2:13: error: " <<<"$out"
"$VMSGATE" explain -c $DEMO --from 10.0.0.1 --to 10.0.0.2/sctp >/dev/null 2>&1
expect_eq "explain with a bad --to exits 2" 2 "$?"

# ---- replay a capture ----
/usr/bin/python3 - "$work/site.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ARP, Dot1Q, wrpcap
e = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
pkts = [
    e / IP(src="10.30.0.20", dst="10.10.0.11") / TCP(sport=40000, dport=7563, flags="S"),
    e / IP(src="10.20.0.50", dst="10.10.0.11") / TCP(sport=40000, dport=7563, flags="S"),
    e / IP(src="10.20.0.50", dst="10.10.0.11") / TCP(sport=554, dport=40000, flags="SA"),
    e / IP(src="10.30.0.20", dst="10.10.0.11") / TCP(sport=40000, dport=8966, flags="S"),
    e / ARP(pdst="10.10.0.11"),
    e / Dot1Q(vlan=20) / IP(src="10.30.0.20", dst="10.10.0.5") / TCP(dport=12345, flags="S"),
    e / IP(src="10.30.0.20", dst="10.10.0.11", ihl=4) / TCP(dport=7563),
    e / IP(src="10.30.0.20", dst="10.10.0.5") / UDP(sport=5000, dport=1434),
    e / IP(src="10.30.0.20", dst="10.10.0.11", proto=6, frag=10, id=7) / (b"x" * 16),
]
wrpcap(sys.argv[1], pkts)
PY
"$VMSGATE" replay -c $DEMO "$work/site.pcap" --json >"$work/replay.json" 2>"$work/replay.err"
expect_eq "replay exits 0" 0 "$?"
got=$(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    print("%d:%s:%s" % (o["index"], o["verdict"], o["reason"]))' "$work/replay.json" | tr '\n' ' ')
expect_eq "replay judges each packet of the capture" \
	"1:pass:allowed 2:drop:src_not_allowed 3:pass:return 4:drop:local_only 5:pass:bypass 6:pass:allowed 7:drop:malformed 8:drop:port_not_allowed 9:drop:fragment " \
	"$got"
expect "replay names a later fragment as one, without ports" \
	grep -q '"index":9,.*"packet":"tcp 10.30.0.20 > 10.10.0.11 fragment"' "$work/replay.json"
"$VMSGATE" replay -c $DEMO "$work/site.pcap" >"$work/replay.txt"
expect "replay's table ends with a summary by reason" \
	grep -qE '^src_not_allowed +0 +1 +0$' "$work/replay.txt"
"$VMSGATE" replay -c $DEMO "$work/missing.pcap" >/dev/null 2>"$work/err"
expect_eq "replay of a missing capture exits 1" 1 "$?"
expect "and names the file" grep -q "missing.pcap: error: cannot read capture" "$work/err"

e2e_finish
