// SPDX-License-Identifier: GPL-2.0-only
/* The compiler: what a site turns into, rule by rule and entry by entry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "compile.h"
#include "helpers.h"
#include "roles.h"
#include "site.h"
#include "util.h"

#define BASE_HOSTS                                       \
	"hosts:\n"                                       \
	"  management-server: [10.0.0.5]\n"              \
	"  sql-server: [10.0.0.5]\n"                     \
	"  event-server: [10.0.0.5]\n"                   \
	"  log-server: [10.0.0.6]\n"                     \
	"  recording-server: [10.0.1.0/24]\n"            \
	"  devices: [10.0.0.0/16]\n"                     \
	"  smart-client: [10.1.0.0/24]\n"                \
	"  management-client: [10.1.0.9]\n"

static struct ruleset compile_ok(const char *yaml)
{
	struct ruleset rs;

	if (compile_string(yaml, "t.yaml", &rs, true))
		fail_msg("compile failed for:\n%s", yaml);
	return rs;
}

static const struct host_entry *find_host(const struct ruleset *rs, const char *addr,
					  int len)
{
	struct prefix p;
	bool cleared;
	char buf[64];

	snprintf(buf, sizeof(buf), "%s/%d", addr, len);
	assert_int_equal(prefix_parse(buf, &p, &cleared), 0);
	for (size_t i = 0; i < rs->nhosts; i++)
		if (!memcmp(&rs->hosts[i].pfx, &p, sizeof(p)))
			return &rs->hosts[i];
	for (size_t i = 0; i < rs->nprefixes; i++)
		if (!memcmp(&rs->prefixes[i].pfx, &p, sizeof(p)))
			return &rs->prefixes[i];
	return NULL;
}

/* An address gets the roles of every prefix containing it, not the last one written. */
static void test_overlapping_prefixes_merge(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS);
	const struct host_entry *ms = find_host(&rs, "10.0.0.5", 32);
	const struct host_entry *rec = find_host(&rs, "10.0.1.0", 24);
	const struct host_entry *dev = find_host(&rs, "10.0.0.0", 16);

	assert_non_null(ms);
	assert_non_null(rec);
	assert_non_null(dev);
	assert_int_equal(ms->val.roles, ROLE_BIT(ROLE_MANAGEMENT_SERVER) |
			 ROLE_BIT(ROLE_SQL_SERVER) | ROLE_BIT(ROLE_EVENT_SERVER) |
			 ROLE_BIT(ROLE_DEVICES));
	assert_int_equal(ms->val.role, ROLE_MANAGEMENT_SERVER);
	assert_int_equal(rec->val.roles, ROLE_BIT(ROLE_RECORDING_SERVER) | ROLE_BIT(ROLE_DEVICES));
	assert_int_equal(dev->val.roles, ROLE_BIT(ROLE_DEVICES));
	assert_int_equal(rs.nhosts, 3);		/* .5, .6, .9 */
	assert_int_equal(rs.nprefixes, 3);	/* /24, /16, /24 */
	assert_int_equal(rs.config.has_prefix_v4, 1);
	assert_int_equal(rs.config.has_prefix_v6, 0);
	assert_true(ms->val.class_id != rec->val.class_id);
	ruleset_free(&rs);
}

/* The three SQL rows become one rule whose sources are all three servers. */
static void test_flows_merge(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS);
	const struct rule *sql = find_rule(&rs, ROLE_SQL_SERVER, IPPROTO_TCP, 1433);

	assert_non_null(sql);
	assert_int_equal(sql->from, ROLE_BIT(ROLE_MANAGEMENT_SERVER) |
			 ROLE_BIT(ROLE_EVENT_SERVER) | ROLE_BIT(ROLE_LOG_SERVER));
	assert_non_null(strstr(sql->purpose, "configuration"));
	assert_non_null(strstr(sql->purpose, "log entries"));
	ruleset_free(&rs);
}

/* A feature's flows exist only when the site enables it. */
static void test_feature_gates(void **state)
{
	struct ruleset off = compile_ok(BASE_HOSTS);
	struct ruleset on = compile_ok(BASE_HOSTS "features: { device-events: true }\n");

	assert_null(find_rule(&off, ROLE_RECORDING_SERVER, IPPROTO_TCP, 5432));
	assert_non_null(find_rule(&on, ROLE_RECORDING_SERVER, IPPROTO_TCP, 5432));
	assert_null(find_rule(&on, ROLE_RECORDING_SERVER, IPPROTO_TCP, 25));
	ruleset_free(&off);
	ruleset_free(&on);
}

/* encryption picks 80 or 443 for the certificate-dependent pairs only. */
static void test_encryption(void **state)
{
	static const char *const modes[] = { "on", "off", "both" };
	static const bool want80[] = { false, true, true };
	static const bool want443[] = { true, false, true };

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		char yaml[1024];
		struct ruleset rs;

		snprintf(yaml, sizeof(yaml), BASE_HOSTS "encryption: %s\n", modes[i]);
		rs = compile_ok(yaml);
		assert_int_equal(!!find_rule(&rs, ROLE_MANAGEMENT_SERVER, IPPROTO_TCP, 80),
				 want80[i]);
		assert_int_equal(!!find_rule(&rs, ROLE_MANAGEMENT_SERVER, IPPROTO_TCP, 443),
				 want443[i]);
		/* cameras' 80 and 443 do not depend on the VMS's certificates */
		assert_non_null(find_rule(&rs, ROLE_DEVICES, IPPROTO_TCP, 80));
		assert_non_null(find_rule(&rs, ROLE_DEVICES, IPPROTO_TCP, 443));
		ruleset_free(&rs);
	}
}

/* N recording-server instances open 9001..9000+N. */
static void test_instances(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS "recording_server_instances: 3\n");
	const struct rule *r = find_rule(&rs, ROLE_RECORDING_SERVER, IPPROTO_TCP, 9001);

	assert_non_null(r);
	assert_int_equal(r->port_end, 9003);
	assert_int_equal(count_ports(&rs, IPPROTO_TCP, 9001, 9004, VMG_DIR_FORWARD), 3);
	ruleset_free(&rs);
}

/* An override moves the port, and its return rule with it. */
static void test_override(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS "overrides:\n"
				       "  - { role: management-server, port: 12345, "
				       "new_port: 12346 }\n");

	assert_null(find_rule(&rs, ROLE_MANAGEMENT_SERVER, IPPROTO_TCP, 12345));
	assert_non_null(find_rule(&rs, ROLE_MANAGEMENT_SERVER, IPPROTO_TCP, 12346));
	assert_int_equal(count_ports(&rs, IPPROTO_TCP, 12345, 12345, VMG_DIR_RETURN), 0);
	/* two client classes: the /24 and the management client inside it */
	assert_int_equal(count_ports(&rs, IPPROTO_TCP, 12346, 12346, VMG_DIR_RETURN), 2);
	ruleset_free(&rs);
}

/* The SNMP agent port follows the site's XProtect release. */
static void test_version_ports(void **state)
{
	static const struct {
		const char *version;
		int ms_port, rs_port;
	} cases[] = {
		{ "2014", 6475, 6474 },
		{ "2016 R1", 7475, 7474 },
		{ "2019 R2", 7475, 7474 },
		{ "2019 R3", 12974, 12975 },
		{ "2023 R3", 12974, 12975 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[1024];
		struct ruleset rs;

		snprintf(yaml, sizeof(yaml), BASE_HOSTS "  snmp-service: [10.2.0.1]\n"
			 "xprotect_version: \"%s\"\n", cases[i].version);
		rs = compile_ok(yaml);
		assert_non_null(find_rule(&rs, ROLE_MANAGEMENT_SERVER, IPPROTO_TCP,
					  cases[i].ms_port));
		assert_non_null(find_rule(&rs, ROLE_RECORDING_SERVER, IPPROTO_TCP,
					  cases[i].rs_port));
		ruleset_free(&rs);
	}
}

/* A site range compiles to one entry per port per class, both ends included. */
static void test_extra_range(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS
		"extra:\n"
		"  - { from: [devices], to: recording-server, proto: udp,\n"
		"      ports: \"50000-50999\" }\n");
	const struct rule *r = find_rule(&rs, ROLE_RECORDING_SERVER, IPPROTO_UDP, 50000);

	assert_non_null(r);
	assert_true(r->extra);
	assert_int_equal(r->port_end, 50999);
	assert_int_equal(count_ports(&rs, IPPROTO_UDP, 49999, 51000, VMG_DIR_FORWARD), 1000);
	/* return entries: every class holding devices (all of 10.0/16) gets them */
	assert_int_equal(count_ports(&rs, IPPROTO_UDP, 50000, 50999, VMG_DIR_RETURN) % 1000, 0);
	ruleset_free(&rs);
}

/* A role with no hosts closes its flows, once each, with a warning naming the flow. */
static void test_closed_flows(void **state)
{
	struct capture cap;
	struct ruleset rs;
	const char *out;

	capture_begin(&cap);
	assert_int_equal(compile_string(BASE_HOSTS, "t.yaml", &rs, false), 0);
	out = capture_end(&cap);
	assert_null(find_rule(&rs, ROLE_MOBILE_SERVER, IPPROTO_TCP, 8081));
	assert_non_null(strstr(out, "warning: flow to mobile-server 8081/tcp closed: role "
				    "mobile-server has no hosts"));
	assert_non_null(strstr(out, "warning: flow to management-server 12974/tcp closed: "
				    "no hosts for snmp-service"));
	assert_null(strstr(strstr(out, "mobile-server 8081/tcp") + 1, "mobile-server 8081/tcp"));
	ruleset_free(&rs);
}

/* Local-only ports are forward entries with no sources and the flag. */
static void test_local_only(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS);
	const struct host_entry *ms = find_host(&rs, "10.0.0.5", 32);
	const struct port_entry *pe = find_port(&rs, ms->val.class_id, IPPROTO_TCP, 6473,
						VMG_DIR_FORWARD);

	assert_non_null(pe);
	assert_int_equal(pe->val.src_roles, 0);
	assert_int_equal(pe->val.flags, VMG_PF_LOCAL_ONLY);
	assert_null(find_port(&rs, ms->val.class_id, IPPROTO_TCP, 6473, VMG_DIR_RETURN));
	ruleset_free(&rs);
}

/* A port both local-only and open to a role keeps both, and its return rule. */
static void test_local_and_open(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS "  lpr-server: [10.0.0.7]\n");
	const struct host_entry *lpr = find_host(&rs, "10.0.0.7", 32);
	const struct host_entry *es = find_host(&rs, "10.0.0.5", 32);
	const struct port_entry *fwd, *ret;

	fwd = find_port(&rs, lpr->val.class_id, IPPROTO_TCP, 22334, VMG_DIR_FORWARD);
	ret = find_port(&rs, es->val.class_id, IPPROTO_TCP, 22334, VMG_DIR_RETURN);
	assert_non_null(fwd);
	assert_non_null(ret);
	assert_int_equal(fwd->val.src_roles, ROLE_BIT(ROLE_EVENT_SERVER));
	assert_int_equal(fwd->val.flags, VMG_PF_LOCAL_ONLY);
	assert_int_equal(ret->val.src_roles, ROLE_BIT(ROLE_LPR_SERVER));
	ruleset_free(&rs);
}

/* Return entries: replies from the flow's destination to its sources. */
static void test_return_entries(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS);
	const struct host_entry *cli = find_host(&rs, "10.1.0.0", 24);
	const struct port_entry *pe = find_port(&rs, cli->val.class_id, IPPROTO_TCP, 7563,
						VMG_DIR_RETURN);

	assert_non_null(pe);
	assert_int_equal(pe->val.src_roles, ROLE_BIT(ROLE_RECORDING_SERVER));
	assert_int_equal(pe->val.rule_id,
			 find_rule(&rs, ROLE_RECORDING_SERVER, IPPROTO_TCP, 7563)->id);
	assert_null(find_port(&rs, cli->val.class_id, IPPROTO_TCP, 7563, VMG_DIR_FORWARD));
	ruleset_free(&rs);
}

/* `any` gives every address a source role but protects no destination by itself. */
static void test_any_is_a_source(void **state)
{
	struct ruleset rs = compile_ok(BASE_HOSTS "  web-client: [any]\n"
				       "  mobile-server: [\"fd00::20\"]\n");
	const struct host_entry *v4 = find_host(&rs, "0.0.0.0", 0);
	const struct host_entry *v6 = find_host(&rs, "::", 0);
	const struct host_entry *mob = find_host(&rs, "fd00::20", 128);
	const struct host_entry *ms = find_host(&rs, "10.0.0.5", 32);

	assert_non_null(v4);
	assert_non_null(v6);
	assert_int_equal(v4->val.protected_, 0);
	assert_int_equal(v6->val.roles, ROLE_BIT(ROLE_WEB_CLIENT));
	assert_int_equal(mob->val.roles, ROLE_BIT(ROLE_MOBILE_SERVER) | ROLE_BIT(ROLE_WEB_CLIENT));
	assert_true(ms->val.roles & ROLE_BIT(ROLE_WEB_CLIENT));
	/* as destinations, they are what they were written as, nothing more */
	assert_false(rs.classes[ms->val.class_id] & ROLE_BIT(ROLE_WEB_CLIENT));
	assert_true(rs.class_source_only[v4->val.class_id]);
	assert_int_equal(rs.config.has_prefix_v6, 1);
	ruleset_free(&rs);
}

/* A flow to a role listed as `any` opens nothing on other roles' hosts. */
static void test_any_opens_no_port(void **state)
{
	struct ruleset rs = compile_ok("hosts:\n"
				       "  sql-server: [10.0.0.5]\n"
				       "  api-gateway: [10.0.0.40]\n"
				       "  mobile-server: [10.0.0.20]\n"
				       "  mobile-client: [any]\n"
				       "  management-client: [any]\n");
	const struct host_entry *any = find_host(&rs, "0.0.0.0", 0);
	const struct host_entry *sql = find_host(&rs, "10.0.0.5", 32);

	/* 22332 on management clients, from the API gateway: not on the SQL server */
	assert_null(find_port(&rs, sql->val.class_id, IPPROTO_TCP, 22332, VMG_DIR_FORWARD));
	assert_null(find_port(&rs, any->val.class_id, IPPROTO_TCP, 22332, VMG_DIR_FORWARD));
	/* but the mobile server's replies reach any mobile client */
	assert_non_null(find_port(&rs, any->val.class_id, IPPROTO_TCP, 8081, VMG_DIR_RETURN));
	for (size_t i = 0; i < rs.nports; i++)
		if (rs.ports[i].key.class_id == any->val.class_id)
			assert_int_equal(rs.ports[i].key.dir, VMG_DIR_RETURN);
	ruleset_free(&rs);
}

/* An IPv4 prefix never gives its roles to an IPv6 address. */
static void test_families_apart(void **state)
{
	struct ruleset rs = compile_ok("hosts:\n  devices: [0.0.0.0/0]\n"
				       "  recording-server: [\"fd00::1\"]\n");
	const struct host_entry *rec = find_host(&rs, "fd00::1", 128);

	assert_int_equal(rec->val.roles, ROLE_BIT(ROLE_RECORDING_SERVER));
	ruleset_free(&rs);
}

/* Site settings land in the data plane's configuration. */
static void test_config(void **state)
{
	struct ruleset rs = compile_ok("mode: monitor\nunlisted_destinations: drop\n"
				       "icmp: deny\nunknown_fragments: pass\nhosts: {}\n");

	assert_int_equal(rs.config.abi_version, VMG_ABI_VERSION);
	assert_int_equal(rs.config.mode, VMG_MODE_MONITOR);
	assert_int_equal(rs.config.unlisted_drop, 1);
	assert_int_equal(rs.config.icmp, VMG_ICMP_DENY);
	assert_int_equal(rs.config.unknown_frag_drop, 0);
	assert_int_equal(rs.nrules, 0);
	ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlapping_prefixes_merge),
		cmocka_unit_test(test_flows_merge),
		cmocka_unit_test(test_feature_gates),
		cmocka_unit_test(test_encryption),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_version_ports),
		cmocka_unit_test(test_extra_range),
		cmocka_unit_test(test_closed_flows),
		cmocka_unit_test(test_local_only),
		cmocka_unit_test(test_local_and_open),
		cmocka_unit_test(test_return_entries),
		cmocka_unit_test(test_any_is_a_source),
		cmocka_unit_test(test_any_opens_no_port),
		cmocka_unit_test(test_families_apart),
		cmocka_unit_test(test_config),
	};

	setenv("VMSGATE_CATALOG_DIR", SRCDIR "/policies", 1);
	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
