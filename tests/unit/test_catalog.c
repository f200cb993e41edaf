// SPDX-License-Identifier: GPL-2.0-only
/* The catalog file holds every row of the vendor's port table, no more, no less. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_expected.h"
#include "roles.h"
#include "util.h"

static struct catalog cat;

static int setup(void **state)
{
	return catalog_load(SRCDIR "/policies/xprotect.yaml", &cat);
}

static int teardown(void **state)
{
	catalog_free(&cat);
	return 0;
}

static bool flow_matches(const struct flow *f, const struct expected_flow *e)
{
	const char *proto = f->proto == IPPROTO_UDP ? "udp" : "tcp";
	const char *feature = feature_name(f->feature);

	return !strcmp(role_name(f->to), e->to) && !strcmp(proto, e->proto) &&
	       f->port == e->port && f->port_end == e->port_end &&
	       f->local_only == (bool)e->local_only &&
	       ((!feature && !e->feature) || (feature && e->feature &&
					      !strcmp(feature, e->feature)));
}

/* Every expected row is loaded, and every loaded flow is expected: the same set. */
static void test_every_seed_row_is_a_flow(void **state)
{
	size_t n = ARRAY_SIZE(expected_flows);
	bool *seen = calloc(cat.nflows, sizeof(bool));

	assert_non_null(seen);
	assert_int_equal(cat.nflows, n);
	for (size_t i = 0; i < n; i++) {
		const struct expected_flow *e = &expected_flows[i];
		bool found = false;

		for (size_t j = 0; j < cat.nflows && !found; j++) {
			if (seen[j] || !flow_matches(&cat.flows[j], e))
				continue;
			seen[j] = found = true;
		}
		if (!found)
			fail_msg("seed row %s %s %d-%d missing from the catalog", e->to, e->proto,
				 e->port, e->port_end);
	}
	free(seen);
}

/* The flags DESIGN.md names sit on the rows the seed gives them. */
static void test_flags(void **state)
{
	int per_instance = 0, versions = 0, configurable = 0, schemes = 0;

	for (size_t i = 0; i < cat.nflows; i++) {
		const struct flow *f = &cat.flows[i];

		assert_non_null(f->purpose);
		assert_true(f->local_only == (f->from == 0));
		if (f->per_instance) {
			assert_int_equal(f->to, ROLE_RECORDING_SERVER);
			assert_int_equal(f->port, 9001);
			per_instance++;
		}
		if (f->nversions) {
			versions++;
			if (f->port == 12974) {
				assert_int_equal(flow_port_for_version(f, 20149), 6475);
				assert_int_equal(flow_port_for_version(f, 20192), 7475);
				assert_int_equal(flow_port_for_version(f, 20193), 12974);
			}
			if (f->port == 12975) {
				assert_int_equal(flow_port_for_version(f, 20149), 6474);
				assert_int_equal(flow_port_for_version(f, 20192), 7474);
			}
		}
		configurable += f->configurable;
		if (f->scheme) {
			assert_true(f->port == 80 || f->port == 443);
			assert_int_equal(f->scheme, f->port == 80 ? SCHEME_HTTP : SCHEME_HTTPS);
			schemes++;
		}
	}
	assert_int_equal(per_instance, 1);
	assert_int_equal(versions, 2);
	assert_int_equal(configurable, 2);
	assert_true(schemes >= 6 && schemes % 2 == 0);
}

/* Release names order as XProtect releases do; a bare year is its last release. */
static void test_version_ordinals(void **state)
{
	assert_true(catalog_version_ordinal("2014") > catalog_version_ordinal("2014 R3"));
	assert_true(catalog_version_ordinal("2019 R2") < catalog_version_ordinal("2019 R3"));
	assert_true(catalog_version_ordinal("2023 R3") > catalog_version_ordinal("2019"));
	assert_int_equal(catalog_version_ordinal("R3"), -1);
	assert_int_equal(catalog_version_ordinal("2019 R"), -1);
	assert_int_equal(catalog_version_ordinal("2019R2x"), -1);
	assert_int_equal(catalog_version_ordinal("1999"), -1);
}

/* Long source lists break between items, never inside one. */
static void test_list_head(void **state)
{
	const char *rest;

	assert_int_equal(list_head("a, b", 10, &rest), 4);
	assert_string_equal(rest, "");
	assert_int_equal(list_head("alpha, beta, gamma", 12, &rest), 12);
	assert_string_equal(rest, "gamma");
	assert_int_equal(list_head("alpha, beta", 3, &rest), 6);	/* one item at least */
	assert_string_equal(rest, "beta");
	assert_int_equal(list_head("averyverylongrole", 5, &rest), 17);
	assert_string_equal(rest, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_seed_row_is_a_flow),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_version_ordinals),
		cmocka_unit_test(test_list_head),
	};

	setenv("VMSGATE_CATALOG_DIR", SRCDIR "/policies", 1);
	return cmocka_run_group_tests_name("catalog", tests, setup, teardown);
}
