#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""BENCHMARKS.md and the cost plot from build/bench/results.csv.

usage: report.py --csv FILE --machine FILE --md FILE --png FILE [--png-link FILE]

Every figure comes from the CSV of the same run; the targets are checked
as ratios of figures measured side by side. Nothing here measures.
"""
import argparse
import csv
import os
import shutil
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATHS = [
    ("allowed_tcp", "allowed, TCP SYN (Smart Client to recording server 7563)"),
    ("allowed_udp", "allowed, UDP (camera to recording server 50000, an extra flow)"),
    ("return", "return (recording server 7563 back to the client, ACK)"),
    ("local_only", "dropped: local_only (8966 on the recording server)"),
    ("src_not_allowed", "dropped: src_not_allowed (camera to 7563)"),
    ("port_not_allowed", "dropped: port_not_allowed (9999)"),
    ("icmp", "dropped: icmp (echo request, icmp: errors-only)"),
    ("fragment", "dropped: fragment (a later fragment never announced)"),
    ("malformed", "dropped: malformed (TCP data offset 4)"),
    ("unprotected", "unprotected destination (passes)"),
]
FAMILIES = ["ipv4", "ipv6"]
XDPFILT = [
    ("xdpfilt_dny_ip", "deny policy; the site's addresses as sources"),
    ("xdpfilt_dny_all", "deny policy; the site's addresses as sources, the open ports"),
    ("xdpfilt_alw_tcp", "allow policy; the closed TCP ports"),
    ("xdpfilt_alw_all", "allow policy; the closed TCP and UDP ports"),
]
ALLOWED = ["allowed_tcp", "allowed_udp"]


class Row:
    def __init__(self, r):
        self.section, self.metric, self.subject = r["section"], r["metric"], r["subject"]
        self.hosts = int(r["hosts"]) if r["hosts"] else None
        self.family = r["family"] or None
        self.med, self.min, self.max = float(r["median"]), float(r["min"]), float(r["max"])
        self.unit, self.runs, self.note = r["unit"], int(r["runs"]), r["note"]


def load(path):
    rows = defaultdict(list)
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            row = Row(r)
            rows[row.section].append(row)
    return rows


def find(rows, section, metric, subject=None, hosts=None, family=None):
    for r in rows.get(section, []):
        if r.metric == metric and (subject is None or r.subject == subject) and \
                (hosts is None or r.hosts == hosts) and (family is None or r.family == family):
            return r
    return None


def fmt(v, unit=""):
    if v is None:
        return "—"
    if unit == "bytes":
        if v < 1024:
            return f"{v:.0f} B"
        return f"{v / 1048576:.1f} MiB" if v >= 1048576 else f"{v / 1024:.0f} KiB"
    if unit == "pps":
        return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(r, unit=None):
    if r is None:
        return "—"
    u = unit if unit is not None else r.unit
    if r.runs <= 1:
        return fmt(r.med, u)
    return f"{fmt(r.med, u)} [{fmt(r.min, u)}–{fmt(r.max, u)}]"


def verdict(ok):
    return "**pass**" if ok else "**miss**"


def spread_verdict(typical, worst_value, limit, below=True):
    """pass: every packet within; at the limit: the typical one only; miss: not even that."""
    def within(v):
        return v <= limit if below else v >= limit
    if within(worst_value):
        return "**pass**"
    return "**at the limit** (typical within, worst not)" if within(typical) else "**miss**"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ---- per-packet ----------------------------------------------------------------

def packet_sizes(rows):
    return sorted({r.hosts for r in rows.get("packet", []) if r.subject == "vmsgate"})


def packet_ratios(rows, sizes):
    """The targets' ratios, each the median of per-run ratios (bench_dp pairs them)."""
    vs_filter = defaultdict(list)
    vs_floor = []
    scaling = []
    for r in rows.get("ratio", []):
        if r.subject == "vmsgate/floor" and r.metric in ALLOWED:
            vs_floor.append((r.med, r.metric, r.family, r.hosts))
        elif r.subject.startswith("vmsgate/xdpfilt_") and r.metric in ALLOWED and \
                r.note == "same decision":
            vs_filter[r.subject[len("vmsgate/"):]].append((r.med, r.metric, r.family, r.hosts))
        elif r.subject.startswith("vmsgate/vmsgate@") and sizes and r.hosts == sizes[-1]:
            scaling.append((r.med, r.metric, r.family))
    return vs_filter, vs_floor, scaling


def ratio_table(rows, sizes):
    ref = 10000 if 10000 in sizes else (sizes[-1] if sizes else None)
    subjects = ["floor"] + [x for x, _ in XDPFILT]
    head = ["packet", "family"] + [f"vmsgate ÷ {s}" for s in subjects]
    body = []
    for p in ALLOWED + ["return", "unprotected"]:
        for fam in FAMILIES:
            cells = []
            for s in subjects:
                r = find(rows, "ratio", p, "vmsgate/" + s, ref, fam)
                if r is None:
                    cells.append("—")
                else:
                    c = f"{r.med:.2f} [{r.min:.2f}–{r.max:.2f}]"
                    cells.append(c if r.note == "same decision" else c + " ≠")
            body.append([p, fam] + cells)
    return (f"Ratios run by run at {ref:,} hosts, median [minimum–maximum] over the runs "
            "(≠: the other program decided otherwise):\n\n" + table(head, body))


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def packet_tables(rows, sizes):
    out = []
    head = ["path", "family"] + [f"{n:,} hosts" for n in sizes]
    body = []
    for p, what in PATHS:
        for fam in FAMILIES:
            body.append([what if fam == "ipv4" else "", fam] +
                        [cell(find(rows, "packet", p, "vmsgate", n, fam)) for n in sizes])
    out.append("vmsgate, nanoseconds per packet:\n\n" + table(head, body))

    ref = 10000 if 10000 in sizes else sizes[-1]
    subjects = ["vmsgate", "floor"] + [x for x, _ in XDPFILT]
    head = ["path", "family"] + subjects
    body = []
    for p, what in PATHS:
        for fam in FAMILIES:
            v = find(rows, "packet", p, "vmsgate", ref, fam)
            cells = []
            for s in subjects:
                r = find(rows, "packet", p, s, ref, fam)
                if r is None:
                    cells.append("—")
                    continue
                c = f"{fmt(r.med)} {r.note}"
                if s not in ("vmsgate", "floor") and v and r.note != v.note:
                    c += " ≠"
                cells.append(c)
            body.append([p, fam] + cells)
    out.append(f"The same packets through every program, {ref:,} hosts, nanoseconds "
               "(median) and the program's decision; ≠ marks a decision other than "
               "vmsgate's:\n\n" + table(head, body))
    return "\n\n".join(out)


def plot(rows, sizes, png):
    series = [
        ("vmsgate", "allowed_tcp", "vmsgate, allowed (TCP)", "-", "o"),
        ("vmsgate", "unprotected", "vmsgate, unprotected", "-", "s"),
        ("vmsgate", "src_not_allowed", "vmsgate, dropped (src_not_allowed)", "-", "v"),
        ("floor", "allowed_tcp", "XDP_DROP only (floor)", ":", "."),
        ("xdpfilt_dny_ip", "allowed_tcp", "xdp-filter dny_ip, same packet", "--", "^"),
        ("xdpfilt_dny_all", "allowed_tcp", "xdp-filter dny_all, same packet", "--", "D"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    for ax, fam in zip(axes, FAMILIES):
        for subj, path, label, ls, mk in series:
            pts = [(n, find(rows, "packet", path, subj, n, fam)) for n in sizes]
            pts = [(n, r) for n, r in pts if r]
            if not pts:
                continue
            xs = [n for n, _ in pts]
            ys = [r.med for _, r in pts]
            err = [[r.med - r.min for _, r in pts], [r.max - r.med for _, r in pts]]
            ax.errorbar(xs, ys, yerr=err, label=label, linestyle=ls, marker=mk, capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel("protected hosts")
        ax.set_title(fam.replace("ip", "IP"))
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ns per packet: median, min–max")
    axes[0].set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9)
    fig.suptitle("Per-packet cost through BPF_PROG_TEST_RUN against policy size")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(png, dpi=110)


# ---- wire ------------------------------------------------------------------------

def wire_section(rows):
    metrics = [
        ("drops_per_cpu_second", "drops per receiver CPU-second", "pps"),
        ("cpu_per_packet", "receiver CPU per packet (ns)", "ns"),
        ("received_pps", "packets received per second", "pps"),
        ("receiver_cpu_busy", "receiver CPU busy", "share"),
        ("offered_pps", "packets offered per second", "pps"),
    ]
    head = ["family", "dropped by"] + [m[1] for m in metrics]
    body, ratios = [], {}
    for fam in FAMILIES:
        for who in ("vmsgate", "nftables"):
            cells = []
            for m, _, unit in metrics:
                r = find(rows, "wire", m, who, None, fam)
                cells.append(cell(r, unit) if unit != "share" or r is None else
                             f"{r.med * 100:.0f}% [{r.min * 100:.0f}–{r.max * 100:.0f}%]")
            body.append([fam, who] + cells)
        v = find(rows, "wire", "drops_per_cpu_second", "vmsgate", None, fam)
        n = find(rows, "wire", "drops_per_cpu_second", "nftables", None, fam)
        if v and n and n.med > 0:
            ratios[fam] = v.med / n.med
    return table(head, body), ratios


# ---- control plane ------------------------------------------------------------------

def control_section(rows):
    sizes = sorted({r.hosts for r in rows.get("control", [])})
    metrics = [
        ("compile", "compile the site file"),
        ("dp_apply_first", "map fill and swap, into empty maps"),
        ("dp_apply_changed", "map fill and swap, 1% of hosts changed"),
        ("dp_apply_same", "the same policy again (left in place)"),
        ("load_first", "first load: compile + fill + nftables from nothing"),
        ("reload_changed", "reload, 1% of hosts changed: compile + swap + sync"),
        ("reload_unchanged", "reload, unchanged: compile + compare + sync"),
    ]
    head = ["milliseconds"] + [f"{n:,} hosts" for n in sizes]
    body = [[what] + [cell(find(rows, "control", m, "vmsgate", n)) for n in sizes]
            for m, what in metrics]
    ctl = table(head, body)

    nft = [r for r in rows.get("nft", []) if r.metric == "nft_sync_initial"]
    head = ["set elements", "hosts", "from no table (ms)", "unchanged (ms)",
            "1% of hosts changed (ms)"]
    body = []
    for r in sorted(nft, key=lambda r: r.hosts):
        u = find(rows, "nft", "nft_sync_unchanged", "vmsgate", r.hosts)
        c = find(rows, "nft", "nft_sync_changed", "vmsgate", r.hosts)
        body.append([r.note.split()[0], f"{r.hosts:,}", cell(r),
                     cell(u) + (f" ({u.note})" if u else ""),
                     cell(c) + (f" ({c.note})" if c else "")])
    nft_t = table(head, body)

    dsizes = sorted({r.hosts for r in rows.get("daemon", [])})
    dmetrics = [
        ("resident_memory", "resident memory after start", "KiB"),
        ("resident_memory_after_reloads", "resident memory after the reloads", "KiB"),
        ("peak_memory", "peak resident memory (VmHWM)", "KiB"),
        ("reload_unchanged", "reload, unchanged file (ms)", "ms"),
        ("reload_changed", "reload, 1% of hosts moved (ms)", "ms"),
    ]
    head = ["vmsgate run"] + [f"{n:,} hosts" for n in dsizes]
    body = []
    for m, what, unit in dmetrics:
        cells = []
        for n in dsizes:
            r = find(rows, "daemon", m, "vmsgate", n)
            if r and unit == "KiB":
                cells.append(f"{r.med / 1024:.1f} MiB")
            else:
                cells.append(cell(r))
        body.append([what] + cells)
    dmn = table(head, body)
    return ctl, nft_t, dmn


def memory_section(rows):
    maps = [r for r in rows.get("memory", []) if r.metric == "map"]
    if not maps:
        return "", {}
    sizes = sorted({r.hosts for r in maps})
    names = []
    for r in maps:
        if r.subject not in names:
            names.append(r.subject)
    head = ["map", "what it holds"] + [f"{n:,} hosts" for n in sizes]
    body = []
    for name in names:
        first = next(r for r in maps if r.subject == name)
        body.append([f"`{name}`", first.note] +
                    [fmt(find(rows, "memory", "map", name, n).med, "bytes")
                     if find(rows, "memory", "map", name, n) else "—" for n in sizes])
    body.append(["**all maps**", ""] +
                [fmt(find(rows, "memory", "maps_total", "vmsgate", n).med, "bytes")
                 for n in sizes])
    per = {}
    get = {r.subject: r for r in maps if r.hosts == sizes[-1]}
    lo = {r.subject: r for r in maps if r.hosts == sizes[0]}
    if "vmg_hosts" in get and "vmg_kinds" in get:
        per["host_slot"] = (get["vmg_hosts"].med + get["vmg_kinds"].med) / 262144
    if "vmg_ports" in get:
        per["port_slot"] = get["vmg_ports"].med / 262144
    if "vmg_rule_cnt" in get:
        per["rule_counter"] = get["vmg_rule_cnt"].med / 4096
    tot_hi = find(rows, "memory", "maps_total", "vmsgate", sizes[-1])
    tot_lo = find(rows, "memory", "maps_total", "vmsgate", sizes[0])
    if tot_hi and tot_lo and sizes[-1] > sizes[0]:
        per["marginal_host"] = (tot_hi.med - tot_lo.med) / (sizes[-1] - sizes[0])
    del lo
    return table(head, body), per


# ---- the document ----------------------------------------------------------------------

def machine_table(m):
    keys = [
        ("cpu", "CPU"), ("cores", "cores"), ("hypervisor", "hypervisor"),
        ("memory", "memory"), ("kernel", "kernel"), ("debian", "Debian"),
        ("clang", "clang"), ("libbpf", "libbpf"), ("bpftool", "bpftool"),
        ("xdp_tools", "xdp-tools"), ("nftables", "nftables"),
        ("srso_mitigation", "return-stack mitigation (SRSO)"),
    ]
    return table(["", ""], [[label, m.get(k, "—") or "—"] for k, label in keys])


def worst(items):
    return max(items, key=lambda x: x[0]) if items else None


def targets_section(rows, sizes, wire_ratios):
    vs_filter, vs_floor, scaling = packet_ratios(rows, sizes)
    out = []
    lines = []
    for name, config in XDPFILT:
        items = vs_filter.get(name, [])
        if not items:
            continue
        w = worst(items)
        typ = median([i[0] for i in items])
        lines.append([f"allowed ≤ 0.6 × `{name}` ({config}), same decision",
                      f"{typ:.2f} typical, {w[0]:.2f} worst ({w[1]}, {w[2]}, {w[3]:,} hosts)",
                      spread_verdict(typ, w[0], 0.6)])
    if vs_floor:
        w = worst(vs_floor)
        typ = median([i[0] for i in vs_floor])
        lines.append(["allowed ≤ 3 × floor (XDP_DROP only)",
                      f"{typ:.2f} typical, {w[0]:.2f} worst ({w[1]}, {w[2]}, {w[3]:,} hosts)",
                      spread_verdict(typ, w[0], 3)])
    if scaling:
        w = worst(scaling)
        typ = median([s[0] for s in scaling])
        allowed = [s for s in scaling if s[1] in ALLOWED]
        lines.append([f"cost at {sizes[-1]:,} hosts ≤ 1.15 × cost at {sizes[0]:,}",
                      f"allowed packets: {', '.join(f'{s[0]:.2f}' for s in allowed)}; every "
                      f"packet: {typ:.2f} typical, {w[0]:.2f} worst ({w[1]}, {w[2]})",
                      spread_verdict(typ, w[0], 1.15)])
    for fam, ratio in sorted(wire_ratios.items()):
        lines.append([f"on the wire, {fam}: ≥ 3 × nftables' drops per receiver CPU",
                      f"{ratio:.1f} ×", verdict(ratio >= 3)])
    rel = find(rows, "daemon", "reload_changed", "vmsgate", 10000)
    first = find(rows, "control", "load_first", "vmsgate", 10000)
    if rel or first:
        worst_ms = max(r.max for r in (rel, first) if r)
        lines.append(["10,000-host reload (compile, swap, sync) < 1 s",
                      (f"daemon, 1% changed: {cell(rel)} ms; " if rel else "") +
                      (f"first load from nothing: {cell(first)} ms" if first else ""),
                      verdict(worst_ms < 1000)])
    un = find(rows, "daemon", "reload_unchanged", "vmsgate", 10000)
    unc = find(rows, "control", "reload_unchanged", "vmsgate", 10000)
    if un or unc:
        nochange = unc is not None and unc.note == "no nftables change"
        med = (un or unc).med
        lines.append(["unchanged 10,000-host reload < 50 ms, no nftables change",
                      (f"daemon: {cell(un)} ms; " if un else "") +
                      (f"in-process: {cell(unc)} ms, {unc.note}" if unc else ""),
                      verdict(med < 50 and nochange)])
    out.append(table(["target", "measured: median of per-run ratios; typical over the "
                      "packets, and the worst", ""], lines))
    return "\n".join(out)


NARRATIVE = """\
### What limits it, and what changed

Before this work, on the same machine and the same bench, an allowed packet
cost 198–245 ns (about 6.5 × the floor and 1.6 × `xdpfilt_dny_ip`), the cost
at 100,000 hosts was 1.23 × the cost at 10, a map fill and swap of 10,000
hosts took 85 ms and an unchanged 10,000-host reload 101 ms.

Profiling the program under `BPF_PROG_TEST_RUN` with `perf record -e cpu-clock`
(the hypervisor exposes no hardware counters, so `bpftool prog profile` cannot
run here) and mapping samples to source through the JIT's line info showed
where an allowed packet's time went before this work: 41% in the kernel's hash
map code (`htab_map_hash`, `lookup_nulls_elem_raw`, `memcmp`) for the three
lookups (destination, port rule, source), and most of the rest at the
instructions just after calls. On this CPU every return goes through the SRSO
"safe RET" thunk, so a call costs more than the work it wraps. The design
changed accordingly:

- **Exact addresses and port rules** moved from kernel hash maps to cuckoo hash
  tables that userspace builds (`userspace/dp_table.c`) and the program probes
  inline: `ARRAY` maps of 4-slot buckets, two buckets per key at most, array
  lookups the verifier inlines, a multiply-based hash with no call. What an
  address is (roles, class) sits once per distinct value in `vmg_kinds`.
- **Parsing is inlined** except the IPv6 extension-header walk and the
  transport header after it, which stay global functions for the verifier.
- **Swaps write only what changed**: the idle half of a table holds nothing, so
  a fill writes the used buckets and a clear zeroes the ones this process
  wrote, instead of walking whole hash maps key by key.
- **A reload that compiles to the policy in force leaves the maps alone**
  (`dp_apply` compares), so an unchanged reload costs the compile, the
  comparison and nftables' own no-op check.

What still limits the figures:

- *The floor.* `BPF_PROG_TEST_RUN` itself costs about 30 ns per repetition
  here. Cutting the program short at each stage (in a scratch copy) put the
  rest of an allowed packet at: the generation and its settings 6 ns, parsing
  15 ns, the three probes and the verdict about 30 ns, the three counters
  10 ns. Nothing in it is a call any more; it is a chain of dependent loads
  and the x86 JIT's straightforward code for them. That puts it just under
  3 × the floor, by less than this machine's noise; a wider margin would take
  shaving the parser and the counters, not another map.
- *The drop paths* call `bpf_xdp_ct_lookup` (step 8 of the verdict: a packet
  with no rule may still be a conntrack reply), some 180 ns of the 300 here,
  and read a clock for the event rate limit. That clock is now the
  tick-grained one (`bpf_ktime_get_coarse_ns`), which saved about 35 ns a
  drop; the precise clock is read only for events actually sent.
- *xdp-filter's programs* do less than vmsgate for the same decision (one or two
  lookups keyed by the address or the port alone, OR-ed), so the cheapest of
  them, `alw_tcp` (an array indexed by port), stays close to the floor; vmsgate
  decides on destination, port and source together.
- *Noise.* On this virtual machine the same program's time moves by up to a
  third from one second to the next, in phases that last seconds (the host's
  load on the core, most likely: the floor moves with it). The bench
  interleaves sizes and programs within each run and takes the targets' ratios
  run by run, which cancels most of it; the ranges in the tables are the
  spread of the runs, and a target within a few percent of its limit can fall
  either side of it from one `make bench` to the next.
- *Memory.* The bucket tables are preallocated for the limits
  (`VMG_MAX_HOSTS`, `VMG_MAX_PORT_RULES`), so the maps cost the same for 10
  hosts as for 262,144; the kernel hash maps they replaced grew with the
  policy but preallocated their bucket arrays for the same limits too.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--png-link")
    a = ap.parse_args()

    rows = load(a.csv)
    machine = {}
    with open(a.machine) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            machine[k] = v
    sizes = packet_sizes(rows)
    if sizes:
        plot(rows, sizes, a.png)
        if a.png_link:
            shutil.copyfile(a.png, a.png_link)
    img = os.path.relpath(a.png_link or a.png, os.path.dirname(os.path.abspath(a.md)) or ".")
    wire_t, wire_ratios = wire_section(rows)
    fwd = sum(int(r.note.split()[0]) for r in rows.get("wire", [])
              if r.metric == "drops_per_cpu_second" and r.note.split()[:1] != [])
    wire_fwd = "none did" if fwd == 0 else \
        f"{fwd} in all; that counter also counts the gateway's own packets, such as " \
        "neighbour discovery"
    ctl, nft_t, dmn = control_section(rows)
    mem_t, per = memory_section(rows)
    runs = max((r.runs for r in rows.get("packet", [])), default=0)
    stage_times = ", ".join(f"{k[len('stage_seconds_'):]} {v} s" for k, v in machine.items()
                            if k.startswith("stage_seconds_"))

    doc = [f"""# vmsgate benchmarks

Written by `make bench` (`tests/bench/run.sh`) on {machine.get("date", "?")}; the run took
{machine.get("elapsed_seconds", "?")} s ({stage_times}). Every figure is the median of
several runs with their range as [minimum–maximum]; the per-packet figures are medians
of {runs} runs. Each target below is a ratio of figures measured in the same run. The
raw figures are in `build/bench/results.csv`; `make bench` writes them again.

## The machine

{machine_table(machine)}

## Targets

{targets_section(rows, sizes, wire_ratios)}

xdp-filter cannot say vmsgate's policy: it ORs matches on one field each. Each
variant is the nearest policy of its kind (section 1). `xdpfilt_dny_all` is what
`xdp-filter load -p deny` loads and decides on what vmsgate decides on, addresses
and ports; `xdpfilt_dny_ip` looks at addresses only and `xdpfilt_alw_tcp` at one
port array only, so they cost less and decide less: `dny_ip` passes whatever a
site host sends (a camera to a recording server's 7563, which vmsgate drops as
src_not_allowed), and `alw_tcp` whatever goes to an open port from anywhere (the
flood of section 2).

## 1. Per-packet cost

Each packet of the table goes through `BPF_PROG_TEST_RUN` with a repeat of
{int(machine.get("repeat", "0")):,} (the kernel's own timing, per repetition). Every policy
size is loaded at once, and in each run every packet goes through every program of
every size in turn, so each ratio in the targets is taken run by run between figures
timed within a second of each other, then its median over the runs: this machine is
a virtual one whose speed drifts by a third from one second to the next. Each program
is held by an interface of its own (generic XDP, never sent a packet), so that the
kernel's XDP dispatcher already holds it and is not rebuilt around each call (the
floor costs the same, about 33 ns, held or not).

The policy is a synthetic site (`tests/bench/bench.c`): a
management server, a recording server and a Smart Client with an IPv4 and an IPv6
address each, and cameras (role `devices`, one in four IPv6) up to the number of
protected hosts; every address exact. The same packets go through:

- **floor**: `tests/bench/floor.bpf.c`, which only returns `XDP_DROP`;
- **xdp-filter**: the programs Debian's xdp-tools ships
  (`/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_*.o`), their maps (per-CPU hash maps
  keyed by address, a per-CPU array indexed by port; flag bits src, dst, tcp, udp)
  filled as `xdp-filter ip` and `xdp-filter port` fill them, for the nearest policy
  each can say. xdp-filter ORs its matches, so none of them can say "this source to
  that host on this port":

{table(["program", "configured with"], [[f"`{n}`", c] for n, c in XDPFILT])}

  Its address maps hold 10,000 entries; they are raised to the policy's size.

![per-packet cost against policy size]({img})

{packet_tables(rows, sizes)}

{ratio_table(rows, sizes)}

The program looks up conntrack for packets no rule lets through (step 8 of the
verdict): every drop of a TCP or UDP packet pays for `bpf_xdp_ct_lookup`, in the
bench's own network namespace, whose table is empty.

{NARRATIVE}
## 2. On the wire

A SYN flood from an address in no role to a camera's RTSP port (open to
recording servers only), sent with `BPF_F_TEST_XDP_LIVE_FRAMES` over a veth into
a gateway namespace that forwards to the protected hosts; the 10,000-host policy.
The receiving veth runs its NAPI in a thread of its own pinned to CPU 1 (the
sender is on CPU 0), so that thread's CPU time (`/proc/PID/schedstat`) is the
receiver's whole cost: the veth ring and XDP for vmsgate, and for nftables the
forward path with conntrack and table `inet vmsgate` as `nft_sync` writes it for
the same policy. Drops are the packets the receiving veth took in, less any that
left through the gateway's other side ({wire_fwd}). Medians of runs of
{machine.get("wire_seconds", "2")} s; the offered rate is what the sender handed to
the veth, the rest of which the full ring refused.

{wire_t}

## 3. Control plane

In one process, as the daemon spends it (`tests/bench/bench_cp.c`), in a
namespace of its own; a changed policy moves 1% of the cameras.

{ctl}

nftables sync (`nft_sync_apply`), with the site sized to the number of set
elements (four per host: an interval in its role's set and one in
`protected_v4`/`protected_v6`, each a start and an end element):

{nft_t}

The daemon (`vmsgate run` in a namespace of its own, pins in a bpffs of its own;
`tests/bench/daemon.sh`): resident memory, and reloads timed from SIGHUP to the
status file saying they are done:

{dmn}

BPF map memory, as the kernel charges it (`memlock` in each map's fdinfo):

{mem_t}
"""]
    if per:
        lines = []
        if "host_slot" in per:
            lines.append(f"- per exact host, at capacity: {per['host_slot']:.0f} bytes "
                         "(`vmg_hosts` and `vmg_kinds` over 262,144 hosts, both generations)")
        if "marginal_host" in per:
            lines.append(f"- per host added: {per['marginal_host']:.1f} bytes (the tables "
                         "are preallocated; prefixes still go to the tries, which grow)")
        if "port_slot" in per:
            lines.append(f"- per port rule entry, at capacity: {per['port_slot']:.0f} bytes "
                         "(`vmg_ports` over 262,144 entries, both generations)")
        if "rule_counter" in per:
            lines.append(f"- per compiled rule: {per['rule_counter']:.0f} bytes of per-CPU "
                         "counters (`vmg_rule_cnt`, both generations, every CPU)")
        doc.append("\n".join(lines) + "\n")
    with open(a.md, "w") as f:
        f.write("\n".join(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
