// SPDX-License-Identifier: GPL-2.0-only
/* The site loader: every error names FILE:LINE:COL and the thing; good input loads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "compile.h"
#include "helpers.h"
#include "site.h"
#include "util.h"

struct bad_case {
	const char *what;
	const char *yaml;
	const char *where;	/* "LINE:COL" */
	const char *message;	/* a substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "empty file", "", "1:1", "the file is empty" },
	{ "only comments", "# nothing\n\n", "1:1", "the file is empty" },
	{ "not YAML", "mode: [enforce\n", "2:1", "not valid YAML" },
	{ "not a mapping", "- a\n- b\n", "1:1", "expected a mapping, found a list" },
	{ "unknown key", "mode: enforce\nmodes: monitor\n", "2:1", "unknown key 'modes'" },
	{ "duplicate key", "mode: enforce\nicmp: allow\nmode: monitor\n", "3:1",
	  "duplicate key 'mode' (first at line 1)" },
	{ "unknown role", "hosts:\n  recorder: [10.0.0.1]\n", "2:3", "unknown role 'recorder'" },
	{ "misspelt role", "hosts:\n  recordingserver: [10.0.0.1]\n", "2:3",
	  "unknown role 'recordingserver'; did you mean 'recording-server'?" },
	{ "servers as a destination", "extra:\n  - { from: [devices], to: servers, "
	  "proto: udp, ports: 9 }\n", "2:28", "'servers' is for from" },
	{ "duplicate role", "hosts:\n  devices: [10.0.0.1]\n  devices: [10.0.0.2]\n", "3:3",
	  "duplicate key 'devices'" },
	{ "unknown feature", "features: { smtp: true, teleport: true }\n", "1:25",
	  "unknown feature 'teleport'" },
	{ "feature not a bool", "features:\n  smtp: maybe\n", "2:9", "expected true or false" },
	{ "bad address", "hosts:\n  devices: [10.0.0.300]\n", "2:13",
	  "'10.0.0.300' is not an IPv4 or IPv6 address" },
	{ "bad prefix length", "hosts:\n  devices: [10.0.0.0/33]\n", "2:13",
	  "'10.0.0.0/33' is not an IPv4" },
	{ "bad IPv6", "hosts:\n  devices: [\"fd00::1::2\"]\n", "2:13", "'fd00::1::2'" },
	{ "hosts not a list", "hosts:\n  devices: 10.0.0.1\n", "2:12",
	  "hosts.devices: expected a list, found a scalar" },
	{ "wrong type", "mode: [enforce]\n", "1:7", "mode: expected a scalar, found a list" },
	{ "unknown mode", "mode: enforcing\n", "1:7",
	  "expected one of enforce, monitor, found 'enforcing'" },
	{ "unknown icmp", "icmp: some\n", "1:7", "expected one of allow, errors-only, deny" },
	{ "instances out of range", "recording_server_instances: 0\n", "1:29", "out of range" },
	{ "instances not a number", "recording_server_instances: two\n", "1:29",
	  "expected a whole number" },
	{ "port zero", "overrides:\n  - { role: management-server, port: 0, new_port: 1 }\n",
	  "2:38", "out of range 1-65535" },
	{ "port too big", "overrides:\n  - { role: management-server, port: 12345, "
	  "new_port: 70000 }\n", "2:55", "70000 is out of range 1-65535" },
	{ "reversed range", "extra:\n  - { from: [devices], to: recording-server, proto: udp, "
	  "ports: \"5000-4000\" }\n", "2:65", "range 5000-4000 is reversed" },
	{ "range port out of range", "extra:\n  - { from: [devices], to: recording-server, "
	  "proto: udp, ports: \"1-65536\" }\n", "2:65", "port 65536 is out of range" },
	{ "extra missing key", "extra:\n  - { from: [devices], to: recording-server, "
	  "proto: udp }\n", "2:5", "missing key 'ports'" },
	{ "extra unknown proto", "extra:\n  - { from: [devices], to: recording-server, "
	  "proto: sctp, ports: 9 }\n", "2:53", "expected one of tcp, udp" },
	{ "extra unknown role", "extra:\n  - { from: [cameras], to: recording-server, "
	  "proto: udp, ports: 9 }\n", "2:14", "from: unknown role 'cameras'" },
	{ "bad version", "xprotect_version: \"latest\"\n", "1:19",
	  "expected a release like \"2023 R3\"" },
	{ "bad interface", "interfaces: [\"eth0/1\"]\n", "1:14", "not an interface name" },
	{ "override of a port the role lacks",
	  "hosts:\n  management-server: [10.0.0.1]\n"
	  "overrides:\n  - { role: management-server, port: 7563, new_port: 7564 }\n",
	  "4:5", "role management-server has no catalog port 7563" },
	{ "override given twice",
	  "hosts:\n  management-server: [10.0.0.1]\n"
	  "overrides:\n  - { role: management-server, port: 12345, new_port: 12346 }\n"
	  "  - { role: management-server, port: 12345, new_port: 12347 }\n",
	  "5:5", "management-server port 12345 is already overridden at line 4" },
	{ "a second document", "mode: enforce\n---\nmode: monitor\n", "2:1",
	  "a second YAML document" },
	{ "a tab", "hosts:\n\tdevices: [10.0.0.1]\n", "2:1", "YAML indents with spaces only" },
	{ "empty hosts", "hosts:\n", "1:7", "hosts: expected a mapping, found nothing" },
	{ "missing catalog file", "catalog: /nonexistent/catalog.yaml\n", NULL,
	  "cannot read catalog" },
};

/* Each bad policy gets one error at the right place, and nothing is compiled. */
static void test_bad_policies(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct ruleset rs;
		struct capture cap;
		char where[64];
		const char *out;
		int err;

		capture_begin(&cap);
		err = compile_string(c->yaml, "site.yaml", &rs, true);
		out = capture_end(&cap);
		if (err >= 0)
			fail_msg("%s: accepted", c->what);
		if (c->where) {
			snprintf(where, sizeof(where), "site.yaml:%s: error: ", c->where);
			if (strncmp(out, where, strlen(where)))
				fail_msg("%s: expected '%s', got '%s'", c->what, where, out);
		}
		if (!strstr(out, c->message))
			fail_msg("%s: expected '%s' in '%s'", c->what, c->message, out);
		if (strchr(out, '\n') != out + strlen(out) - 1)
			fail_msg("%s: expected one line, got '%s'", c->what, out);
		assert_int_equal(rs.nrules, 0);
	}
}

/* Every key of DESIGN.md's shape is read into the site. */
static void test_full_shape(void **state)
{
	static const char yaml[] =
		"catalog: xprotect\n"
		"xprotect_version: \"2023 R3\"\n"
		"interfaces: [eth1, eth2]\n"
		"mode: monitor\n"
		"unlisted_destinations: drop\n"
		"encryption: on\n"
		"recording_server_instances: 3\n"
		"features: { smtp: false, device-events: true, generic-events: false,\n"
		"            analytics-events: false, mobile-video-push: true }\n"
		"icmp: errors-only\n"
		"unknown_fragments: pass\n"
		"hosts:\n"
		"  management-server: [10.10.0.5]\n"
		"  recording-server: [10.10.1.0/28, \"fd00:10:1::/64\"]\n"
		"  devices: [10.20.0.0/16]\n"
		"  smart-client: [10.30.0.0/24]\n"
		"overrides:\n"
		"  - { role: management-server, port: 12345, new_port: 12346 }\n"
		"extra:\n"
		"  - { from: [devices], to: recording-server, proto: udp, ports: \"50000-50999\",\n"
		"      purpose: \"RTP from cameras\" }\n";
	struct site s;

	assert_int_equal(site_load_string(yaml, strlen(yaml), "s.yaml", &s, true), 0);
	assert_string_equal(s.catalog, "xprotect");
	assert_string_equal(s.xprotect_version, "2023 R3");
	assert_int_equal(s.ninterfaces, 2);
	assert_string_equal(s.interfaces[1], "eth2");
	assert_int_equal(s.mode, VMG_MODE_MONITOR);
	assert_true(s.unlisted_drop);
	assert_int_equal(s.encryption, ENCRYPTION_ON);
	assert_int_equal(s.rs_instances, 3);
	assert_true(s.features[FEATURE_DEVICE_EVENTS]);
	assert_true(s.features[FEATURE_MOBILE_VIDEO_PUSH]);
	assert_false(s.features[FEATURE_SMTP]);
	assert_int_equal(s.icmp, VMG_ICMP_ERRORS_ONLY);
	assert_false(s.unknown_frag_drop);
	assert_int_equal(s.nhosts[ROLE_RECORDING_SERVER], 2);
	assert_int_equal(s.hosts[ROLE_RECORDING_SERVER][1].pfx.family, VMG_FAMILY_V6);
	assert_int_equal(s.hosts[ROLE_RECORDING_SERVER][1].pfx.len, 64);
	assert_int_equal(s.noverrides, 1);
	assert_int_equal(s.overrides[0].new_port, 12346);
	assert_int_equal(s.nextra, 1);
	assert_int_equal(s.extra[0].flow.port, 50000);
	assert_int_equal(s.extra[0].flow.port_end, 50999);
	assert_string_equal(s.extra[0].flow.purpose, "RTP from cameras");
	site_free(&s);
}

/* Defaults: enforce, pass unlisted, both schemes, one instance, drop unknown fragments. */
static void test_defaults(void **state)
{
	struct site s;

	assert_int_equal(site_load_string("hosts: {}\n", 10, "s.yaml", &s, true), 0);
	assert_int_equal(s.mode, VMG_MODE_ENFORCE);
	assert_false(s.unlisted_drop);
	assert_int_equal(s.encryption, ENCRYPTION_BOTH);
	assert_int_equal(s.rs_instances, 1);
	assert_int_equal(s.icmp, VMG_ICMP_ALLOW);
	assert_true(s.unknown_frag_drop);
	assert_string_equal(s.catalog, "xprotect");
	site_free(&s);
}

/* Host bits are cleared with a warning at the address; `any` is both families. */
static void test_canonical_addresses(void **state)
{
	static const char yaml[] =
		"hosts:\n"
		"  devices: [10.20.3.7/16, \"fd00:1:2:3::9/48\"]\n"
		"  web-client: [any]\n";
	struct capture cap;
	struct site s;
	char buf[64];
	const char *out;

	capture_begin(&cap);
	assert_int_equal(site_load_string(yaml, strlen(yaml), "s.yaml", &s, false), 0);
	out = capture_end(&cap);
	assert_non_null(strstr(out, "s.yaml:2:13: warning: hosts.devices: '10.20.3.7/16' has "
				    "host bits set; using 10.20.0.0/16"));
	assert_non_null(strstr(out, "s.yaml:2:27: warning: hosts.devices: "
				    "'fd00:1:2:3::9/48' has host bits set; using fd00:1:2::/48"));
	assert_string_equal(prefix_str(&s.hosts[ROLE_DEVICES][0].pfx, buf, sizeof(buf)),
			    "10.20.0.0/16");
	assert_int_equal(s.nhosts[ROLE_WEB_CLIENT], 2);
	assert_int_equal(s.hosts[ROLE_WEB_CLIENT][0].pfx.family, VMG_FAMILY_V4);
	assert_int_equal(s.hosts[ROLE_WEB_CLIENT][0].pfx.len, 0);
	assert_int_equal(s.hosts[ROLE_WEB_CLIENT][1].pfx.family, VMG_FAMILY_V6);
	assert_int_equal(s.hosts[ROLE_WEB_CLIENT][1].pfx.len, 0);
	site_free(&s);
}

/* Loopback and multicast addresses load, with a warning at each. */
static void test_odd_addresses(void **state)
{
	static const char yaml[] = "hosts:\n  devices: [127.0.0.1, \"ff02::1\", 10.0.0.1]\n";
	struct capture cap;
	struct site s;
	const char *out;

	capture_begin(&cap);
	assert_int_equal(site_load_string(yaml, strlen(yaml), "s.yaml", &s, false), 0);
	out = capture_end(&cap);
	assert_non_null(strstr(out, "s.yaml:2:13: warning: hosts.devices: '127.0.0.1' is a "
				    "loopback address, not the address of a host"));
	assert_non_null(strstr(out, "s.yaml:2:24: warning: hosts.devices: 'ff02::1' is a "
				    "multicast address"));
	assert_null(strstr(out, "10.0.0.1"));
	assert_int_equal(s.nhosts[ROLE_DEVICES], 3);
	site_free(&s);
}

/* The bundled examples all load and compile without an error. */
static void test_examples(void **state)
{
	static const char *const files[] = {
		SRCDIR "/policies/examples/demo-site.yaml",
		SRCDIR "/policies/examples/single-server.yaml",
		SRCDIR "/policies/examples/large-site.yaml",
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct ruleset rs;

		assert_int_equal(compile_file(files[i], &rs, true), 0);
		assert_true(rs.nrules > 0);
		ruleset_free(&rs);
	}
}

/* A file that cannot be read is an error naming the file. */
static void test_missing_file(void **state)
{
	struct capture cap;
	struct site s;
	const char *out;

	capture_begin(&cap);
	assert_int_equal(site_load("/nonexistent/site.yaml", &s, true), -ENOENT);
	out = capture_end(&cap);
	assert_non_null(strstr(out, "/nonexistent/site.yaml: error: cannot read site policy"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_full_shape),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_canonical_addresses),
		cmocka_unit_test(test_odd_addresses),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_missing_file),
	};

	setenv("VMSGATE_CATALOG_DIR", SRCDIR "/policies", 1);
	return cmocka_run_group_tests_name("site", tests, NULL, NULL);
}
