// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP program judged through BPF_PROG_TEST_RUN: tables of {what it
 * proves, the frame, the site, the expected verdict}, then counters, policy
 * swaps under load, refused policies and conntrack replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "dataplane.h"
#include "log.h"
#include "packets.h"
#include "roles.h"

/* ---- addresses and sites ------------------------------------------------ */

#define MS "10.10.0.5"
#define RS "10.10.1.2"
#define RS_LAST "10.10.1.15"
#define RS_PAST "10.10.1.16"
#define DEV "10.20.3.4"
#define SC "10.30.0.7"
#define OUT "192.0.2.1"
#define MS6 "fd00:10::5"
#define RS6 "fd00:10:1::2"
#define SC6 "fd00:30::7"
#define OUT6 "2001:db8::1"

#define HOSTS                                                                       \
	"hosts:\n"                                                                  \
	"  management-server: [10.10.0.5, \"fd00:10::5\"]\n"                        \
	"  recording-server: [10.10.1.0/28, \"fd00:10:1::/64\"]\n"                  \
	"  devices: [10.20.0.0/16]\n"                                               \
	"  smart-client: [10.30.0.0/24, \"fd00:30::/64\"]\n"                        \
	"extra:\n"                                                                  \
	"  - { from: [devices], to: recording-server, proto: udp, ports: \"50000-50999\",\n" \
	"      purpose: \"RTP from cameras\" }\n"

#define SITE(mode, unlisted, icmp, frags)                                           \
	"catalog: xprotect\n"                                                       \
	"mode: " mode "\n"                                                          \
	"unlisted_destinations: " unlisted "\n"                                     \
	"icmp: " icmp "\n"                                                          \
	"unknown_fragments: " frags "\n" HOSTS

#define BASE SITE("enforce", "pass", "allow", "drop")
#define CLOSED SITE("enforce", "drop", "allow", "drop")
#define ERRORS_ONLY SITE("enforce", "pass", "errors-only", "drop")
#define DENY SITE("enforce", "drop", "deny", "drop")
#define FRAGS_PASS SITE("enforce", "pass", "allow", "pass")
#define MONITOR SITE("monitor", "drop", "deny", "drop")

/* smart clients anywhere on IPv4: `0.0.0.0/0` names sources, never IPv6 ones */
#define ANY_V4                                                                      \
	"catalog: xprotect\n"                                                       \
	"unlisted_destinations: pass\n"                                             \
	"hosts:\n"                                                                  \
	"  recording-server: [10.10.1.0/28, \"fd00:10:1::/64\"]\n"                  \
	"  smart-client: [\"0.0.0.0/0\"]\n"

/* `any` covers both families */
#define ANY_BOTH                                                                    \
	"catalog: xprotect\n"                                                       \
	"unlisted_destinations: drop\n"                                             \
	"hosts:\n"                                                                  \
	"  recording-server: [10.10.1.0/28, \"fd00:10:1::/64\"]\n"                  \
	"  smart-client: [any]\n"

/* ---- frames ------------------------------------------------------------- */

#define TCP4(s, d, sp, dp, fl) \
	.family = 4, .src = s, .dst = d, .proto = P_TCP, .sport = sp, .dport = dp, .flags = fl
#define TCP6(s, d, sp, dp, fl) \
	.family = 6, .src = s, .dst = d, .proto = P_TCP, .sport = sp, .dport = dp, .flags = fl
#define UDP4(s, d, sp, dp) \
	.family = 4, .src = s, .dst = d, .proto = P_UDP, .sport = sp, .dport = dp
#define ICMP4(s, d, t) .family = 4, .src = s, .dst = d, .proto = P_ICMP, .icmp_type = t
#define ICMP6(s, d, t) .family = 6, .src = s, .dst = d, .proto = P_ICMPV6, .icmp_type = t
#define IP4(s, d, p) .family = 4, .src = s, .dst = d, .proto = p
#define IP6(s, d, p) .family = 6, .src = s, .dst = d, .proto = p

/* A rule named by what it opens; the expected rule_id is looked up in the ruleset. */
struct rule_ref {
	bool set;
	int to;
	uint8_t proto;
	uint16_t port;
};

#define RULE(role, proto, port) .rule = { true, ROLE_##role, proto, port }

struct verdict_case {
	const char *what;
	const char *site;
	struct frame_spec pkt;
	int xdp;
	enum vmg_reason reason;
	enum vmg_action action;
	struct rule_ref rule;
};

#define PASS(r, a) .xdp = XDP_PASS, .reason = VMG_R_##r, .action = VMG_A_##a
#define DROP(r) .xdp = XDP_DROP, .reason = VMG_R_##r, .action = VMG_A_DROP

/* ---- fixture ------------------------------------------------------------ */

struct compiled {
	const char *yaml;
	struct ruleset rs;
};

static struct dp *dp;
static struct compiled compiled[32];
static size_t ncompiled;
static const struct ruleset *applied;
static const char *no_bpf;	/* why the tests cannot run here */
static int load_err;		/* the program should load here and did not */

static const struct ruleset *site_rules(const char *yaml)
{
	for (size_t i = 0; i < ncompiled; i++) {
		if (compiled[i].yaml == yaml || !strcmp(compiled[i].yaml, yaml))
			return &compiled[i].rs;
	}
	assert_true(ncompiled < sizeof(compiled) / sizeof(compiled[0]));
	if (compile_string(yaml, "test.yaml", &compiled[ncompiled].rs, true))
		fail_msg("site does not compile:\n%s", yaml);
	compiled[ncompiled].yaml = yaml;
	return &compiled[ncompiled++].rs;
}

static void use_site(const char *yaml)
{
	const struct ruleset *rs = site_rules(yaml);

	if (rs == applied)
		return;
	assert_int_equal(dp_apply(dp, rs), 0);
	applied = rs;
}

static uint32_t rule_id(const struct ruleset *rs, const struct rule_ref *ref)
{
	if (!ref->set)
		return VMG_RULE_NONE;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->to == ref->to && r->proto == ref->proto && ref->port >= r->port &&
		    ref->port <= r->port_end)
			return r->id;
	}
	fail_msg("no rule to %s %u/%u", role_name(ref->to), ref->port, ref->proto);
	return VMG_RULE_NONE;
}

static int setup(void **state)
{
	int err;

	if (geteuid()) {
		no_bpf = "not root";
		return 0;
	}
	log_setup_libbpf();
	err = dp_open_private(&dp);
	if (err == -EPERM || err == -ENOSYS)
		no_bpf = "this kernel or container allows no BPF";
	else if (err)
		load_err = err;
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < ncompiled; i++)
		ruleset_free(&compiled[i].rs);
	dp_close(dp);
	return 0;
}

#define NEED_BPF()                                                      \
	do {                                                            \
		if (no_bpf) {                                           \
			print_message("skipped: %s\n", no_bpf);         \
			skip();                                         \
		}                                                       \
		if (load_err)                                           \
			fail_msg("the XDP program failed to load: %s",  \
				 strerror(-load_err));                  \
	} while (0)

static void judge_frame(const struct frame_spec *spec, struct dp_verdict *v, size_t *len)
{
	uint8_t buf[FRAME_MAX];
	size_t n = build_frame(spec, buf);

	memset(v, 0, sizeof(*v));
	assert_int_equal(dp_judge(dp, buf, n, v), 0);
	if (len)
		*len = n;
}

/* Runs a table in order (fragments depend on what came before) and reports every miss. */
static void run_table(const struct verdict_case *cases, size_t n)
{
	int failures = 0;

	for (size_t i = 0; i < n; i++) {
		const struct verdict_case *c = &cases[i];
		uint32_t want_rule;
		struct dp_verdict v;
		uint8_t want_dir;

		use_site(c->site);
		want_rule = rule_id(applied, &c->rule);
		want_dir = c->reason == VMG_R_RETURN ? VMG_DIR_RETURN : VMG_DIR_FORWARD;
		judge_frame(&c->pkt, &v, NULL);
		if (v.xdp_action == c->xdp && v.reason == c->reason && v.action == c->action &&
		    v.rule_id == want_rule && v.dir == want_dir)
			continue;
		print_error("case %zu, %s:\n  want %s %s %s rule %d dir %u\n"
			    "  got  %s %s %s rule %d dir %u\n", i, c->what,
			    c->xdp == XDP_PASS ? "XDP_PASS" : "XDP_DROP", reason_name(c->reason),
			    action_name(c->action), (int)want_rule, want_dir,
			    v.xdp_action == XDP_PASS ? "XDP_PASS" :
			    v.xdp_action == XDP_DROP ? "XDP_DROP" : "XDP_?",
			    reason_name(v.reason), action_name(v.action), (int)v.rule_id, v.dir);
		failures++;
	}
	if (failures)
		fail_msg("%d of %zu cases failed", failures, n);
}

#define RUN(table)                                                    \
	do {                                                          \
		NEED_BPF();                                           \
		run_table(table, sizeof(table) / sizeof(table[0]));   \
	} while (0)

/* A program that was never given a policy enforces nothing, not even well-formedness. */
static void test_unconfigured_passes(void **state)
{
	const struct frame_spec bad = { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 4 };
	uint8_t buf[FRAME_MAX];
	struct dp_verdict v;
	struct dp *fresh;
	size_t n;

	NEED_BPF();
	assert_int_equal(dp_open_private(&fresh), 0);
	n = build_frame(&bad, buf);
	assert_int_equal(dp_judge(fresh, buf, n, &v), 0);
	dp_close(fresh);
	assert_int_equal(v.xdp_action, XDP_PASS);
	assert_int_equal(v.reason, VMG_R_BYPASS);
	assert_int_equal(v.action, VMG_A_PASS);
}

/* ---- tables ------------------------------------------------------------- */

static const struct verdict_case bypass_cases[] = {
	{ "ARP passes", BASE, { .ethertype = ETH_ARP }, PASS(BYPASS, PASS) },
	{ "LLDP passes", BASE, { .ethertype = ETH_LLDP }, PASS(BYPASS, PASS) },
	{ "ARP passes under unlisted_destinations: drop", CLOSED, { .ethertype = ETH_ARP },
	  PASS(BYPASS, PASS) },
	{ "ARP in a VLAN passes", CLOSED, { .vlans = 1, .ethertype = ETH_ARP },
	  PASS(BYPASS, PASS) },
	{ "router solicitation (133) to a protected host passes", DENY,
	  { ICMP6(SC6, RS6, 133) }, PASS(BYPASS, PASS) },
	{ "router advertisement (134) passes", DENY, { ICMP6(RS6, SC6, 134) },
	  PASS(BYPASS, PASS) },
	{ "neighbour solicitation (135) passes", DENY, { ICMP6(SC6, RS6, 135) },
	  PASS(BYPASS, PASS) },
	{ "neighbour advertisement (136) passes", DENY, { ICMP6(SC6, RS6, 136) },
	  PASS(BYPASS, PASS) },
	{ "redirect (137) passes", DENY, { ICMP6(SC6, RS6, 137) }, PASS(BYPASS, PASS) },
	{ "ND to an unlisted address passes under unlisted_destinations: drop", CLOSED,
	  { ICMP6("fe80::1", "ff02::1:ff00:1", 135) }, PASS(BYPASS, PASS) },
	{ "ICMPv6 138 is not neighbour discovery", DENY, { ICMP6(SC6, RS6, 138) },
	  DROP(ICMP) },
	{ "ICMPv6 132 (MLD) is not neighbour discovery", DENY, { ICMP6(SC6, RS6, 132) },
	  DROP(ICMP) },
};

static void test_bypass(void **state)
{
	RUN(bypass_cases);
}

static const struct verdict_case header_cases[] = {
	{ "IPv4 without options", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv4 options (IHL 6) are skipped", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_opts = 4 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv4 options (IHL 15) are skipped", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_opts = 40 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv4 options hide a port: the real one decides", BASE,
	  { TCP4(SC, RS, 40000, 8966, F_SYN), .ip_opts = 8 },
	  DROP(LOCAL_ONLY), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "IPv4 IHL 4 is malformed", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 4 },
	  DROP(MALFORMED) },
	{ "IPv4 IHL 1 is malformed", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 1 },
	  DROP(MALFORMED) },
	{ "IPv4 IHL beyond the data is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 15, .ip_len = 60, .cut = 14 + 40 },
	  DROP(MALFORMED) },
	{ "IPv4 total length below IHL*4 is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_len = 19 }, DROP(MALFORMED) },
	{ "IPv4 total length beyond the data is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_len = 41 }, DROP(MALFORMED) },
	{ "IPv4 datagram shorter than its TCP header is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_len = 39, .pad = 1 },
	  DROP(MALFORMED) },
	{ "Ethernet padding after the datagram is fine", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .pad = 18 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "an IPv6 packet under the IPv4 EtherType is malformed", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ethertype = ETH_IP },
	  DROP(MALFORMED) },
	{ "an IPv4 packet under the IPv6 EtherType is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ethertype = ETH_IPV6 },
	  DROP(MALFORMED) },
	{ "IPv6 payload length beyond the data is malformed", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ip_len = 21 }, DROP(MALFORMED) },
	{ "TCP data offset 4 is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .doff = 4 }, DROP(MALFORMED) },
	{ "TCP options (doff 15) are fine", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .doff = 15 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "TCP doff 15 without its options is malformed", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .doff = 15, .cut = 14 + 20 + 59,
	    .cut_lengths = true }, DROP(MALFORMED) },
	{ "one VLAN tag", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 1 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "two tags (802.1ad over 802.1Q)", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 2 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "two tags, IPv6", BASE, { TCP6(SC6, RS6, 40000, 7563, F_SYN), .vlans = 2 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "three tags are malformed", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 3 },
	  DROP(MALFORMED) },
	{ "three tags are malformed even around ARP", BASE,
	  { .vlans = 3, .ethertype = ETH_ARP }, DROP(MALFORMED) },
	{ "two tags, a port the policy closes", BASE,
	  { TCP4(DEV, RS, 40000, 7563, F_SYN), .vlans = 2 },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
};

static void test_headers(void **state)
{
	RUN(header_cases);
}

/* Every header boundary, cut short: with the IP length as it was, and as the cut says. */
static const struct verdict_case truncation_cases[] = {
	{ "14 bytes: Ethernet without IPv4", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 }, DROP(MALFORMED) },
	{ "inside the VLAN tag", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 1, .cut = 16 }, DROP(MALFORMED) },
	{ "after the VLAN tag", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 1, .cut = 18 }, DROP(MALFORMED) },
	{ "inside the second tag", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 2, .cut = 20 }, DROP(MALFORMED) },
	{ "inside the IPv4 header", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 + 19 }, DROP(MALFORMED) },
	{ "inside the IPv4 options", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ip_opts = 8, .cut = 14 + 24, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "IPv4 header, no TCP, lengths say so", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 + 20, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "IPv4 header, no TCP, lengths claim more", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 + 20 }, DROP(MALFORMED) },
	{ "19 bytes of TCP", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 + 20 + 19, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "20 bytes of TCP is enough", BASE,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .cut = 14 + 20 + 20, .cut_lengths = true },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "7 bytes of UDP", BASE,
	  { UDP4(DEV, RS, 5004, 50000), .cut = 14 + 20 + 7, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "8 bytes of UDP is enough", BASE,
	  { UDP4(DEV, RS, 5004, 50000), .cut = 14 + 20 + 8, .cut_lengths = true },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_UDP, 50000) },
	{ "3 bytes of ICMP", BASE,
	  { ICMP4(SC, RS, 8), .cut = 14 + 20 + 3, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "4 bytes of ICMP is enough", BASE,
	  { ICMP4(SC, RS, 8), .cut = 14 + 20 + 4, .cut_lengths = true },
	  PASS(ICMP, PASS) },
	{ "inside the IPv6 header", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .cut = 14 + 39 }, DROP(MALFORMED) },
	{ "IPv6 header, no TCP", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .cut = 14 + 40, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "IPv6, 19 bytes of TCP", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .cut = 14 + 40 + 19, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "inside a hop-by-hop header", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS }, .next = 1,
	    .cut = 14 + 40 + 7, .cut_lengths = true }, DROP(MALFORMED) },
	{ "inside a long hop-by-hop header", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS }, .ext_len = { 3 },
	    .next = 1, .cut = 14 + 40 + 24, .cut_lengths = true }, DROP(MALFORMED) },
	{ "after the hop-by-hop header, no TCP", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS }, .next = 1,
	    .cut = 14 + 40 + 8, .cut_lengths = true }, DROP(MALFORMED) },
	{ "inside a fragment header", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_FRAGMENT }, .next = 1, .frag = true,
	    .more = true, .frag_id = 7, .cut = 14 + 40 + 7, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "inside an authentication header", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_AH }, .next = 1,
	    .cut = 14 + 40 + 20, .cut_lengths = true }, DROP(MALFORMED) },
	{ "3 bytes of ICMPv6", BASE,
	  { ICMP6(SC6, RS6, 128), .cut = 14 + 40 + 3, .cut_lengths = true },
	  DROP(MALFORMED) },
	{ "3 bytes of neighbour solicitation is malformed, not bypass", BASE,
	  { ICMP6(SC6, RS6, 135), .cut = 14 + 40 + 3, .cut_lengths = true },
	  DROP(MALFORMED) },
};

static void test_truncation(void **state)
{
	RUN(truncation_cases);
}

static const struct verdict_case ipv6_cases[] = {
	{ "IPv6 TCP", BASE, { TCP6(SC6, RS6, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "hop-by-hop, routing and destination options before TCP", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS, P_ROUTING, P_DSTOPTS },
	    .ext_len = { 0, 2, 1 }, .next = 3 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "the same headers before a closed port", BASE,
	  { TCP6(SC6, RS6, 40000, 8966, F_SYN), .ext = { P_HOPOPTS, P_ROUTING, P_DSTOPTS },
	    .next = 3 },
	  DROP(LOCAL_ONLY), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "authentication header (RFC 4302 length) before TCP", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS, P_AH }, .ext_len = { 0, 4 },
	    .next = 2 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "a long hop-by-hop header (2 KiB)", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS }, .ext_len = { 255 },
	    .next = 1 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "8 extension headers are walked", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { 0, 60, 60, 60, 60, 60, 60, 60 },
	    .next = 8 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "9 extension headers are malformed", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { 0, 60, 60, 60, 60, 60, 60, 60, 60 },
	    .next = 9 },
	  DROP(MALFORMED) },
	{ "GRE (47) has no ports", BASE, { IP6(SC6, RS6, P_GRE) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "SCTP (132) has no ports the policy knows", BASE,
	  { IP6(SC6, RS6, P_SCTP), .sport = 40000, .dport = 7563 },
	  DROP(PORT_NOT_ALLOWED) },
	{ "SCTP after a destination options header", BASE,
	  { IP6(SC6, RS6, P_SCTP), .dport = 7563, .ext = { P_DSTOPTS }, .next = 1 },
	  DROP(PORT_NOT_ALLOWED) },
	{ "no next header (59)", BASE, { IP6(SC6, RS6, P_NONE) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "GRE over IPv4", BASE, { IP4(SC, RS, P_GRE) }, DROP(PORT_NOT_ALLOWED) },
	{ "IPv4 protocol 58 is not ICMP", DENY, { IP4(SC, RS, P_ICMPV6) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "IPv6 next header 1 is not ICMPv6", DENY, { IP6(SC6, RS6, P_ICMP) },
	  DROP(PORT_NOT_ALLOWED) },
};

static void test_ipv6(void **state)
{
	RUN(ipv6_cases);
}

static const struct verdict_case unlisted_cases[] = {
	{ "unlisted IPv4 destination passes", BASE, { TCP4(SC, OUT, 40000, 443, F_SYN) },
	  PASS(UNLISTED, PASS) },
	{ "unlisted IPv6 destination passes", BASE, { TCP6(SC6, OUT6, 40000, 443, F_SYN) },
	  PASS(UNLISTED, PASS) },
	{ "just past the recording-server /28", BASE, { TCP4(SC, RS_PAST, 40000, 7563, F_SYN) },
	  PASS(UNLISTED, PASS) },
	{ "last address of the /28", BASE, { TCP4(SC, RS_LAST, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "unlisted IPv4 destination drops", CLOSED, { TCP4(SC, OUT, 40000, 443, F_SYN) },
	  DROP(UNLISTED) },
	{ "unlisted IPv6 destination drops", CLOSED, { TCP6(SC6, OUT6, 40000, 443, F_SYN) },
	  DROP(UNLISTED) },
	{ "unlisted comes before ICMP", CLOSED, { ICMP4(SC, OUT, 8) }, DROP(UNLISTED) },
	{ "a malformed packet to an unlisted host is malformed", CLOSED,
	  { TCP4(SC, OUT, 40000, 443, F_SYN), .doff = 3 }, DROP(MALFORMED) },
	{ "0.0.0.0/0 sources reach the recording server over IPv4", ANY_V4,
	  { TCP4("198.51.100.9", RS, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "0.0.0.0/0 never matches an IPv6 source", ANY_V4,
	  { TCP6("2001:db8::9", RS6, 40000, 7563, F_SYN) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "0.0.0.0/0 does not protect every IPv4 destination", ANY_V4,
	  { TCP4(RS, "198.51.100.9", 7563, 40000, F_SYN) }, PASS(UNLISTED, PASS) },
	{ "0.0.0.0/0 does not protect IPv6 destinations", ANY_V4,
	  { TCP6(RS6, "2001:db8::9", 7563, 40000, F_SYN) }, PASS(UNLISTED, PASS) },
	{ "any: IPv4 sources", ANY_BOTH, { TCP4("198.51.100.9", RS, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "any: IPv6 sources", ANY_BOTH, { TCP6("2001:db8::9", RS6, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "any: still unlisted as a destination", ANY_BOTH,
	  { TCP6(RS6, "2001:db8::9", 7563, 40000, F_SYN) }, DROP(UNLISTED) },
};

static void test_unlisted(void **state)
{
	RUN(unlisted_cases);
}

static const struct verdict_case icmp_cases[] = {
	{ "allow: echo request", BASE, { ICMP4(SC, RS, 8) }, PASS(ICMP, PASS) },
	{ "allow: ICMPv6 echo request", BASE, { ICMP6(SC6, RS6, 128) }, PASS(ICMP, PASS) },
	{ "allow: from an unknown source", BASE, { ICMP4(OUT, RS, 8) }, PASS(ICMP, PASS) },
	{ "errors-only: echo request drops", ERRORS_ONLY, { ICMP4(SC, RS, 8) },
	  DROP(ICMP) },
	{ "errors-only: echo reply drops", ERRORS_ONLY, { ICMP4(SC, RS, 0) },
	  DROP(ICMP) },
	{ "errors-only: redirect drops", ERRORS_ONLY, { ICMP4(SC, RS, 5) },
	  DROP(ICMP) },
	{ "errors-only: destination unreachable passes", ERRORS_ONLY, { ICMP4(SC, RS, 3) },
	  PASS(ICMP, PASS) },
	{ "errors-only: time exceeded passes", ERRORS_ONLY, { ICMP4(SC, RS, 11) },
	  PASS(ICMP, PASS) },
	{ "errors-only: ICMPv6 unreachable passes", ERRORS_ONLY, { ICMP6(SC6, RS6, 1) },
	  PASS(ICMP, PASS) },
	{ "errors-only: ICMPv6 packet too big passes", ERRORS_ONLY, { ICMP6(SC6, RS6, 2) },
	  PASS(ICMP, PASS) },
	{ "errors-only: ICMPv6 time exceeded passes", ERRORS_ONLY, { ICMP6(SC6, RS6, 3) },
	  PASS(ICMP, PASS) },
	{ "errors-only: ICMPv6 parameter problem drops", ERRORS_ONLY, { ICMP6(SC6, RS6, 4) },
	  DROP(ICMP) },
	{ "errors-only: ICMPv6 echo drops", ERRORS_ONLY, { ICMP6(SC6, RS6, 128) },
	  DROP(ICMP) },
	{ "errors-only: neighbour solicitation still passes", ERRORS_ONLY,
	  { ICMP6(SC6, RS6, 135) }, PASS(BYPASS, PASS) },
	{ "deny: unreachable drops", DENY, { ICMP4(SC, RS, 3) }, DROP(ICMP) },
	{ "deny: ICMPv6 packet too big drops", DENY, { ICMP6(SC6, RS6, 2) },
	  DROP(ICMP) },
	{ "deny: ICMP in two VLAN tags drops", DENY, { ICMP4(SC, RS, 8), .vlans = 2 },
	  DROP(ICMP) },
	{ "deny: ICMPv6 after a hop-by-hop header drops", DENY,
	  { ICMP6(SC6, RS6, 128), .ext = { P_HOPOPTS }, .next = 1 }, DROP(ICMP) },
	{ "deny: to an unlisted address it is the unlisted rule", BASE, { ICMP4(SC, OUT, 8) },
	  PASS(UNLISTED, PASS) },
};

static void test_icmp(void **state)
{
	RUN(icmp_cases);
}

static const struct verdict_case port_cases[] = {
	{ "smart client to recording server 7563", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "devices to recording server 7563: port open, not to them", BASE,
	  { TCP4(DEV, RS, 40000, 7563, F_SYN) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "unknown source to 7563", BASE, { TCP4(OUT, RS, 40000, 7563, F_SYN) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "udp 7563 is not tcp 7563", BASE, { UDP4(SC, RS, 40000, 7563) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "recording server 8966 is local only", BASE, { TCP4(SC, RS, 40000, 8966, F_SYN) },
	  DROP(LOCAL_ONLY), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "management server 12345 from a smart client", BASE,
	  { TCP4(SC, MS, 40000, 12345, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(MANAGEMENT_SERVER, P_TCP, 12345) },
	{ "management server 12345 over IPv6", BASE, { TCP6(SC6, MS6, 40000, 12345, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(MANAGEMENT_SERVER, P_TCP, 12345) },
	{ "management server 12345 from devices", BASE, { TCP4(DEV, MS, 40000, 12345, F_SYN) },
	  DROP(SRC_NOT_ALLOWED), RULE(MANAGEMENT_SERVER, P_TCP, 12345) },
	{ "management server 12346: nothing", BASE, { TCP4(SC, MS, 40000, 12346, F_SYN) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "devices to recording server over udp: nothing in the catalog", BASE,
	  { UDP4(DEV, RS, 5004, 5004) }, DROP(PORT_NOT_ALLOWED) },
	{ "extra flow 50000-50999: first port", BASE, { UDP4(DEV, RS, 5004, 50000) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_UDP, 50000) },
	{ "extra flow: last port", BASE, { UDP4(DEV, RS, 5004, 50999) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_UDP, 50999) },
	{ "extra flow: just below", BASE, { UDP4(DEV, RS, 5004, 49999) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "extra flow: just above", BASE, { UDP4(DEV, RS, 5004, 51000) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "extra flow: not from smart clients", BASE, { UDP4(SC, RS, 5004, 50500) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_UDP, 50500) },
	{ "extra flow is udp only", BASE, { TCP4(DEV, RS, 5004, 50500, F_SYN) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "recording server to a camera's RTSP", BASE, { TCP4(RS, DEV, 40000, 554, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(DEVICES, P_TCP, 554) },
};

static void test_ports(void **state)
{
	RUN(port_cases);
}

static const struct verdict_case return_cases[] = {
	{ "SYN-ACK from 7563 back to the smart client", BASE,
	  { TCP4(RS, SC, 7563, 40000, F_SYN | F_ACK) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "ACK from 7563", BASE, { TCP4(RS, SC, 7563, 40000, F_ACK) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "FIN-ACK from 7563", BASE, { TCP4(RS, SC, 7563, 40000, F_FIN | F_ACK) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "RST from 7563", BASE, { TCP4(RS, SC, 7563, 40000, F_RST) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "a SYN from port 7563 never rides a return rule", BASE,
	  { TCP4(RS, SC, 7563, 40000, F_SYN) }, DROP(PORT_NOT_ALLOWED) },
	{ "IPv6 SYN-ACK", BASE, { TCP6(RS6, SC6, 7563, 40000, F_SYN | F_ACK) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv6 SYN", BASE, { TCP6(RS6, SC6, 7563, 40000, F_SYN) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "a return from a host that is not the flow's server", BASE,
	  { TCP4(DEV, SC, 7563, 40000, F_SYN | F_ACK) }, DROP(PORT_NOT_ALLOWED) },
	{ "a return to a host that is not the flow's client", BASE,
	  { TCP4(RS, DEV, 7563, 40000, F_SYN | F_ACK) }, DROP(PORT_NOT_ALLOWED) },
	{ "a local-only port has no return", BASE,
	  { TCP4(RS, SC, 8966, 40000, F_SYN | F_ACK) }, DROP(PORT_NOT_ALLOWED) },
	{ "udp return from the range's first port", BASE, { UDP4(RS, DEV, 50000, 5004) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_UDP, 50000) },
	{ "udp return from the range's last port", BASE, { UDP4(RS, DEV, 50999, 5004) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_UDP, 50999) },
	{ "udp return from just past the range", BASE, { UDP4(RS, DEV, 51000, 5004) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "udp return from just below the range", BASE, { UDP4(RS, DEV, 49999, 5004) },
	  DROP(PORT_NOT_ALLOWED) },
	{ "the camera answers the recording server's RTSP", BASE,
	  { TCP4(DEV, RS, 554, 40000, F_SYN | F_ACK) },
	  PASS(RETURN, PASS), RULE(DEVICES, P_TCP, 554) },
};

static void test_return(void **state)
{
	RUN(return_cases);
}

#define FRAG4(s, d, dp, id, off, mf) \
	TCP4(s, d, 40000, dp, F_SYN), .frag = true, .frag_id = id, .frag_off = off, \
	.more = mf, .payload = 16
#define FRAG6(s, d, dp, id, off, mf) \
	TCP6(s, d, 40000, dp, F_SYN), .ext = { P_FRAGMENT }, .next = 1, .frag = true, \
	.frag_id = id, .frag_off = off, .more = mf, .payload = 16

static const struct verdict_case fragment_cases[] = {
	/* in order */
	{ "IPv4 first fragment is judged by its ports", BASE,
	  { FRAG4(SC, RS, 7563, 100, 0, true) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "its second fragment follows it", BASE, { FRAG4(SC, RS, 7563, 100, 40, true) },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "and its last", BASE, { FRAG4(SC, RS, 7563, 100, 80, false) },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "another id from the same hosts is unknown", BASE,
	  { FRAG4(SC, RS, 7563, 199, 40, false) }, DROP(FRAGMENT) },
	{ "the same id from another source is unknown", BASE,
	  { FRAG4("10.30.0.8", RS, 7563, 100, 40, false) }, DROP(FRAGMENT) },
	/* out of order */
	{ "IPv4 later fragment before its first: unknown, dropped", BASE,
	  { FRAG4(SC, RS, 7563, 101, 40, false) }, DROP(FRAGMENT) },
	{ "then the first passes", BASE, { FRAG4(SC, RS, 7563, 101, 0, true) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "and a retransmitted later one follows it", BASE,
	  { FRAG4(SC, RS, 7563, 101, 40, false) },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	/* a dropped first */
	{ "a first fragment to a closed port drops", BASE,
	  { FRAG4(DEV, RS, 7563, 102, 0, true) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "and so do the rest", BASE, { FRAG4(DEV, RS, 7563, 102, 40, false) },
	  DROP(FRAGMENT) },
	{ "a later fragment's bytes are never ports", BASE,
	  { FRAG4(DEV, RS, 50000, 103, 40, false) }, DROP(FRAGMENT) },
	{ "a reused id whose first now drops does not inherit the pass", BASE,
	  { FRAG4(SC, RS, 8966, 100, 0, true) },
	  DROP(LOCAL_ONLY), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "so its later fragments drop", BASE, { FRAG4(SC, RS, 8966, 100, 40, false) },
	  DROP(FRAGMENT) },
	{ "a later fragment to an unlisted host is the unlisted rule", BASE,
	  { FRAG4(SC, OUT, 7563, 104, 40, false) }, PASS(UNLISTED, PASS) },
	{ "a first ICMP fragment passes by the icmp setting", BASE,
	  { ICMP4(SC, RS, 8), .frag = true, .frag_id = 105, .more = true, .payload = 32 },
	  PASS(ICMP, PASS) },
	{ "and its later fragment follows", BASE,
	  { ICMP4(SC, RS, 8), .frag = true, .frag_id = 105, .frag_off = 40, .payload = 32 },
	  PASS(FRAGMENT, PASS) },
	{ "a later ICMP fragment is not judged as ICMP", DENY,
	  { ICMP4(SC, RS, 3), .frag = true, .frag_id = 106, .frag_off = 40, .payload = 32 },
	  DROP(FRAGMENT) },
	{ "a return first fragment", BASE,
	  { TCP4(RS, SC, 7563, 40000, F_ACK), .frag = true, .frag_id = 107, .more = true,
	    .payload = 16 },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "its later fragment counts for the same rule", BASE,
	  { TCP4(RS, SC, 7563, 40000, F_ACK), .frag = true, .frag_id = 107, .frag_off = 40,
	    .payload = 16 },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	/* IPv6 */
	{ "IPv6 first fragment", BASE, { FRAG6(SC6, RS6, 7563, 0x10000, 0, true) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv6 later fragment follows", BASE, { FRAG6(SC6, RS6, 7563, 0x10000, 40, false) },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv6 later fragment before its first", BASE,
	  { FRAG6(SC6, RS6, 7563, 0x10001, 40, false) }, DROP(FRAGMENT) },
	{ "then its first", BASE, { FRAG6(SC6, RS6, 7563, 0x10001, 0, true) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "then the later one again", BASE, { FRAG6(SC6, RS6, 7563, 0x10001, 40, false) },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv6 first fragment after hop-by-hop, with options after it", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS, P_FRAGMENT, P_DSTOPTS },
	    .next = 3, .frag = true, .frag_id = 0x10002, .more = true, .payload = 16 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "its later fragment", BASE,
	  { TCP6(SC6, RS6, 40000, 7563, F_SYN), .ext = { P_HOPOPTS, P_FRAGMENT, P_DSTOPTS },
	    .next = 3, .frag = true, .frag_id = 0x10002, .frag_off = 64, .payload = 16 },
	  PASS(FRAGMENT, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "IPv6 first fragment to a closed port", BASE,
	  { FRAG6(SC6, RS6, 8966, 0x10003, 0, true) },
	  DROP(LOCAL_ONLY), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "its later fragment", BASE, { FRAG6(SC6, RS6, 8966, 0x10003, 40, false) },
	  DROP(FRAGMENT) },
	{ "an atomic fragment (offset 0, no more) is a whole packet", BASE,
	  { FRAG6(SC6, RS6, 7563, 0x10004, 0, false) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	/* unknown_fragments: pass */
	{ "unknown IPv4 later fragment passes when the site says so", FRAGS_PASS,
	  { FRAG4(SC, RS, 7563, 150, 40, false) }, PASS(FRAGMENT, PASS) },
	{ "unknown IPv6 later fragment passes when the site says so", FRAGS_PASS,
	  { FRAG6(SC6, RS6, 7563, 0x10050, 40, false) }, PASS(FRAGMENT, PASS) },
	{ "a dropped first's later fragment is unknown, so it passes", FRAGS_PASS,
	  { FRAG4(DEV, RS, 7563, 102, 80, false) }, PASS(FRAGMENT, PASS) },
};

static void test_fragments(void **state)
{
	RUN(fragment_cases);
}

static const struct verdict_case monitor_cases[] = {
	{ "monitor: an allowed flow passes", MONITOR, { TCP4(SC, RS, 40000, 7563, F_SYN) },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "monitor: src_not_allowed would drop", MONITOR, { TCP4(DEV, RS, 40000, 7563, F_SYN) },
	  PASS(SRC_NOT_ALLOWED, WOULD_DROP), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "monitor: local_only would drop", MONITOR, { TCP4(SC, RS, 40000, 8966, F_SYN) },
	  PASS(LOCAL_ONLY, WOULD_DROP), RULE(RECORDING_SERVER, P_TCP, 8966) },
	{ "monitor: port_not_allowed would drop", MONITOR, { TCP4(SC, RS, 40000, 1, F_SYN) },
	  PASS(PORT_NOT_ALLOWED, WOULD_DROP) },
	{ "monitor: malformed would drop", MONITOR,
	  { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 4 }, PASS(MALFORMED, WOULD_DROP) },
	{ "monitor: unlisted would drop", MONITOR, { TCP4(SC, OUT, 40000, 80, F_SYN) },
	  PASS(UNLISTED, WOULD_DROP) },
	{ "monitor: icmp deny would drop", MONITOR, { ICMP4(SC, RS, 8) },
	  PASS(ICMP, WOULD_DROP) },
	{ "monitor: ND still bypasses", MONITOR, { ICMP6(SC6, RS6, 135) },
	  PASS(BYPASS, PASS) },
	{ "monitor: unknown fragment would drop", MONITOR,
	  { FRAG4(SC, RS, 7563, 300, 40, false) }, PASS(FRAGMENT, WOULD_DROP) },
	{ "monitor: a first fragment that would drop", MONITOR,
	  { FRAG4(DEV, RS, 7563, 301, 0, true) },
	  PASS(SRC_NOT_ALLOWED, WOULD_DROP), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "monitor: is not remembered as passed", MONITOR,
	  { FRAG4(DEV, RS, 7563, 301, 40, false) }, PASS(FRAGMENT, WOULD_DROP) },
	{ "monitor: return rules still pass", MONITOR,
	  { TCP4(RS, SC, 7563, 40000, F_SYN | F_ACK) },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
};

static void test_monitor(void **state)
{
	RUN(monitor_cases);
}

/* ---- counters ----------------------------------------------------------- */

static const struct verdict_case counted_cases[] = {
	{ "allowed", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN) }, PASS(ALLOWED, PASS),
	  RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "allowed, bigger", BASE, { TCP4(SC, RS, 40000, 7563, F_ACK), .payload = 100 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "allowed, IPv6", BASE, { TCP6(SC6, RS6, 40000, 7563, F_ACK), .payload = 7 },
	  PASS(ALLOWED, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "return", BASE, { TCP4(RS, SC, 7563, 40000, F_ACK), .payload = 3 },
	  PASS(RETURN, PASS), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "malformed", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .ihl = 4 },
	  DROP(MALFORMED) },
	{ "malformed again", BASE, { TCP4(SC, RS, 40000, 7563, F_SYN), .vlans = 3 },
	  DROP(MALFORMED) },
	{ "unlisted", BASE, { TCP4(SC, OUT, 40000, 80, F_SYN) }, PASS(UNLISTED, PASS) },
	{ "src not allowed", BASE, { TCP4(DEV, RS, 40000, 7563, F_SYN) },
	  DROP(SRC_NOT_ALLOWED), RULE(RECORDING_SERVER, P_TCP, 7563) },
	{ "port not allowed to the management server", BASE,
	  { TCP4(SC, MS, 40000, 1, F_SYN) }, DROP(PORT_NOT_ALLOWED) },
	{ "arp", BASE, { .ethertype = ETH_ARP }, PASS(BYPASS, PASS) },
};

/* Every counter after a table equals what the table implies, packets and bytes. */
static void test_counters(void **state)
{
	struct vmg_counter want_reason[VMG_REASON_SLOTS] = { { 0 } };
	static struct vmg_counter want_role[VMG_ROLE_SLOTS], got_role[VMG_ROLE_SLOTS];
	struct vmg_counter got_reason[VMG_REASON_SLOTS], want_rule = { 0 }, got_rule;
	const size_t n = sizeof(counted_cases) / sizeof(counted_cases[0]);
	uint32_t rule;

	NEED_BPF();
	use_site(BASE);
	rule = rule_id(applied, &(struct rule_ref){ true, ROLE_RECORDING_SERVER, P_TCP, 7563 });
	memset(want_role, 0, sizeof(want_role));
	assert_int_equal(dp_reset_counters(dp), 0);

	for (size_t i = 0; i < n; i++) {
		const struct verdict_case *c = &counted_cases[i];
		struct dp_verdict v;
		int role = -1;
		size_t len;

		judge_frame(&c->pkt, &v, &len);
		assert_int_equal(v.reason, c->reason);
		assert_int_equal(v.action, c->action);
		want_reason[VMG_REASON_IDX(c->reason, c->action)].packets++;
		want_reason[VMG_REASON_IDX(c->reason, c->action)].bytes += len;
		if (c->pkt.dst && !strcmp(c->pkt.dst, RS))
			role = ROLE_RECORDING_SERVER;
		else if (c->pkt.dst && !strcmp(c->pkt.dst, RS6))
			role = ROLE_RECORDING_SERVER;
		else if (c->pkt.dst && !strcmp(c->pkt.dst, SC))
			role = ROLE_SMART_CLIENT;
		else if (c->pkt.dst && !strcmp(c->pkt.dst, MS))
			role = ROLE_MANAGEMENT_SERVER;
		if (role >= 0 && c->reason != VMG_R_MALFORMED) {
			want_role[VMG_ROLE_IDX(role, c->reason)].packets++;
			want_role[VMG_ROLE_IDX(role, c->reason)].bytes += len;
		}
		if (v.rule_id == rule &&
		    (c->reason == VMG_R_ALLOWED || c->reason == VMG_R_RETURN)) {
			want_rule.packets++;
			want_rule.bytes += len;
		}
	}

	assert_int_equal(dp_reason_counters(dp, got_reason), 0);
	for (int i = 0; i < VMG_REASON_SLOTS; i++) {
		if (got_reason[i].packets != want_reason[i].packets ||
		    got_reason[i].bytes != want_reason[i].bytes)
			fail_msg("reason %s/%s: got %llu packets %llu bytes, want %llu %llu",
				 reason_name(i / VMG_A_COUNT), action_name(i % VMG_A_COUNT),
				 got_reason[i].packets, got_reason[i].bytes,
				 want_reason[i].packets, want_reason[i].bytes);
	}
	assert_int_equal(dp_role_counters(dp, got_role), 0);
	for (int i = 0; i < VMG_ROLE_SLOTS; i++) {
		if (got_role[i].packets != want_role[i].packets ||
		    got_role[i].bytes != want_role[i].bytes)
			fail_msg("role %s reason %s: got %llu packets %llu bytes, want %llu %llu",
				 role_name(i / VMG_R_COUNT), reason_name(i % VMG_R_COUNT),
				 got_role[i].packets, got_role[i].bytes,
				 want_role[i].packets, want_role[i].bytes);
	}
	assert_int_equal(dp_rule_counter(dp, rule, &got_rule), 0);
	assert_int_equal(got_rule.packets, want_rule.packets);
	assert_int_equal(got_rule.bytes, want_rule.bytes);
	assert_int_equal(want_rule.packets, 4);

	assert_int_equal(dp_reset_counters(dp), 0);
	assert_int_equal(dp_reason_counters(dp, got_reason), 0);
	for (int i = 0; i < VMG_REASON_SLOTS; i++)
		assert_int_equal(got_reason[i].packets, 0);
}

/* ---- events ------------------------------------------------------------ */

struct event_log {
	long n;
	struct vmg_event first;
};

static int log_event(void *ctx, const struct vmg_event *e)
{
	struct event_log *log = ctx;

	if (!log->n)
		log->first = *e;
	log->n++;
	return 0;
}

static void drain_events(void)
{
	int n;

	do {
		n = dp_events_poll(dp, 0);
		assert_true(n >= 0);
	} while (n > 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drops are reported, passes are not, and no CPU reports more than its share a second. */
static void test_events_rate_limited(void **state)
{
	const struct frame_spec allowed = { TCP4(SC, RS, 40000, 7563, F_SYN) };
	const struct frame_spec dropped = { TCP4(DEV, RS, 40001, 7563, F_SYN) };
	uint64_t suppressed_before, suppressed_after;
	static struct event_log log;
	static bool subscribed;
	cpu_set_t cpus, saved;
	struct dp_verdict v;
	uint8_t src[4], dst[4];
	const int extra = 100;
	double t0;

	NEED_BPF();
	use_site(BASE);
	if (!subscribed) {
		assert_int_equal(dp_events_subscribe(dp, log_event, &log), 0);
		subscribed = true;
	}
	/* one CPU, so one rate-limit window */
	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	assert_int_equal(sched_setaffinity(0, sizeof(cpus), &cpus), 0);

	drain_events();
	memset(&log, 0, sizeof(log));
	for (int i = 0; i < 10; i++)
		judge_frame(&allowed, &v, NULL);
	drain_events();
	assert_int_equal(log.n, 0);

	/* let the window of earlier tests' drops run out */
	usleep(1100 * 1000);
	assert_int_equal(dp_events_suppressed(dp, &suppressed_before), 0);
	t0 = now_s();
	for (int i = 0; i < VMG_EVENTS_PER_SEC + extra; i++)
		judge_frame(&dropped, &v, NULL);
	if (now_s() - t0 > 0.9) {
		sched_setaffinity(0, sizeof(saved), &saved);
		print_message("skipped: judging took longer than one rate-limit window\n");
		skip();
	}
	drain_events();
	assert_int_equal(dp_events_suppressed(dp, &suppressed_after), 0);
	sched_setaffinity(0, sizeof(saved), &saved);

	assert_int_equal(log.n, VMG_EVENTS_PER_SEC);
	assert_int_equal(suppressed_after - suppressed_before, extra);

	inet_pton(AF_INET, DEV, src);
	inet_pton(AF_INET, RS, dst);
	assert_memory_equal(log.first.src, src, 4);
	assert_memory_equal(log.first.dst, dst, 4);
	assert_int_equal(log.first.family, VMG_FAMILY_V4);
	assert_int_equal(log.first.proto, P_TCP);
	assert_int_equal(log.first.sport, 40001);
	assert_int_equal(log.first.dport, 7563);
	assert_int_equal(log.first.reason, VMG_R_SRC_NOT_ALLOWED);
	assert_int_equal(log.first.action, VMG_A_DROP);
	assert_int_equal(log.first.role, ROLE_RECORDING_SERVER);
	assert_true(log.first.ts_ns > 0);
}

/* ---- policy swaps ------------------------------------------------------- */

/*
 * Two policies for the same addresses, built so that a packet judged
 * partly by one and partly by the other gets a verdict neither gives:
 * one closes unlisted destinations and the other opens them, the hosts
 * that are protected differ, and the same port has a different rule.
 */
#define SWAP_A                                                                      \
	"catalog: xprotect\n"                                                       \
	"unlisted_destinations: drop\n"                                             \
	"icmp: allow\n"                                                             \
	"hosts:\n"                                                                  \
	"  recording-server: [10.50.0.1]\n"                                         \
	"  smart-client: [10.50.0.2]\n"                                             \
	"  management-server: [10.50.0.3]\n"

#define SWAP_B                                                                      \
	"catalog: xprotect\n"                                                       \
	"unlisted_destinations: pass\n"                                             \
	"icmp: deny\n"                                                              \
	"hosts:\n"                                                                  \
	"  recording-server: [10.50.0.1]\n"                                         \
	"  devices: [10.50.0.2]\n"                                                  \
	"  management-server: [10.50.0.4]\n"

static const struct frame_spec swap_frames[] = {
	{ TCP4("10.50.0.2", "10.50.0.1", 40000, 7563, F_SYN) },
	{ TCP4("10.50.0.2", "10.50.0.3", 40000, 12345, F_SYN) },
	{ TCP4("10.50.0.2", "10.50.0.4", 40000, 12345, F_SYN) },
	{ ICMP4("10.50.0.2", "10.50.0.1", 8) },
};

#define NSWAP_FRAMES (sizeof(swap_frames) / sizeof(swap_frames[0]))

struct swap_run {
	const struct ruleset *a, *b;
	struct dp_verdict want[2][NSWAP_FRAMES];
	volatile bool done;
	int swaps;
	int apply_err;
};

static bool same_verdict(const struct dp_verdict *x, const struct dp_verdict *y)
{
	return x->xdp_action == y->xdp_action && x->reason == y->reason &&
	       x->action == y->action && x->rule_id == y->rule_id && x->dir == y->dir;
}

static void *swapper(void *arg)
{
	struct swap_run *run = arg;

	for (int i = 0; i < 200; i++) {
		run->apply_err = dp_apply(dp, i % 2 ? run->a : run->b);
		if (run->apply_err)
			break;
		run->swaps++;
	}
	run->done = true;
	return NULL;
}

static void test_swap_is_atomic(void **state)
{
	struct swap_run run = { 0 };
	long seen[2] = { 0 }, mixed = 0, judged = 0;
	pthread_t thread;

	NEED_BPF();
	run.a = site_rules(SWAP_A);
	run.b = site_rules(SWAP_B);

	/* what each policy says on its own, and that they disagree on every frame */
	for (int p = 0; p < 2; p++) {
		assert_int_equal(dp_apply(dp, p ? run.b : run.a), 0);
		applied = p ? run.b : run.a;
		for (size_t f = 0; f < NSWAP_FRAMES; f++)
			judge_frame(&swap_frames[f], &run.want[p][f], NULL);
	}
	for (size_t f = 0; f < NSWAP_FRAMES; f++)
		assert_false(same_verdict(&run.want[0][f], &run.want[1][f]));

	assert_int_equal(pthread_create(&thread, NULL, swapper, &run), 0);
	while (!run.done) {
		for (size_t f = 0; f < NSWAP_FRAMES; f++) {
			uint8_t buf[FRAME_MAX];
			size_t n = build_frame(&swap_frames[f], buf);
			struct dp_verdict v;

			assert_int_equal(dp_judge(dp, buf, n, &v), 0);
			judged++;
			if (same_verdict(&v, &run.want[0][f])) {
				seen[0]++;
			} else if (same_verdict(&v, &run.want[1][f])) {
				seen[1]++;
			} else {
				mixed++;
				print_error("frame %zu judged by neither policy: %s %s rule %d\n",
					    f, reason_name(v.reason), action_name(v.action),
					    (int)v.rule_id);
			}
		}
	}
	pthread_join(thread, NULL);
	applied = NULL;		/* whichever came last: the next table applies its own */

	print_message("%d swaps, %ld frames judged: %ld by A, %ld by B, %ld mixed\n",
		      run.swaps, judged, seen[0], seen[1], mixed);
	assert_int_equal(run.apply_err, 0);
	assert_int_equal(mixed, 0);
	assert_true(seen[0] > 0);
	assert_true(seen[1] > 0);
}

/* ---- refused policies --------------------------------------------------- */

struct snapshot {
	int gen;
	struct dp_entries active, idle;
	struct dp_verdict verdicts[4];
};

static const struct frame_spec probe_frames[] = {
	{ TCP4(SC, RS, 40000, 7563, F_SYN) },
	{ TCP4(DEV, RS, 40000, 7563, F_SYN) },
	{ TCP6(SC6, RS6, 40000, 7563, F_SYN) },
	{ TCP4(SC, OUT, 40000, 80, F_SYN) },
};

static void take_snapshot(struct snapshot *s)
{
	s->gen = dp_active_gen(dp);
	assert_in_range(s->gen, 0, 1);
	assert_int_equal(dp_gen_entries(dp, s->gen, &s->active), 0);
	assert_int_equal(dp_gen_entries(dp, !s->gen, &s->idle), 0);
	for (int i = 0; i < 4; i++)
		judge_frame(&probe_frames[i], &s->verdicts[i], NULL);
}

static void assert_unchanged(const struct snapshot *before)
{
	struct snapshot after;

	take_snapshot(&after);
	assert_int_equal(after.gen, before->gen);
	assert_memory_equal(&after.active, &before->active, sizeof(after.active));
	assert_int_equal(after.idle.hosts, 0);
	assert_int_equal(after.idle.prefixes_v4, 0);
	assert_int_equal(after.idle.prefixes_v6, 0);
	assert_int_equal(after.idle.ports, 0);
	for (int i = 0; i < 4; i++)
		assert_true(same_verdict(&after.verdicts[i], &before->verdicts[i]));
}

/* stderr into a buffer, to check what an operator is told */
static int capture_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	capture_fd = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

static void capture_end(char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	dup2(capture_fd, STDERR_FILENO);
	close(capture_fd);
	rewind(capture_file);
	n = fread(buf, 1, len - 1, capture_file);
	buf[n] = '\0';
	fclose(capture_file);
}

/*
 * The base policy with n exact addresses: its own, then 172.<first>.0.0 on,
 * each a management server as 10.10.0.5 is.
 */
static struct ruleset with_hosts(const struct ruleset *base, size_t n, uint8_t first)
{
	struct ruleset rs = *base;

	rs.nhosts = n;
	rs.hosts = calloc(n, sizeof(*rs.hosts));
	assert_non_null(rs.hosts);
	memcpy(rs.hosts, base->hosts, base->nhosts * sizeof(*rs.hosts));
	for (size_t i = base->nhosts; i < n; i++) {
		struct host_entry *h = &rs.hosts[i];
		size_t k = i - base->nhosts;

		h->pfx.family = VMG_FAMILY_V4;
		h->pfx.len = 32;
		h->pfx.addr[0] = 172;
		h->pfx.addr[1] = first + (k >> 16);
		h->pfx.addr[2] = k >> 8;
		h->pfx.addr[3] = k;
		h->val = base->hosts[0].val;
	}
	return rs;
}

/* Two generations of a policy as large as a generation may be fit side by side. */
static void test_full_policy_fits(void **state)
{
	const struct frame_spec to_first = { TCP4(SC, "172.16.0.1", 40000, 12345, F_SYN) };
	const struct frame_spec to_second = { TCP4(SC, "172.32.0.1", 40000, 12345, F_SYN) };
	struct ruleset first, second;
	struct dp_entries e;
	struct dp_verdict v;

	NEED_BPF();
	use_site(BASE);
	assert_string_equal(role_name(applied->hosts[0].val.role), "management-server");
	first = with_hosts(applied, VMG_MAX_HOSTS, 16);
	second = with_hosts(applied, VMG_MAX_HOSTS, 32);

	assert_int_equal(dp_apply(dp, &first), 0);
	judge_frame(&to_first, &v, NULL);
	assert_int_equal(v.reason, VMG_R_ALLOWED);
	assert_int_equal(dp_apply(dp, &second), 0);
	applied = NULL;
	judge_frame(&to_first, &v, NULL);
	assert_int_equal(v.reason, VMG_R_UNLISTED);
	judge_frame(&to_second, &v, NULL);
	assert_int_equal(v.reason, VMG_R_ALLOWED);

	assert_int_equal(dp_gen_entries(dp, dp_active_gen(dp), &e), 0);
	assert_int_equal(e.hosts, VMG_MAX_HOSTS);
	assert_int_equal(dp_gen_entries(dp, !dp_active_gen(dp), &e), 0);
	assert_int_equal(e.hosts, 0);
	free(first.hosts);
	free(second.hosts);
}

static void test_too_large_is_refused(void **state)
{
	struct ruleset big;
	struct snapshot before;
	char msg[512];
	int err;

	NEED_BPF();
	use_site(BASE);
	take_snapshot(&before);
	assert_int_equal(before.active.hosts, applied->nhosts);

	/* one exact address more than a generation of vmg_hosts holds */
	big = with_hosts(applied, VMG_MAX_HOSTS + 1, 16);
	capture_begin();
	err = dp_apply(dp, &big);
	capture_end(msg, sizeof(msg));
	free(big.hosts);

	assert_int_equal(err, -E2BIG);
	assert_non_null(strstr(msg, "policy does not fit map vmg_hosts: 262145 entries, "
				    "capacity 262144"));
	assert_unchanged(&before);
}

/* A failure halfway through filling (the kernel refuses a prefix) leaves nothing behind. */
static void test_failed_fill_rolls_back(void **state)
{
	struct ruleset bad;
	struct snapshot before;
	char msg[512];
	int err;

	NEED_BPF();
	use_site(BASE);
	take_snapshot(&before);

	bad = *applied;
	bad.prefixes = calloc(applied->nprefixes + 1, sizeof(*bad.prefixes));
	assert_non_null(bad.prefixes);
	memcpy(bad.prefixes, applied->prefixes, applied->nprefixes * sizeof(*bad.prefixes));
	bad.prefixes[applied->nprefixes] = applied->prefixes[0];
	bad.prefixes[applied->nprefixes].pfx.family = VMG_FAMILY_V4;
	bad.prefixes[applied->nprefixes].pfx.len = 33;	/* no such IPv4 prefix */
	bad.nprefixes++;

	capture_begin();
	err = dp_apply(dp, &bad);
	capture_end(msg, sizeof(msg));
	free(bad.prefixes);

	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(msg, "failed to fill the prefix maps"));
	assert_unchanged(&before);
}

/* ---- conntrack ---------------------------------------------------------- */

#define CT_SITE                                                                     \
	"catalog: xprotect\n"                                                       \
	"hosts:\n"                                                                  \
	"  recording-server: [127.0.0.1]\n"                                         \
	"  smart-client: [127.0.0.2]\n"

#define CT_PORT 45678

static int bring_up_lo(void)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* A TCP connection 127.0.0.2:*port -> 127.0.0.1:CT_PORT that conntrack has seen. */
static int connect_tracked(uint16_t *port)
{
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(CT_PORT) };
	struct sockaddr_in cli = { .sin_family = AF_INET };
	socklen_t len = sizeof(cli);
	int l, c;

	inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
	inet_pton(AF_INET, "127.0.0.2", &cli.sin_addr);
	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0 || bind(l, (void *)&srv, sizeof(srv)) || listen(l, 1) ||
	    bind(c, (void *)&cli, sizeof(cli)) || connect(c, (void *)&srv, sizeof(srv)) ||
	    getsockname(c, (void *)&cli, &len))
		return -errno;
	*port = ntohs(cli.sin_port);
	return 0;	/* the sockets stay open until the child exits */
}

/* In a network namespace of its own: conntrack on, one connection, then judge its reply. */
static int established_child(void)
{
	struct frame_spec reply = { TCP4("127.0.0.1", "127.0.0.2", CT_PORT, 0, F_ACK) };
	struct frame_spec orig = { TCP4("127.0.0.2", "127.0.0.1", 0, CT_PORT, F_ACK) };
	uint8_t buf[FRAME_MAX];
	struct dp_verdict v;
	struct ruleset rs;
	uint16_t port = 0;
	size_t n;

	if (unshare(CLONE_NEWNET) || bring_up_lo())
		return 10;
	if (system("nft -f - <<'EOF'\n"
		   "table inet vmg_test {\n"
		   "  chain out {\n"
		   "    type filter hook output priority 0;\n"
		   "    ct state new counter\n"
		   "  }\n"
		   "}\n"
		   "EOF\n"))
		return 11;
	if (connect_tracked(&port))
		return 12;

	if (compile_string(CT_SITE, "ct.yaml", &rs, true) || dp_apply(dp, &rs))
		return 13;
	reply.dport = port;
	orig.sport = port;

	/* no cmocka assertions here: this is a forked copy of the runner */
	n = build_frame(&reply, buf);
	if (dp_judge(dp, buf, n, &v))
		return 14;
	if (v.xdp_action != XDP_PASS || v.reason != VMG_R_ESTABLISHED) {
		fprintf(stderr, "reply: %s %s\n", reason_name(v.reason), action_name(v.action));
		return 1;
	}
	/* the client's own direction is no reply: nothing opens port 45678 */
	n = build_frame(&orig, buf);
	if (dp_judge(dp, buf, n, &v))
		return 14;
	if (v.xdp_action != XDP_DROP || v.reason != VMG_R_PORT_NOT_ALLOWED) {
		fprintf(stderr, "original: %s %s\n", reason_name(v.reason),
			action_name(v.action));
		return 2;
	}
	/* a reply no connection explains */
	reply.dport = port ^ 1;
	n = build_frame(&reply, buf);
	if (dp_judge(dp, buf, n, &v))
		return 14;
	if (v.xdp_action != XDP_DROP || v.reason != VMG_R_PORT_NOT_ALLOWED) {
		fprintf(stderr, "stray: %s %s\n", reason_name(v.reason), action_name(v.action));
		return 3;
	}
	return 0;
}

static void test_established(void **state)
{
	int status;
	pid_t pid;

	NEED_BPF();
	if (!dp_has_conntrack(dp)) {
		print_message("skipped: the kernel has no bpf_xdp_ct_lookup\n");
		skip();
	}
	if (system("command -v nft >/dev/null")) {
		print_message("skipped: nft is not installed\n");
		skip();
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(established_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the child filled the shared maps with its own policy */
	applied = NULL;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconfigured_passes),
		cmocka_unit_test(test_bypass),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unlisted),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_return),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_monitor),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_events_rate_limited),
		cmocka_unit_test(test_swap_is_atomic),
		cmocka_unit_test(test_full_policy_fits),
		cmocka_unit_test(test_too_large_is_refused),
		cmocka_unit_test(test_failed_fill_rolls_back),
		cmocka_unit_test(test_established),
	};

	setenv("VMSGATE_CATALOG_DIR", SRCDIR "/policies", 1);
	return cmocka_run_group_tests_name("verdicts", tests, setup, teardown);
}
