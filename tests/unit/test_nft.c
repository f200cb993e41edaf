// SPDX-License-Identifier: GPL-2.0-only
/*
 * nftables: the desired table computed from a policy, and the netlink
 * messages for it built and parsed back in memory. No root, no kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "compile.h"
#include "nft.h"
#include "site.h"
#include "util.h"

/* A small site: IPv4 and IPv6, a /32 inside a /16, `any`, one port range. */
#define SITE                                                                    \
	"hosts:\n"                                                              \
	"  recording-server: [10.0.1.0/24, \"fd00:1::/64\"]\n"                  \
	"  smart-client: [10.1.0.0/24, \"fd00:2::/64\"]\n"                      \
	"  devices: [10.2.0.0/16, 10.2.0.5, 10.2.1.0/24]\n"                     \
	"  mobile-client: [any]\n"                                              \
	"extra:\n"                                                              \
	"  - { from: [devices], to: recording-server, proto: udp, "             \
	"ports: \"50000-50999\", purpose: \"RTP from \\\"cameras\\\"\" }\n"

static struct nft_desired desired_of(const char *yaml)
{
	struct nft_desired d;
	struct ruleset rs;

	if (compile_string(yaml, "t.yaml", &rs, true))
		fail_msg("compile failed for:\n%s", yaml);
	assert_int_equal(nft_desired_build(&rs, &d), 0);
	ruleset_free(&rs);
	return d;
}

/* The intervals of a set, as "a, b, c". */
static const char *set_str(const struct nft_set_spec *s, char *buf, size_t len)
{
	char one[2 * INET6_ADDRSTRLEN + 2];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->niv && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					nft_interval_str(&s->iv[i], s->family, one,
							 sizeof(one)));
	return buf;
}

static const struct {
	const char *what;
	const char *prefixes;	/* space-separated, any order */
	uint8_t family;
	const char *want;
} merge_cases[] = {
	{ "overlapping prefixes become one", "10.0.0.0/24 10.0.0.128/25", VMG_FAMILY_V4,
	  "10.0.0.0/24" },
	{ "an address inside a prefix adds nothing", "10.0.0.5 10.0.0.0/16", VMG_FAMILY_V4,
	  "10.0.0.0/16" },
	{ "adjacent prefixes coalesce", "10.0.0.128/25 10.0.0.0/25", VMG_FAMILY_V4,
	  "10.0.0.0/24" },
	{ "adjacent addresses become a range", "10.0.0.2 10.0.0.1 10.0.0.3", VMG_FAMILY_V4,
	  "10.0.0.1-10.0.0.3" },
	{ "a gap of one address keeps two", "10.0.0.1 10.0.0.3", VMG_FAMILY_V4,
	  "10.0.0.1, 10.0.0.3" },
	{ "duplicates collapse", "10.0.0.1 10.0.0.1", VMG_FAMILY_V4, "10.0.0.1" },
	{ "IPv6 is left out of an IPv4 set", "10.0.0.1 fd00::1 fd00::/64", VMG_FAMILY_V4,
	  "10.0.0.1" },
	{ "IPv4 is left out of an IPv6 set", "10.0.0.1 fd00::1 fd00::/64", VMG_FAMILY_V6,
	  "fd00::/64" },
	{ "adjacent IPv6 prefixes coalesce", "fd00:0:0:1::/64 fd00::/64", VMG_FAMILY_V6,
	  "fd00::/63" },
	{ "/0 is the whole range and swallows the rest", "10.0.0.1 0.0.0.0/0 192.168.0.0/16",
	  VMG_FAMILY_V4, "0.0.0.0/0" },
	{ "::/0 is the whole IPv6 range", "::/0 fd00::1", VMG_FAMILY_V6, "::/0" },
	{ "the last addresses merge without wrapping", "255.255.255.255 255.255.255.254",
	  VMG_FAMILY_V4, "255.255.255.254/31" },
	{ "first and last addresses stay apart", "255.255.255.255 0.0.0.0", VMG_FAMILY_V4,
	  "0.0.0.0, 255.255.255.255" },
	{ "nothing of the family is no interval", "fd00::1", VMG_FAMILY_V4, "" },
};

static void test_intervals_merge(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(merge_cases); i++) {
		struct nft_set_spec s = { .family = merge_cases[i].family };
		struct prefix p[8];
		char text[256], buf[512], *tok, *save;
		size_t n = 0;
		bool cleared;

		snprintf(text, sizeof(text), "%s", merge_cases[i].prefixes);
		for (tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			assert_int_equal(prefix_parse(tok, &p[n++], &cleared), 0);
		assert_int_equal(nft_intervals_merge(p, n, s.family, &s.iv, &s.niv), 0);
		if (strcmp(set_str(&s, buf, sizeof(buf)), merge_cases[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", merge_cases[i].what, buf,
				 merge_cases[i].want);
		free(s.iv);
	}
}

/* Start and end elements as the kernel stores them; no end after the last address. */
static void test_set_elems(void **state)
{
	struct nft_set_spec s = { .family = VMG_FAMILY_V4 };
	struct prefix p[2];
	struct nft_elem *el;
	size_t n;
	bool cleared;
	static const uint8_t want[][4] = { { 10, 0, 0, 0 }, { 10, 0, 1, 0 },
					   { 255, 255, 255, 0 } };

	assert_int_equal(prefix_parse("10.0.0.0/24", &p[0], &cleared), 0);
	assert_int_equal(prefix_parse("255.255.255.0/24", &p[1], &cleared), 0);
	assert_int_equal(nft_intervals_merge(p, 2, s.family, &s.iv, &s.niv), 0);
	assert_int_equal(nft_set_elems(&s, &el, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(el[i].key, want[i], 4);
	assert_false(el[0].end);
	assert_false(el[0].open);
	assert_true(el[1].end);
	assert_false(el[2].end);
	assert_true(el[2].open);
	free(el);
	free(s.iv);
}

/* Each role with addresses gets a set per family; protected leaves `any` out. */
static void test_sets_of_site(void **state)
{
	static const struct {
		const char *name;
		const char *want;
	} sets[] = {
		{ "recording_server_v4", "10.0.1.0/24" },
		{ "recording_server_v6", "fd00:1::/64" },
		{ "smart_client_v4", "10.1.0.0/24" },
		{ "smart_client_v6", "fd00:2::/64" },
		{ "mobile_client_v4", "0.0.0.0/0" },
		{ "mobile_client_v6", "::/0" },
		{ "devices_v4", "10.2.0.0/16" },
		{ "protected_v4", "10.0.1.0/24, 10.1.0.0/24, 10.2.0.0/16" },
		{ "protected_v6", "fd00:1::/64, fd00:2::/64" },
	};
	struct nft_desired d = desired_of(SITE);
	char buf[512];

	assert_int_equal(d.nsets, ARRAY_SIZE(sets));
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		assert_string_equal(d.sets[i].name, sets[i].name);
		assert_string_equal(set_str(&d.sets[i], buf, sizeof(buf)), sets[i].want);
	}
	assert_null(nft_desired_find_set(&d, "devices_v6"));
	assert_non_null(nft_desired_find_set(&d, "protected_v6"));
	nft_desired_free(&d);
}

static const char *const site_rules[] = {
	"ct state established,related accept",
	"ip saddr @smart_client_v4 ip daddr @recording_server_v4 tcp dport 7563 accept "
	"comment \"Retrieving video and audio streams and sending PTZ commands.\"",
	"ip6 saddr @smart_client_v6 ip6 daddr @recording_server_v6 tcp dport 7563 accept "
	"comment \"Retrieving video and audio streams and sending PTZ commands.\"",
	"ip saddr @recording_server_v4 ip daddr @devices_v4 tcp dport 80 accept "
	"comment \"Authentication, configuration and data streams of video and audio over "
	"HTTP.\"",
	"ip saddr @recording_server_v4 ip daddr @devices_v4 tcp dport 443 accept "
	"comment \"Authentication, configuration and data streams of video and audio over "
	"HTTPS.\"",
	"ip saddr @recording_server_v4 ip daddr @devices_v4 tcp dport 554 accept "
	"comment \"Data streams of video and audio over RTSP.\"",
	"ip saddr @devices_v4 ip daddr @recording_server_v4 udp dport 50000-50999 accept "
	"comment \"RTP from 'cameras'\"",
	"ip daddr @protected_v4 counter drop",
	"ip6 daddr @protected_v6 counter drop",
};

/*
 * The whole chain in order: established first; an accept per source role
 * and family that has addresses on both sides (local-only ports have none);
 * quotes in a purpose become apostrophes; the drops last.
 */
static void test_rules_of_site(void **state)
{
	struct nft_desired d = desired_of(SITE);
	char buf[512];

	assert_int_equal(d.nrules, ARRAY_SIZE(site_rules));
	for (size_t i = 0; i < d.nrules; i++)
		assert_string_equal(nft_rule_str(&d.rules[i], buf, sizeof(buf)), site_rules[i]);
	assert_int_equal(d.rules[0].rule_id, -1);
	assert_int_equal(d.rules[1].rule_id, 0);
	assert_int_equal(d.rules[6].rule_id, 6);
	nft_desired_free(&d);
}

/* unlisted_destinations: drop closes the chain with a catch-all drop. */
static void test_unlisted_drop_rule(void **state)
{
	struct nft_desired d = desired_of(SITE "unlisted_destinations: drop\n");
	char buf[512];

	assert_int_equal(d.nrules, ARRAY_SIZE(site_rules) + 1);
	assert_string_equal(nft_rule_str(&d.rules[d.nrules - 1], buf, sizeof(buf)),
			    "counter drop");
	nft_desired_free(&d);
}

/* In monitor mode the drops only count, as the XDP program passes everything. */
static void test_monitor_mode_counts_only(void **state)
{
	struct nft_desired d = desired_of(SITE "mode: monitor\nunlisted_destinations: drop\n");
	char buf[512];

	assert_string_equal(nft_rule_str(&d.rules[d.nrules - 3], buf, sizeof(buf)),
			    "ip daddr @protected_v4 counter comment "
			    "\"monitor mode: counted, not dropped\"");
	assert_string_equal(nft_rule_str(&d.rules[d.nrules - 1], buf, sizeof(buf)),
			    "counter comment \"monitor mode: counted, not dropped\"");
	assert_int_equal(d.rules[d.nrules - 1].verdict, NFT_NO_VERDICT);
	nft_desired_free(&d);
}

/* A purpose longer than nft's 128 bytes is cut on a character boundary, marked "...". */
static void test_comment_trimmed(void **state)
{
	static const char *const purposes[] = {
		/* 130 ASCII bytes */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
		/* a three-byte character would straddle byte 125 */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe3\x83\x9d\xe3\x83\x9d",
		/* exactly 128 bytes stay whole */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	};
	static const size_t want_len[] = { 128, 126, 128 };
	static const char *const want_tail[] = { "aaa...", "aaa...", "aab" };

	for (size_t i = 0; i < ARRAY_SIZE(purposes); i++) {
		char yaml[1024];
		struct nft_desired d;
		const char *c;

		snprintf(yaml, sizeof(yaml),
			 "hosts:\n  recording-server: [10.0.1.0/24]\n  devices: [10.2.0.0/16]\n"
			 "extra:\n  - { from: [devices], to: recording-server, proto: udp, "
			 "ports: \"5000\", purpose: \"%s\" }\n", purposes[i]);
		d = desired_of(yaml);
		c = d.rules[d.nrules - 2].comment;
		assert_int_equal(strlen(c), want_len[i]);
		assert_string_equal(c + strlen(c) - strlen(want_tail[i]), want_tail[i]);
		nft_desired_free(&d);
	}
}

struct expr_want {
	const char *name;
	uint16_t attr;		/* checked as u32 unless data is set; 0: nothing */
	uint32_t value;
	const void *data;
	uint32_t len;
};

#define U32(n, a, v) { .name = (n), .attr = (a), .value = (v) }
#define DATA(n, a, d, l) { .name = (n), .attr = (a), .data = (d), .len = (l) }
#define NAME(n) { .name = (n) }

/* Builds the rule's NEWRULE message, parses it back, and checks every expression. */
static struct nftnl_rule *round_trip(const struct nft_rule_spec *spec, char *buf)
{
	struct nftnl_rule *built = nft_rule_build(spec), *parsed = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char *a, *b;

	assert_non_null(built);
	assert_non_null(parsed);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
				    NLM_F_CREATE | NLM_F_APPEND, 1);
	nftnl_rule_nlmsg_build_payload(nlh, built);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, parsed), 0);
	assert_string_equal(nftnl_rule_get_str(parsed, NFTNL_RULE_TABLE), "vmsgate");
	assert_string_equal(nftnl_rule_get_str(parsed, NFTNL_RULE_CHAIN), "forward");
	assert_int_equal(nftnl_rule_get_u32(parsed, NFTNL_RULE_FAMILY), NFPROTO_INET);
	/* what the kernel's copy is compared by survives the trip unchanged */
	a = nft_rule_canon(built);
	b = nft_rule_canon(parsed);
	assert_string_equal(a, b);
	free(a);
	free(b);
	nftnl_rule_free(built);
	return parsed;
}

static void check_exprs(const struct nftnl_rule *r, const struct expr_want *want, size_t n)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	size_t i = 0;

	assert_non_null(it);
	while ((e = nftnl_expr_iter_next(it))) {
		uint32_t len;

		assert_true(i < n);
		assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), want[i].name);
		if (want[i].data) {
			const void *data = nftnl_expr_get(e, want[i].attr, &len);

			assert_int_equal(len, want[i].len);
			assert_memory_equal(data, want[i].data, len);
		} else if (want[i].attr) {
			assert_int_equal(nftnl_expr_get_u32(e, want[i].attr), want[i].value);
		}
		i++;
	}
	nftnl_expr_iter_destroy(it);
	assert_int_equal(i, n);
}

/* ip6 saddr @a ip6 daddr @b udp dport 50000-50999 accept, expression by expression. */
static void test_rule_message_v6_port_range(void **state)
{
	struct nft_rule_spec spec = {
		.family = VMG_FAMILY_V6, .saddr = "devices_v6", .daddr = "recording_server_v6",
		.proto = IPPROTO_UDP, .port = 50000, .port_end = 50999, .verdict = NF_ACCEPT,
		.rule_id = 6, .comment = "RTP from cameras",
	};
	static const uint8_t nfproto = NFPROTO_IPV6, udp = IPPROTO_UDP;
	static const uint8_t lo[] = { 50000 >> 8, 50000 & 0xff };
	static const uint8_t hi[] = { 50999 >> 8, 50999 & 0xff };
	const struct expr_want want[] = {
		U32("meta", NFTNL_EXPR_META_KEY, NFT_META_NFPROTO),
		DATA("cmp", NFTNL_EXPR_CMP_DATA, &nfproto, 1),
		U32("payload", NFTNL_EXPR_PAYLOAD_OFFSET, 8),
		DATA("lookup", NFTNL_EXPR_LOOKUP_SET, "devices_v6", 11),
		U32("payload", NFTNL_EXPR_PAYLOAD_OFFSET, 24),
		DATA("lookup", NFTNL_EXPR_LOOKUP_SET, "recording_server_v6", 20),
		U32("meta", NFTNL_EXPR_META_KEY, NFT_META_L4PROTO),
		DATA("cmp", NFTNL_EXPR_CMP_DATA, &udp, 1),
		U32("payload", NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER),
		U32("cmp", NFTNL_EXPR_CMP_OP, NFT_CMP_GTE),
		DATA("cmp", NFTNL_EXPR_CMP_DATA, hi, 2),
		U32("immediate", NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT),
	};
	char buf[4096], comment[NFT_COMMENT_MAX + 1];
	struct nftnl_rule *r = round_trip(&spec, buf);
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	uint32_t len;

	check_exprs(r, want, ARRAY_SIZE(want));
	/* the range's lower bound, and the payload's length, checked apart */
	it = nftnl_expr_iter_create(r);
	for (int i = 0; i < 10; i++)
		e = nftnl_expr_iter_next(it);
	assert_memory_equal(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len), lo, 2);
	nftnl_expr_iter_destroy(it);
	assert_string_equal(nft_rule_comment(r, comment, sizeof(comment)), "RTP from cameras");
	nftnl_rule_free(r);
}

/* ct state established,related: state bits masked, compared != 0. */
static void test_rule_message_established(void **state)
{
	struct nft_rule_spec spec = { .ct_established = true, .verdict = NF_ACCEPT };
	static const uint32_t mask = 0x6;
	const struct expr_want want[] = {
		U32("ct", NFTNL_EXPR_CT_KEY, NFT_CT_STATE),
		DATA("bitwise", NFTNL_EXPR_BITWISE_MASK, &mask, 4),
		U32("cmp", NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ),
		U32("immediate", NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT),
	};
	char buf[4096], comment[8];
	struct nftnl_rule *r = round_trip(&spec, buf);

	check_exprs(r, want, ARRAY_SIZE(want));
	assert_null(nft_rule_comment(r, comment, sizeof(comment)));
	nftnl_rule_free(r);
}

/* ip daddr @protected_v4 counter drop, and the catch-all counter drop. */
static void test_rule_message_drops(void **state)
{
	struct nft_rule_spec prot = { .family = VMG_FAMILY_V4, .daddr = "protected_v4",
				      .counter = true, .verdict = NF_DROP };
	struct nft_rule_spec all = { .counter = true, .verdict = NF_DROP };
	static const uint8_t nfproto = NFPROTO_IPV4;
	const struct expr_want want_prot[] = {
		U32("meta", NFTNL_EXPR_META_KEY, NFT_META_NFPROTO),
		DATA("cmp", NFTNL_EXPR_CMP_DATA, &nfproto, 1),
		U32("payload", NFTNL_EXPR_PAYLOAD_OFFSET, 16),
		DATA("lookup", NFTNL_EXPR_LOOKUP_SET, "protected_v4", 13),
		NAME("counter"),
		U32("immediate", NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP),
	};
	const struct expr_want want_all[] = {
		NAME("counter"),
		U32("immediate", NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP),
	};
	char buf[4096];
	struct nftnl_rule *r = round_trip(&prot, buf);

	check_exprs(r, want_prot, ARRAY_SIZE(want_prot));
	nftnl_rule_free(r);
	r = round_trip(&all, buf);
	check_exprs(r, want_all, ARRAY_SIZE(want_all));
	nftnl_rule_free(r);
}

/* A counter's values never make two rules differ; a verdict does. */
static void test_rule_canon(void **state)
{
	struct nft_rule_spec spec = { .counter = true, .verdict = NF_DROP };
	struct nftnl_rule *a = nft_rule_build(&spec), *b = nft_rule_build(&spec);
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(b);
	struct nftnl_expr *ctr = nftnl_expr_iter_next(it);
	char *ca, *cb;

	nftnl_expr_iter_destroy(it);
	nftnl_expr_set_u64(ctr, NFTNL_EXPR_CTR_PACKETS, 12345);
	ca = nft_rule_canon(a);
	cb = nft_rule_canon(b);
	assert_string_equal(ca, cb);
	free(cb);
	nftnl_rule_free(b);
	spec.verdict = NF_ACCEPT;
	b = nft_rule_build(&spec);
	cb = nft_rule_canon(b);
	assert_string_not_equal(ca, cb);
	free(ca);
	free(cb);
	nftnl_rule_free(a);
	nftnl_rule_free(b);
}

static const struct nft_elem test_elems[] = {
	{ .key = { 10, 0, 0, 0 } },
	{ .key = { 10, 0, 1, 0 }, .end = true },
	{ .key = { 255, 255, 255, 0 }, .open = true },
};

/* Our element messages read back through libnftnl: keys, end flags, open marks. */
static void test_elems_message_read_by_libnftnl(void **state)
{
	char buf[8192];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
						     NLM_F_CREATE, 1);
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	size_t i = 0;

	nft_elems_msg_put(nlh, "devices_v4", test_elems, ARRAY_SIZE(test_elems), 4);
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), "devices_v4");
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), "vmsgate");
	it = nftnl_set_elems_iter_create(s);
	while ((e = nftnl_set_elems_iter_next(it))) {
		uint32_t len, flags = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

		assert_true(i < ARRAY_SIZE(test_elems));
		assert_int_equal(len, 4);
		assert_memory_equal(key, test_elems[i].key, 4);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
			flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
		assert_int_equal(!!(flags & NFT_SET_ELEM_INTERVAL_END), test_elems[i].end);
		assert_int_equal(nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA),
				 test_elems[i].open);
		i++;
	}
	nftnl_set_elems_iter_destroy(it);
	assert_int_equal(i, ARRAY_SIZE(test_elems));
	nftnl_set_free(s);
}

/* libnftnl's element messages (as a dump carries them) read back by ours. */
static void test_elems_message_parsed(void **state)
{
	char buf[8192];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
						     0, 1);
	struct nftnl_set *s = nftnl_set_alloc();
	struct nft_elem *el = NULL;
	size_t n = 0, cap = 0;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, "vmsgate");
	nftnl_set_set_str(s, NFTNL_SET_NAME, "devices_v4");
	for (size_t i = 0; i < ARRAY_SIZE(test_elems); i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, test_elems[i].key, 4);
		if (test_elems[i].end)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, e);
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	assert_int_equal(nft_elems_msg_parse(nlh, &el, &n, &cap), 0);
	assert_int_equal(n, ARRAY_SIZE(test_elems));
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(el[i].key, test_elems[i].key, 4);
		assert_int_equal(el[i].end, test_elems[i].end);
	}
	free(el);
	nftnl_set_free(s);
}

/* The largest element message fits the netlink attribute length (64 KiB). */
static void test_elems_message_full_fits(void **state)
{
	static struct nft_elem el[NFT_ELEMS_PER_MSG];
	static char buf[128 * 1024];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
						     0, 1);
	struct nft_elem *back = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < ARRAY_SIZE(el); i++) {
		el[i].key[0] = 0xfd;
		el[i].key[14] = (uint8_t)(i >> 8);
		el[i].key[15] = (uint8_t)i;
		el[i].end = i % 2;
		el[i].open = !(i % 2);
	}
	nft_elems_msg_put(nlh, "devices_v6", el, ARRAY_SIZE(el), 16);
	assert_true(nlh->nlmsg_len < UINT16_MAX);
	assert_int_equal(nft_elems_msg_parse(nlh, &back, &n, &cap), 0);
	assert_int_equal(n, ARRAY_SIZE(el));
	assert_memory_equal(back[NFT_ELEMS_PER_MSG - 1].key, el[NFT_ELEMS_PER_MSG - 1].key, 16);
	free(back);
}

/* Elements sort by key, and at one key an interval's end before the next start. */
static void test_elem_order(void **state)
{
	struct nft_elem el[] = {
		{ .key = { 10, 0, 0, 9 } },
		{ .key = { 10, 0, 0, 5 } },
		{ .key = { 10, 0, 0, 5 }, .end = true },
	};

	qsort(el, ARRAY_SIZE(el), sizeof(el[0]), nft_elem_cmp);
	assert_true(el[0].end);
	assert_int_equal(el[0].key[3], 5);
	assert_false(el[1].end);
	assert_int_equal(el[1].key[3], 5);
	assert_int_equal(el[2].key[3], 9);
}

/* The printed table is what nft lists, so `nft -f` can load it back. */
static void test_desired_print(void **state)
{
	struct nft_desired d = desired_of(SITE);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	nft_desired_print(f, &d);
	fclose(f);
	assert_non_null(strstr(out, "table inet vmsgate {\n"));
	assert_non_null(strstr(out, "\tset protected_v4 {\n\t\ttype ipv4_addr\n\t\tflags "
				    "interval\n\t\telements = { 10.0.1.0/24, 10.1.0.0/24, "
				    "10.2.0.0/16 }\n\t}\n"));
	assert_non_null(strstr(out, "\tchain forward {\n\t\ttype filter hook forward priority "
				    "filter; policy accept;\n\t\tct state established,related "
				    "accept\n"));
	assert_non_null(strstr(out, "\t\tip6 daddr @protected_v6 counter drop\n\t}\n}\n"));
	free(out);
	nft_desired_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals_merge),
		cmocka_unit_test(test_set_elems),
		cmocka_unit_test(test_sets_of_site),
		cmocka_unit_test(test_rules_of_site),
		cmocka_unit_test(test_unlisted_drop_rule),
		cmocka_unit_test(test_monitor_mode_counts_only),
		cmocka_unit_test(test_comment_trimmed),
		cmocka_unit_test(test_rule_message_v6_port_range),
		cmocka_unit_test(test_rule_message_established),
		cmocka_unit_test(test_rule_message_drops),
		cmocka_unit_test(test_rule_canon),
		cmocka_unit_test(test_elems_message_read_by_libnftnl),
		cmocka_unit_test(test_elems_message_parsed),
		cmocka_unit_test(test_elems_message_full_fits),
		cmocka_unit_test(test_elem_order),
		cmocka_unit_test(test_desired_print),
	};

	setenv("VMSGATE_CATALOG_DIR", SRCDIR "/policies", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
