// SPDX-License-Identifier: GPL-2.0-only
/* vmsgate check, compile and catalog: no root needed. */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "compile.h"
#include "dataplane.h"

struct policy_opts {
	const char *config;
	const char *catalog;
	bool json;
	bool quiet;
};

static int parse_policy_opts(int argc, char **argv, const char *usage, struct policy_opts *o)
{
	static const struct option long_opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	o->config = DEFAULT_SITE;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jqC:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'C':
			o->catalog = optarg;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n%s", argv[optind], usage);
		return EXIT_USAGE;
	}
	return 0;
}

int do_check(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate check [-c FILE] [-q]\n"
		"  Validates a site policy against its catalog; errors as FILE:LINE:COL.\n"
		"  -c, --config FILE  site policy (default " DEFAULT_SITE ")\n"
		"  -q, --quiet        print errors only, no warnings\n"
		"example: vmsgate check -c policies/examples/demo-site.yaml\n";
	struct policy_opts o = { 0 };
	struct ruleset rs;
	int err = parse_policy_opts(argc, argv, usage, &o);

	if (err)
		return err < 0 ? EXIT_OK : err;
	err = compile_file(o.config, &rs, o.quiet);
	if (err)
		return EXIT_FAIL;
	/* what `run` would refuse, refused here too */
	if (dp_check_fits(&rs, o.config)) {
		ruleset_free(&rs);
		return EXIT_FAIL;
	}
	if (!rs.ninterfaces && !o.quiet)
		fprintf(stderr, "%s: warning: no interfaces: vmsgate run needs them to attach; "
			"explain and replay do not\n", o.config);
	printf("%s: ok: %zu rules, %zu exact addresses, %zu prefixes, %zu port entries\n",
	       o.config, rs.nrules, rs.nhosts, rs.nprefixes, rs.nports);
	ruleset_free(&rs);
	return EXIT_OK;
}

int do_compile(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate compile [-c FILE] [--json] [-q]\n"
		"  Prints the rules a site policy compiles to.\n"
		"  -c, --config FILE  site policy (default " DEFAULT_SITE ")\n"
		"  -j, --json         JSON instead of a table\n"
		"  -q, --quiet        no warnings\n"
		"example: vmsgate compile -c policies/examples/demo-site.yaml --json\n";
	struct policy_opts o = { 0 };
	struct ruleset rs;
	int err = parse_policy_opts(argc, argv, usage, &o);

	if (err)
		return err < 0 ? EXIT_OK : err;
	err = compile_file(o.config, &rs, o.quiet);
	if (err)
		return EXIT_FAIL;
	compile_print(&rs, o.json);
	ruleset_free(&rs);
	return EXIT_OK;
}

int do_catalog(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate catalog [--json] [--catalog FILE]\n"
		"  Prints the catalog's flows (default: the installed XProtect catalog).\n"
		"example: vmsgate catalog --json |\n"
		"         jq '.[] | select(.to == \"recording-server\")'\n";
	struct policy_opts o = { 0 };
	struct catalog cat;
	char path[PATH_MAX];
	int err = parse_policy_opts(argc, argv, usage, &o);

	if (err)
		return err < 0 ? EXIT_OK : err;
	if (catalog_resolve(o.catalog ?: "xprotect", NULL, path, sizeof(path))) {
		fprintf(stderr, "error: catalog 'xprotect' not found; install it or set "
			"VMSGATE_CATALOG_DIR\n");
		return EXIT_FAIL;
	}
	if (catalog_load(path, &cat))
		return EXIT_FAIL;
	catalog_print(&cat, o.json);
	catalog_free(&cat);
	return EXIT_OK;
}
