// SPDX-License-Identifier: GPL-2.0-only
/* vmsgate: a gateway enforcer for XProtect video-management sites. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"
#include "version.h"
#include "vmsgate_abi.h"


static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "check", do_check, "validate a site policy" },
	{ "compile", do_compile, "print the rules a site policy compiles to" },
	{ "catalog", do_catalog, "print the XProtect catalog's flows" },
	{ "explain", do_explain, "judge one synthesized packet and say why" },
	{ "replay", do_replay, "judge every packet of a capture" },
	{ "run", do_run, "enforce a site policy until stopped (the daemon)" },
	{ "reload", do_reload, "make the running daemon re-read its policy" },
	{ "status", do_status, "what is attached and in force" },
	{ "stats", do_stats, "counters from the pinned maps" },
	{ "monitor", do_monitor, "print drop events as they happen" },
	{ "detach", do_detach, "remove the program, the pins and the nftables table" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmsgate [-v] COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'vmsgate COMMAND --help' describes one command.\n"
		"examples:\n"
		"  vmsgate check -c /etc/vmsgate/site.yaml\n"
		"  vmsgate catalog --json\n");
}

int main(int argc, char **argv)
{
	int argi = 1;

	if (argi < argc && (!strcmp(argv[argi], "-v") || !strcmp(argv[argi], "--verbose"))) {
		log_set_level(LOG_LVL_DEBUG);
		argi++;
	}
	log_setup_libbpf();
	if (argi >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[argi], "--help") || !strcmp(argv[argi], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[argi], "--version")) {
		printf("vmsgate %s (abi %d)\n", VMSGATE_VERSION, VMG_ABI_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[argi], commands[i].name))
			return commands[i].fn(argc - argi, argv + argi);
	fprintf(stderr, "vmsgate: unknown command '%s'\n", argv[argi]);
	usage(stderr);
	return EXIT_USAGE;
}
