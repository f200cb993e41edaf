// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane's hash tables, built without a kernel: every key placed
 * is found where the program looks, with its value; nothing else is; a
 * generation as large as the limits allow fits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_table.h"
#include "helpers.h"

enum pattern { SEQ_V4, SEQ_V6, RANDOM_MIX };

static void host_addr(enum pattern pat, size_t k, struct prefix *p)
{
	/* RANDOM_MIX: k's bits scattered, distinct for distinct k (an odd multiplier) */
	uint64_t x = (k + 1) * 0x9e3779b97f4a7c15ULL;

	memset(p, 0, sizeof(*p));
	if (pat == SEQ_V4 || (pat == RANDOM_MIX && k % 4)) {
		p->family = VMG_FAMILY_V4;
		p->len = 32;
		if (pat == SEQ_V4) {
			/* 172.16.0.0 on, as a camera network is numbered */
			p->addr[0] = 172;
			p->addr[1] = 16 + (k >> 16);
			p->addr[2] = k >> 8;
			p->addr[3] = k;
			return;
		}
	} else {
		p->family = VMG_FAMILY_V6;
		p->len = 128;
		p->addr[0] = 0xfd;
		if (pat == SEQ_V6) {
			p->addr[13] = k >> 16;
			p->addr[14] = k >> 8;
			p->addr[15] = k;
			return;
		}
	}
	memcpy(p->addr + (p->family == VMG_FAMILY_V4 ? 0 : 8), &x,
	       p->family == VMG_FAMILY_V4 ? 4 : 8);
}

/* nhosts addresses of pattern, each its own roles; nports port rules over classes. */
static struct ruleset make_ruleset(enum pattern pat, size_t nhosts, size_t nports)
{
	struct ruleset rs;

	memset(&rs, 0, sizeof(rs));
	rs.hosts = calloc(nhosts + 1, sizeof(*rs.hosts));
	rs.ports = calloc(nports + 1, sizeof(*rs.ports));
	assert_non_null(rs.hosts);
	assert_non_null(rs.ports);
	rs.nhosts = nhosts;
	rs.nports = nports;
	for (size_t k = 0; k < nhosts; k++) {
		host_addr(pat, k, &rs.hosts[k].pfx);
		rs.hosts[k].val.roles = 1ULL << (k % 7);
		rs.hosts[k].val.class_id = 1 + k % 7;
		rs.hosts[k].val.role = k % 7;
		rs.hosts[k].val.protected_ = 1;
		rs.hosts[k].val.pad = 0xdeadbeef;	/* never part of a value */
	}
	for (size_t k = 0; k < nports; k++) {
		struct port_entry *pe = &rs.ports[k];

		pe->key.class_id = 1 + k / 131072;
		pe->key.port = k % 65536;
		pe->key.proto = (k / 65536) % 2 ? 17 : 6;
		pe->key.dir = VMG_DIR_FORWARD;
		pe->val.src_roles = k + 1;
		pe->val.rule_id = k % VMG_MAX_RULES;
	}
	return rs;
}

static void free_ruleset(struct ruleset *rs)
{
	free(rs->hosts);
	free(rs->ports);
}

static void assert_all_found(const struct ruleset *rs, const struct dp_tables *t)
{
	for (size_t k = 0; k < rs->nhosts; k++) {
		const struct vmg_host_val *v = dp_tables_host(t, &rs->hosts[k].pfx);

		assert_non_null(v);
		assert_int_equal(v->roles, rs->hosts[k].val.roles);
		assert_int_equal(v->class_id, rs->hosts[k].val.class_id);
		assert_int_equal(v->role, rs->hosts[k].val.role);
		assert_int_equal(v->pad, 0);
	}
	for (size_t k = 0; k < rs->nports; k++) {
		const struct port_entry *pe = &rs->ports[k];
		const struct vmg_port_val *v = dp_tables_port(t, pe->key.class_id, pe->key.port,
							      pe->key.proto, pe->key.dir);

		assert_non_null(v);
		assert_int_equal(v->src_roles, pe->val.src_roles);
		assert_int_equal(v->rule_id, pe->val.rule_id);
	}
}

static size_t used_slots(const struct dp_tables *t, size_t *ports)
{
	size_t hosts = 0;

	*ports = 0;
	for (size_t b = 0; b < VMG_HOST_BUCKETS; b++)
		hosts += dp_host_bucket_used(&t->hosts[b]);
	for (size_t b = 0; b < VMG_PORT_BUCKETS; b++)
		*ports += dp_port_bucket_used(&t->ports[b]);
	return hosts;
}

static void check_full(enum pattern pat)
{
	struct ruleset rs = make_ruleset(pat, VMG_MAX_HOSTS, VMG_MAX_PORT_RULES);
	struct dp_tables t;
	size_t ports;

	assert_int_equal(dp_tables_build(&rs, &t), 0);
	assert_int_equal(t.nkinds, 7);
	assert_int_equal(used_slots(&t, &ports), VMG_MAX_HOSTS);
	assert_int_equal(ports, VMG_MAX_PORT_RULES);
	assert_all_found(&rs, &t);
	dp_tables_free(&t);
	free_ruleset(&rs);
}

/* As many addresses and port rules as a generation may hold all fit, whatever their shape. */
static void test_full_generation_v4(void **state)
{
	check_full(SEQ_V4);
}

static void test_full_generation_v6(void **state)
{
	check_full(SEQ_V6);
}

static void test_full_generation_mixed(void **state)
{
	check_full(RANDOM_MIX);
}

/* Keys that were not placed are not found: neighbours, the other family, the other direction. */
static void test_absent_keys(void **state)
{
	struct ruleset rs = make_ruleset(SEQ_V4, 1000, 10);
	struct prefix p, v6;
	struct dp_tables t;

	assert_int_equal(dp_tables_build(&rs, &t), 0);
	host_addr(SEQ_V4, 1000, &p);
	assert_null(dp_tables_host(&t, &p));
	/* the same four bytes as an IPv6 address */
	host_addr(SEQ_V4, 5, &v6);
	v6.family = VMG_FAMILY_V6;
	v6.len = 128;
	assert_non_null(dp_tables_host(&t, &rs.hosts[5].pfx));
	assert_null(dp_tables_host(&t, &v6));
	assert_non_null(dp_tables_port(&t, 1, 3, 6, VMG_DIR_FORWARD));
	assert_null(dp_tables_port(&t, 1, 3, 6, VMG_DIR_RETURN));
	assert_null(dp_tables_port(&t, 1, 3, 17, VMG_DIR_FORWARD));
	assert_null(dp_tables_port(&t, 2, 3, 6, VMG_DIR_FORWARD));
	assert_null(dp_tables_port(&t, 1, 10, 6, VMG_DIR_FORWARD));
	dp_tables_free(&t);
	free_ruleset(&rs);
}

/* Addresses with the same value share one kind; a policy with too many kinds is refused. */
static void test_kinds(void **state)
{
	struct ruleset rs = make_ruleset(SEQ_V4, VMG_MAX_KINDS + 1, 0);
	struct capture c;
	struct dp_tables t;

	assert_int_equal(dp_tables_build(&rs, &t), 0);
	assert_int_equal(t.nkinds, 7);
	dp_tables_free(&t);

	for (size_t k = 0; k < rs.nhosts; k++)
		rs.hosts[k].val.roles = k + 1;
	capture_begin(&c);
	assert_int_equal(dp_tables_build(&rs, &t), -E2BIG);
	assert_string_equal(capture_end(&c),
			    "error: policy does not fit map vmg_kinds: 65537 entries, "
			    "capacity 65536\n");
	free_ruleset(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_generation_v4),
		cmocka_unit_test(test_full_generation_v6),
		cmocka_unit_test(test_full_generation_mixed),
		cmocka_unit_test(test_absent_keys),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests_name("dp_table", tests, NULL, NULL);
}
