#!/bin/bash
# End to end: table inet vmsgate brought to a policy and kept there, in a
# network namespace of its own, through tests/e2e/nft_driver (the API, no
# daemon). Sets are compared with what `vmsgate compile --json` says, rule
# encodings with what nft makes of the same rules, and the kernel's table
# is checked after every change made by hand.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

skip() { echo "SKIP: $*"; }

PY=/usr/bin/python3
NS=vmg-nft-$$
REF=vmg-nftref-$$
VMSGATE=$PWD/build/vmsgate
DRIVER=$PWD/build/tests/nft_driver
export VMSGATE_CATALOG_DIR=$PWD/policies
work=$(mktemp -d)

cleanup() {
	ip netns del "$NS" 2>/dev/null
	ip netns del "$REF" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	skip "nftables end to end (needs root)"
	exit 0
fi
for tool in ip nft "$PY"; do
	if ! command -v "$tool" >/dev/null; then
		skip "nftables end to end ($tool is not installed)"
		exit 0
	fi
done
make -s --no-print-directory build/vmsgate >/dev/null 2>&1
make -s --no-print-directory build/tests/nft_driver >/dev/null 2>&1
for bin in "$VMSGATE" "$DRIVER"; do
	if [ ! -x "$bin" ]; then
		echo "FAIL: $bin is not built"
		exit 1
	fi
done
if ! ip netns add "$NS" || ! ip netns add "$REF"; then
	echo "FAIL: cannot create network namespaces $NS and $REF"
	exit 1
fi

in_ns() { ip netns exec "$NS" "$@"; }
drv() { in_ns "$DRIVER" "$@" 2>>"$work/driver.log"; }
# field NAME LINE: the value of NAME=... in a line of the driver's output
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }
# the ruleset, counters zeroed
listing() { in_ns nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'; }
# the ruleset as JSON with sets in name order: what two tables are compared by
canon() {
	in_ns nft -j list ruleset >"$work/canon.json" && "$PY" "$work/check.py" canon "$work/canon.json"
}

cat >"$work/check.py" <<'EOF'
import ipaddress, json, random, sys

def nets(elem):
    if isinstance(elem, str):
        return [ipaddress.ip_network(elem)]
    if "prefix" in elem:
        p = elem["prefix"]
        return [ipaddress.ip_network("%s/%d" % (p["addr"], p["len"]))]
    lo, hi = (ipaddress.ip_address(a) for a in elem["range"])
    return list(ipaddress.summarize_address_range(lo, hi))

def nft_sets(path):
    out = {}
    for obj in json.load(open(path))["nftables"]:
        s = obj.get("set")
        if s:
            out[s["name"]] = [n for e in s.get("elem", []) for n in nets(e)]
    return out

def collapse(ns):
    return sorted(ipaddress.collapse_addresses(ns), key=lambda n: (n.version, n))

def want_sets(path):
    """Per role and family, every address whose roles name the role."""
    want = {}
    for a in json.load(open(path))["addresses"]:
        n = ipaddress.ip_network(a["address"])
        fam = "v4" if n.version == 4 else "v6"
        names = [r.replace("-", "_") for r in a["roles"]]
        if a["protected"]:
            names.append("protected")
        for name in names:
            want.setdefault("%s_%s" % (name, fam), []).append(n)
    return want

def cmd_sets(compiled, listed):
    want, got = want_sets(compiled), nft_sets(listed)
    bad = []
    for name in sorted(set(want) | set(got)):
        w, g = collapse(want.get(name, [])), collapse(got.get(name, []))
        if name not in got or name not in want or w != g:
            bad.append("%s: want %s, got %s" % (name, [str(x) for x in w][:4],
                                                 [str(x) for x in g][:4]))
    print("\n".join(bad))
    return 1 if bad else 0

def cmd_diff(before, after):
    """Addresses that came and went, per set: 'set +a -b'."""
    a, b = nft_sets(before), nft_sets(after)
    out = []
    for name in sorted(set(a) | set(b)):
        x = {str(n) for n in a.get(name, [])}
        y = {str(n) for n in b.get(name, [])}
        if x != y:
            out.append("%s %s %s" % (name, " ".join("+" + s for s in sorted(y - x)),
                                     " ".join("-" + s for s in sorted(x - y))))
    print("; ".join(out))
    return 0

def cmd_canon(listed):
    """The table with sets in name order, handles and counter values left out."""
    out = []
    for obj in json.load(open(listed))["nftables"]:
        kind, body = next(iter(obj.items()))
        if kind == "metainfo":
            continue
        body.pop("handle", None)
        if kind == "set":
            body["elem"] = [str(n) for e in body.get("elem", []) for n in nets(e)]
        for e in body.get("expr", []):
            if "counter" in e:
                e["counter"] = None
        out.append((kind != "rule", kind + " " + json.dumps(body, sort_keys=True)))
    # sets and chains in any order, rules in theirs
    print("\n".join(t for _, t in sorted(o for o in out if o[0]) +
                    [o for o in out if not o[0]]))
    return 0

def cmd_count(listed, name):
    print(sum(n.num_addresses for n in nft_sets(listed).get(name, [])))
    return 0

BASE = """catalog: xprotect
unlisted_destinations: drop
hosts:
  management-server: [10.10.0.5]
  mobile-server: [10.10.0.20, "fd00:10::20"]
  smart-client: [10.30.0.0/24, "fd00:30::/64"]
  management-client: [10.30.0.10]
  mobile-client: [any]
"""

def cmd_site(path, recording):
    """The base site with the given recording servers."""
    open(path, "w").write(BASE + "  recording-server: [%s]\n" % recording +
                          "  devices: [10.20.0.0/24]\n")
    return 0

def cmd_random(outdir, count, seed):
    """Sites whose addresses overlap, nest, touch and move between reloads."""
    rnd = random.Random(int(seed))
    roles = ["recording-server", "devices", "smart-client", "mobile-server"]
    for i in range(int(count)):
        text = "catalog: xprotect\nunlisted_destinations: %s\nhosts:\n" % \
               rnd.choice(["pass", "drop"])
        text += "  management-server: [10.10.0.5]\n"
        for role in roles:
            addrs = []
            for _ in range(rnd.randint(1, 6)):
                if rnd.random() < 0.8:
                    plen = rnd.choice([32, 32, 32, 31, 30, 29, 28, 26, 24])
                    a = ipaddress.ip_address("10.10.0.0") + rnd.randrange(256)
                    addrs.append(str(ipaddress.ip_network("%s/%d" % (a, plen),
                                                          strict=False)))
                else:
                    plen = rnd.choice([128, 127, 126, 120, 64])
                    a = ipaddress.ip_address("fd00::") + rnd.randrange(256)
                    addrs.append('"%s"' % ipaddress.ip_network("%s/%d" % (a, plen),
                                                               strict=False))
            if rnd.random() < 0.05:
                addrs.append("255.255.255.255")
            text += "  %s: [%s]\n" % (role, ", ".join(addrs))
        open("%s/r%02d.yaml" % (outdir, i), "w").write(text)
    return 0

def cmd_big(path, count, first):
    """count /32 devices, every other address from first: none coalesce."""
    base = int(ipaddress.ip_address(first))
    lines = ["    - %s\n" % ipaddress.ip_address(base + 2 * i) for i in range(int(count))]
    open(path, "w").write(BASE + "  recording-server: [10.10.0.11]\n  devices:\n" +
                          "".join(lines))
    return 0

sys.exit(globals()["cmd_" + sys.argv[1]](*sys.argv[2:]))
EOF
check() { "$PY" "$work/check.py" "$@"; }

# sets_match NAME POLICY: every set holds what `vmsgate compile --json` says
sets_match() {
	local bad
	"$VMSGATE" compile --json -c "$2" >"$work/compiled.json" 2>/dev/null
	in_ns nft -j list table inet vmsgate >"$work/listed.json"
	if bad=$(check sets "$work/compiled.json" "$work/listed.json"); then
		pass "$1"
	else
		fail "$1: $bad"
	fi
}

check site "$work/a.yaml" "10.10.0.11, 10.10.0.13, 10.10.0.15, \"fd00:10::11\""
check site "$work/b.yaml" "10.10.0.11, 10.10.0.15, 10.10.0.17, \"fd00:10::11\""

# ---- a first apply creates the whole table ----
out=$(drv apply "$work/a.yaml")
expect_eq "first apply sends a transaction" 1 "$(field changed "$out")"
sets_match "after apply, every set holds the policy's addresses" "$work/a.yaml"
"$DRIVER" print "$work/a.yaml" 2>/dev/null | sed -n '/chain forward/,/^\t}/p' |
	sed '1,2d;$d;s/^\t\t//' >"$work/want-rules"
in_ns nft list chain inet vmsgate forward | sed -n '/^\t\t[a-z]/p' |
	sed 's/^\t\t//;/^type filter/d;s/counter packets [0-9]* bytes [0-9]*/counter/' \
	>"$work/got-rules"
if cmp -s "$work/want-rules" "$work/got-rules"; then
	pass "chain forward lists the $(wc -l <"$work/got-rules") rules in order"
else
	fail "chain forward lists other rules: $(diff "$work/want-rules" "$work/got-rules" |
		head -3 | tr '\n' ' ')"
fi
expect_eq "chain forward starts with established,related" \
	"ct state established,related accept" "$(head -n1 "$work/got-rules")"
expect_eq "chain forward ends with the unlisted drop" "counter drop" \
	"$(tail -n1 "$work/got-rules")"
accepts=$(grep -c ' accept$\| accept comment' "$work/got-rules")
comments=$(grep -c ' accept comment "[^"]\+"$' "$work/got-rules")
expect_eq "every flow rule carries its purpose as a comment" "$((accepts - 1))" "$comments"
flow='ip saddr @smart_client_v4 ip daddr @recording_server_v4 tcp dport 7563 accept'
flow6='ip6 saddr @smart_client_v6 ip6 daddr @recording_server_v6 tcp dport 7563 accept'
purpose='Retrieving video and audio streams and sending PTZ commands.'
expect "a flow rule reads as nft syntax" grep -qx "$flow comment \"$purpose\"" "$work/got-rules"
expect "an IPv6 flow rule reads as nft syntax" grep -q "^$flow6" "$work/got-rules"

# the same rules loaded by nft itself encode to the same expressions
"$DRIVER" print "$work/a.yaml" >"$work/a.nft" 2>/dev/null
ip netns exec "$REF" nft -f "$work/a.nft"
# (nft puts an extra element at 0.0.0.0 in interval sets: only rules are compared)
in_ns nft --debug=netlink list chain inet vmsgate forward 2>&1 |
	sed -n '/^inet vmsgate forward/,$p' >"$work/ours.dbg"
ip netns exec "$REF" nft --debug=netlink list chain inet vmsgate forward 2>&1 |
	sed -n '/^inet vmsgate forward/,$p' >"$work/nfts.dbg"
if cmp -s "$work/ours.dbg" "$work/nfts.dbg" && [ -s "$work/ours.dbg" ]; then
	pass "rule expressions are byte for byte what nft encodes for the same text"
else
	fail "rule expressions differ from nft's: $(diff "$work/ours.dbg" "$work/nfts.dbg" |
		head -4 | tr '\n' ' ')"
fi
expect_eq "nft lists our table as it lists its own load of the printed table" \
	"$(ip netns exec "$REF" nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/')" \
	"$(listing)"

# ---- an unchanged reload sends nothing ----
listing >"$work/before"
in_ns nft -a list ruleset >"$work/before-handles"
out=$(drv apply "$work/a.yaml")
expect_eq "second apply of the same policy sends nothing" "changed=0 batches=0" \
	"changed=$(field changed "$out") batches=$(field batches "$out")"
in_ns nft -a list ruleset >"$work/after-handles"
expect "nft list is byte-identical after the second apply" \
	cmp -s "$work/before-handles" "$work/after-handles"

# ---- one address added, one removed: only those elements ----
in_ns nft -j list table inet vmsgate >"$work/a.json"
out=$(drv apply "$work/b.yaml")
in_ns nft -j list table inet vmsgate >"$work/b.json"
expect_eq "a changed policy changes only its elements" \
	"added=4 removed=4 rules=0 batches=1" \
	"$(grep -o 'added=.* batches=[0-9]*' <<<"$out")"
expect_eq "exactly 10.10.0.13 left and 10.10.0.17 came, in both sets that hold them" \
	"protected_v4 +10.10.0.17/32 -10.10.0.13/32; recording_server_v4 +10.10.0.17/32 -10.10.0.13/32" \
	"$(check diff "$work/a.json" "$work/b.json")"
in_ns nft -a list ruleset | sed -n '/chain forward/,/^\t}/p' >"$work/b-handles"
sed -n '/chain forward/,/^\t}/p' "$work/before-handles" >"$work/a-handles"
expect "rules keep their handles when only elements change" \
	cmp -s "$work/a-handles" "$work/b-handles"
sets_match "after the change, every set holds the new policy's addresses" "$work/b.yaml"
canon >"$work/ref"

# ---- changes made by hand are seen and put back ----
# by_hand NAME CMD...: run CMD in the namespace, then check sees it, repair
# puts the table back as it was, and check finds it in step
by_hand() {
	local name=$1 drift repaired after
	shift
	in_ns "$@" || { fail "$name: the change by hand failed"; return; }
	drift=$(drv check "$work/b.yaml")
	repaired=$(drv repair "$work/b.yaml")
	after=$(drv check "$work/b.yaml")
	expect_eq "$name: seen, repaired, in step" "drift=1 repaired=1 drift=0" \
		"$drift $repaired $after"
	expect_eq "$name: the table is back as it was" "$(cat "$work/ref")" "$(canon)"
}
by_hand "table deleted by hand" nft delete table inet vmsgate
by_hand "element deleted by hand" \
	nft delete element inet vmsgate recording_server_v4 '{ 10.10.0.15 }'
by_hand "element added by hand" nft add element inet vmsgate devices_v4 '{ 10.99.0.0/16 }'
by_hand "rule inserted by hand" nft insert rule inet vmsgate forward ip saddr 192.0.2.1 accept
by_hand "chain flushed by hand" nft flush chain inet vmsgate forward
by_hand "chain policy set to drop by hand" nft add chain inet vmsgate forward \
	'{ type filter hook forward priority 0; policy drop; }'
by_hand "table set dormant by hand" nft add table inet vmsgate '{ flags dormant; }'
by_hand "set replaced by one of another type" sh -c "nft flush chain inet vmsgate forward &&
	nft delete set inet vmsgate devices_v4 &&
	nft add set inet vmsgate devices_v4 '{ type ipv4_addr; }'"
by_hand "chain and set added by hand" sh -c "nft add set inet vmsgate extra '{ type ipv4_addr; }' &&
	nft add chain inet vmsgate other && nft add rule inet vmsgate other ip saddr @extra drop &&
	nft add rule inet vmsgate forward jump other"
out=$(drv repair "$work/b.yaml")
expect_eq "repair of a table in step sends nothing" "repaired=0" "$out"

# ---- events: ours are quiet, someone else's are noticed ----
out=$(drv watch "$work/b.yaml" "nft add element inet vmsgate devices_v4 '{ 10.98.0.1 }'")
expect_eq "events: our own changes are not reported, another's is, and repaired" \
	"own_events=0 foreign_events=1 repaired=1" "$(echo $out | sed 's/^changed=.* ms=[0-9]* //')"
expect_eq "events: the table is back after the repair" "$(cat "$work/ref")" "$(canon)"

# ---- reloads between random policies stay exact ----
mkdir -p "$work/random"
check random "$work/random" 25 7
bad=0
for f in "$work"/random/r*.yaml; do
	# one process, as the daemon reloads: each step also leaves the next
	# a cached state to diff against
	drv apply "$f" >/dev/null || { bad=1; echo "apply failed: $f"; break; }
	"$VMSGATE" compile --json -c "$f" >"$work/compiled.json" 2>/dev/null
	in_ns nft -j list table inet vmsgate >"$work/listed.json"
	msg=$(check sets "$work/compiled.json" "$work/listed.json") ||
		{ bad=1; echo "$f: $msg"; break; }
	[ "$(drv check "$f")" = drift=0 ] || { bad=1; echo "$f: drift"; break; }
done >"$work/random.log"
expect_eq "25 reloads between random overlapping policies: sets exact, no drift" 0 "$bad"
[ "$bad" = 0 ] || cat "$work/random.log"
args=()
for f in "$work"/random/r*.yaml; do args+=("$f"); done
if out=$(drv apply "${args[@]}" "$work/b.yaml") && [ "$(drv check "$work/b.yaml")" = drift=0 ]; then
	pass "the same 25 reloads in one process end in step"
else
	fail "the same 25 reloads in one process: $(tail -n1 "$work/driver.log")"
fi

# ---- 100,000 addresses ----
check big "$work/big.yaml" 100000 10.64.0.0
check big "$work/big2.yaml" 100000 10.64.0.2
in_ns nft delete table inet vmsgate
if out=$(drv apply "$work/big.yaml" "$work/big.yaml" "$work/big2.yaml"); then
	first=$(sed -n 1p <<<"$out")
	second=$(sed -n 2p <<<"$out")
	third=$(sed -n 3p <<<"$out")
	in_ns nft -j list table inet vmsgate >"$work/big.json"
	expect_eq "100,000 devices: all of them in devices_v4" 100000 \
		"$(check count "$work/big.json" devices_v4)"
	sets_match "100,000 devices: every set holds the policy's addresses" "$work/big2.yaml"
	# Not timed: while any socket on the host listens to nftables events (in
	# any namespace), the kernel builds an event per element, and that takes
	# it ten times longer than the insertion itself.
	if [ "$(field changed "$first")" = 1 ] && [ "$(field batches "$first")" = 1 ]; then
		pass "100,000 devices apply in one transaction, in $(field ms "$first") ms" \
			"($(field added "$first") kernel elements)"
	else
		fail "100,000 devices: $first"
	fi
	if [ "$(field changed "$second")" = 0 ] && [ "$(field ms "$second")" -lt 1000 ]; then
		pass "100,000 devices: an unchanged reload sends nothing, in $(field ms "$second") ms"
	else
		fail "100,000 devices, unchanged reload: $second"
	fi
	# the first address goes, one after the last comes
	if [ "$(field added "$third")" = 4 ] && [ "$(field removed "$third")" = 4 ] &&
		[ "$(field ms "$third")" -lt 1000 ]; then
		pass "100,000 devices: one address in, one out is 8 elements, in $(field ms "$third") ms"
	else
		fail "100,000 devices, one in and one out: $third"
	fi
	t0=$(date +%s%N)
	out=$(drv check "$work/big2.yaml")
	t1=$(date +%s%N)
	expect_eq "100,000 devices: a fresh process reads the table and finds it in step" \
		"drift=0" "$out"
	echo "   (reading the 400,000-element table took $(((t1 - t0) / 1000000)) ms)"
else
	fail "100,000 devices do not apply: $(tail -n2 "$work/driver.log" | tr '\n' ' ')"
fi

# ---- delete ----
has_table() { in_ns nft list table inet vmsgate >/dev/null 2>&1; }
expect "delete removes the table" drv delete
expect_not "no table after delete" has_table
expect "delete of an absent table succeeds" drv delete

e2e_finish
