// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drives the nftables sync for tests/e2e/test_nft.sh, one command a run:
 *
 * nft_driver [-v] COMMAND: -v logs at debug level.
 *
 *   nft_driver apply FILE...    sync to each policy in turn, in one process as
 *                               the daemon does: a line of counts for each
 *   nft_driver repair FILE      adopt FILE's policy, then repair: repaired=0|1
 *   nft_driver check FILE       adopt FILE's policy, then compare: drift=0|1
 *   nft_driver delete           remove table inet vmsgate
 *   nft_driver print FILE       the desired table as nft lists it (no root)
 *   nft_driver watch FILE CMD   apply, read our own events, run CMD, read the
 *                               events it caused, repair: the daemon's loop
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "log.h"
#include "nft.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int load(const char *path, struct ruleset *rs)
{
	int err = compile_file(path, rs, true);

	if (err)
		fprintf(stderr, "nft_driver: failed to compile %s: %s\n", path, strerror(-err));
	return err;
}

static int do_print(const char *path)
{
	struct nft_desired d;
	struct ruleset rs;
	int err;

	err = load(path, &rs);
	if (err)
		return 1;
	err = nft_desired_build(&rs, &d);
	ruleset_free(&rs);
	if (err)
		return 1;
	nft_desired_print(stdout, &d);
	nft_desired_free(&d);
	return 0;
}

/* One line per apply, counts of this apply only. */
static int do_apply(struct nft_sync *ns, const char *path)
{
	struct nft_stats before = *nft_sync_stats(ns);
	const struct nft_stats *st = nft_sync_stats(ns);
	struct ruleset rs;
	bool changed;
	double t0;
	int err;

	if (load(path, &rs))
		return 1;
	t0 = now_ms();
	err = nft_sync_apply(ns, &rs, &changed);
	ruleset_free(&rs);
	if (err)
		return 1;
	printf("changed=%d added=%lu removed=%lu rules=%lu batches=%lu ms=%.0f\n", changed,
	       st->elements_added - before.elements_added,
	       st->elements_removed - before.elements_removed,
	       st->rules_replaced - before.rules_replaced, st->batches - before.batches,
	       now_ms() - t0);
	fflush(stdout);
	return 0;
}

static int do_apply_all(struct nft_sync *ns, char **paths, int n)
{
	int ret = 0;

	for (int i = 0; i < n && !ret; i++)
		ret = do_apply(ns, paths[i]);
	return ret;
}

static int do_adopted(struct nft_sync *ns, const char *path, bool repair)
{
	struct ruleset rs;
	int ret;

	if (load(path, &rs))
		return 1;
	ret = nft_sync_adopt(ns, &rs);
	ruleset_free(&rs);
	if (ret)
		return 1;
	ret = repair ? nft_sync_repair(ns) : nft_sync_check(ns);
	if (ret < 0)
		return 1;
	printf("%s=%d\n", repair ? "repaired" : "drift", ret);
	return 0;
}

static int do_watch(struct nft_sync *ns, const char *path, const char *cmd)
{
	int ret;

	if (do_apply(ns, path))
		return 1;
	ret = nft_sync_drain_events(ns);
	printf("own_events=%d\n", ret);
	fflush(stdout);
	if (ret < 0 || system(cmd) != 0)
		return 1;
	ret = nft_sync_drain_events(ns);
	printf("foreign_events=%d\n", ret);
	if (ret < 0)
		return 1;
	ret = nft_sync_repair(ns);
	printf("repaired=%d\n", ret);
	return ret < 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: nft_driver [-v] apply FILE... | repair|check|print FILE | delete | "
		"watch FILE CMD\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd;
	struct nft_sync *ns;
	int ret;

	if (argc > 1 && !strcmp(argv[1], "-v")) {
		log_set_level(LOG_LVL_DEBUG);
		argc--;
		argv++;
	}
	cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "print") && argc == 3)
		return do_print(argv[2]);
	if (!((argc == 3 && strcmp(cmd, "delete") && strcmp(cmd, "watch")) ||
	      (argc > 3 && !strcmp(cmd, "apply")) || (argc == 2 && !strcmp(cmd, "delete")) ||
	      (argc == 4 && !strcmp(cmd, "watch"))))
		return usage();
	if (nft_sync_open(&ns))
		return 1;
	if (!strcmp(cmd, "apply"))
		ret = do_apply_all(ns, argv + 2, argc - 2);
	else if (!strcmp(cmd, "repair") || !strcmp(cmd, "check"))
		ret = do_adopted(ns, argv[2], !strcmp(cmd, "repair"));
	else if (!strcmp(cmd, "delete"))
		ret = nft_sync_delete_table(ns) ? 1 : 0;
	else if (!strcmp(cmd, "watch"))
		ret = do_watch(ns, argv[2], argv[3]);
	else
		ret = usage();
	nft_sync_close(ns);
	return ret;
}
