// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control plane's costs, in one process as the daemon spends them.
 *
 * bench_cp [options]: run inside a network namespace of the bench's own
 * (tests/bench/run.sh uses vmgb-cp): the nftables table it syncs is that
 * namespace's. For each policy size:
 *
 *   compile       read and compile the site file (compile_file)
 *   dp_apply      fill the idle generation and swap: the first policy, the
 *                 same policy again, and one with 1% of hosts replaced
 *   nft_sync      (--elements) table inet vmsgate brought to a policy of
 *                 that many set elements (four per host: an interval in
 *                 its role's set and one in protected_v4/_v6, each a start
 *                 and an end element): from nothing, unchanged, and with 1%
 *                 of hosts replaced
 *   reload        compile + dp_apply + nft_sync of the next policy file,
 *                 changed (1% of hosts) and unchanged
 *   map_memory    memlock of every map of the program, as the kernel
 *                 accounts it, after the policy is in
 *
 * bench_cp daemon-reload RUN_DIR: SIGHUPs the daemon whose status file is
 * in RUN_DIR and prints the milliseconds until its status file says the
 * reload finished.
 *
 * bench_cp site HOSTS IFACE FILE [SHIFT]: writes the synthetic site of
 * HOSTS protected addresses, attached to IFACE, its cameras moved by SHIFT
 * places (for the wire and daemon benches).
 *
 * Options: --sizes 10,1000,10000,100000 --elements 1000,10000,100000
 * --runs 5 --csv FILE --dir DIR (where the site files go).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "compile.h"
#include "daemon.h"
#include "dataplane.h"
#include "dp_pin.h"
#include "log.h"
#include "nft.h"

#define MAX_SIZES 8
#define MAX_MAPS 64
/* a reload that changes 1% of the hosts: the cameras move by this many places */
#define SHIFT_PERCENT 1

struct opts {
	size_t sizes[MAX_SIZES];
	int nsizes;
	size_t elements[MAX_SIZES];	/* nftables set elements */
	int nelements;
	int runs;
	const char *csv;
	const char *dir;
};

/* ---- site files ----------------------------------------------------------- */

static int write_site(const char *dir, size_t hosts, size_t shift, char *path, size_t len)
{
	char *yaml = bench_site_yaml(hosts, "lo", shift);
	FILE *f;
	int err = 0;

	if (!yaml)
		return -ENOMEM;
	snprintf(path, len, "%s/site-%zu-%zu.yaml", dir, hosts, shift);
	f = fopen(path, "w");
	if (!f || fputs(yaml, f) < 0)
		err = -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	free(yaml);
	return err;
}

static size_t shift_for(size_t hosts)
{
	size_t s = hosts * SHIFT_PERCENT / 200;

	return s ? s : 1;
}

static int load(const char *path, struct ruleset *rs)
{
	int err = compile_file(path, rs, true);

	if (err)
		pr_err("failed to compile %s: %s\n", path, strerror(-err));
	return err;
}

/* ---- map memory ----------------------------------------------------------- */

static long fd_memlock(int fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	}
	fclose(f);
	return v;
}

/*
 * Memory the kernel charges for each map the program uses, a row each, and
 * their sum, in bytes.
 */
static int map_memory(FILE *csv, int prog_fd, size_t hosts)
{
	__u32 ids[MAX_MAPS];
	struct bpf_prog_info info = {
		.nr_map_ids = MAX_MAPS,
		.map_ids = (unsigned long)ids,
	};
	__u32 len = sizeof(info);
	long total = 0;

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < MAX_MAPS; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		char note[64];
		long m;

		if (fd < 0)
			return -errno;
		m = fd_memlock(fd);
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen))
			mi.name[0] = '\0';
		close(fd);
		if (m < 0)
			return -EINVAL;
		total += m;
		snprintf(note, sizeof(note), "%u × %u bytes", mi.max_entries, mi.value_size);
		bench_csv1(csv, "memory", "map", mi.name, (long)hosts, NULL, (double)m, "bytes",
			   note);
	}
	bench_csv1(csv, "memory", "maps_total", "vmsgate", (long)hosts, NULL, (double)total,
		   "bytes", "memlock of every map of the program");
	return 0;
}

/* ---- stages ---------------------------------------------------------------- */

static int bench_compile(const struct opts *o, FILE *csv, size_t hosts, const char *path)
{
	double v[BENCH_MAX_RUNS];
	struct bench_stat st;
	struct ruleset rs;
	char note[64];
	int err = 0;

	for (int r = 0; r < o->runs && !err; r++) {
		double t0 = bench_now_ns();

		err = load(path, &rs);
		v[r] = (bench_now_ns() - t0) / 1e6;
		if (!err && r == 0)
			snprintf(note, sizeof(note), "%zu rules, %zu port entries", rs.nrules,
				 rs.nports);
		if (!err)
			ruleset_free(&rs);
	}
	if (err)
		return err;
	bench_stat(v, o->runs, &st);
	bench_csv(csv, "control", "compile", "vmsgate", (long)hosts, NULL, &st, "ms", note);
	return 0;
}

static int timed_apply(struct dp *dp, const struct ruleset *rs, double *ms)
{
	double t0 = bench_now_ns();
	int err = dp_apply(dp, rs);

	*ms = (bench_now_ns() - t0) / 1e6;
	return err;
}

/* dp_apply: the first policy into empty maps, the same again, a changed one. */
static int bench_dp_apply(const struct opts *o, FILE *csv, size_t hosts, const struct ruleset *a,
			  const struct ruleset *b)
{
	double first[BENCH_MAX_RUNS], same[BENCH_MAX_RUNS], changed[BENCH_MAX_RUNS];
	struct bench_stat st;
	struct dp *dp;
	int err = 0;

	for (int r = 0; r < o->runs && !err; r++) {
		err = dp_open_private_unrecorded(&dp);
		if (err)
			return err;
		err = timed_apply(dp, a, &first[r]);
		if (!err)
			err = timed_apply(dp, a, &same[r]);
		if (!err)
			err = timed_apply(dp, b, &changed[r]);
		if (!err && r == 0)
			err = map_memory(csv, dp_prog_fd(dp), hosts);
		dp_close(dp);
	}
	if (err)
		return err;
	bench_stat(first, o->runs, &st);
	bench_csv(csv, "control", "dp_apply_first", "vmsgate", (long)hosts, NULL, &st, "ms",
		  "fill and swap into empty maps");
	bench_stat(same, o->runs, &st);
	bench_csv(csv, "control", "dp_apply_same", "vmsgate", (long)hosts, NULL, &st, "ms",
		  "the same policy again: left in place");
	bench_stat(changed, o->runs, &st);
	bench_csv(csv, "control", "dp_apply_changed", "vmsgate", (long)hosts, NULL, &st, "ms",
		  "1% of hosts replaced");
	return 0;
}

static int timed_sync(struct nft_sync *ns, const struct ruleset *rs, double *ms,
		      bool *changed)
{
	double t0 = bench_now_ns();
	int err = nft_sync_apply(ns, rs, changed);

	*ms = (bench_now_ns() - t0) / 1e6;
	return err;
}

/* nftables: from no table, unchanged, 1% changed; the table goes between runs. */
static int bench_nft(const struct opts *o, FILE *csv, size_t hosts, const struct ruleset *a,
		     const struct ruleset *b)
{
	double init[BENCH_MAX_RUNS], same[BENCH_MAX_RUNS], delta[BENCH_MAX_RUNS];
	unsigned long elems = 0, delta_elems = 0;
	struct bench_stat st;
	struct nft_sync *ns;
	char note[96];
	bool changed, same_changed = false;
	int err;

	err = nft_sync_open(&ns);
	if (err)
		return err;
	nft_sync_delete_table(ns);
	for (int r = 0; r < o->runs && !err; r++) {
		const struct nft_stats *s = nft_sync_stats(ns);
		unsigned long before = s->elements_added + s->elements_removed;

		err = timed_sync(ns, a, &init[r], &changed);
		elems = s->elements_added + s->elements_removed - before;
		if (!err)
			err = timed_sync(ns, a, &same[r], &changed);
		same_changed |= changed;
		before = s->elements_added + s->elements_removed;
		if (!err)
			err = timed_sync(ns, b, &delta[r], &changed);
		delta_elems = s->elements_added + s->elements_removed - before;
		if (!err)
			err = nft_sync_delete_table(ns);
	}
	nft_sync_close(ns);
	if (err)
		return err;
	bench_stat(init, o->runs, &st);
	snprintf(note, sizeof(note), "%lu set elements", elems);
	bench_csv(csv, "nft", "nft_sync_initial", "vmsgate", (long)hosts, NULL, &st, "ms", note);
	bench_stat(same, o->runs, &st);
	bench_csv(csv, "nft", "nft_sync_unchanged", "vmsgate", (long)hosts, NULL, &st, "ms",
		  same_changed ? "sent changes" : "nothing sent");
	bench_stat(delta, o->runs, &st);
	snprintf(note, sizeof(note), "%lu set elements changed", delta_elems);
	bench_csv(csv, "nft", "nft_sync_changed", "vmsgate", (long)hosts, NULL, &st, "ms", note);
	return 0;
}

/* One reload as the daemon does it: compile the file, swap the maps, sync nftables. */
static int reload_once(struct dp *dp, struct nft_sync *ns, const char *path, double *ms,
		       bool *nft_changed)
{
	double t0 = bench_now_ns();
	struct ruleset rs;
	int err = load(path, &rs);

	if (err)
		return err;
	err = dp_apply(dp, &rs);
	if (!err)
		err = nft_sync_apply(ns, &rs, nft_changed);
	*ms = (bench_now_ns() - t0) / 1e6;
	ruleset_free(&rs);
	return err;
}

/* The first load: compile, fill empty maps, create the table. */
static int bench_first_load(const struct opts *o, FILE *csv, size_t hosts, const char *pa)
{
	double first[BENCH_MAX_RUNS];
	struct bench_stat st;
	struct nft_sync *ns;
	struct dp *dp;
	bool changed;
	int err = 0;

	for (int r = 0; r < o->runs && !err; r++) {
		err = dp_open_private_unrecorded(&dp);
		if (err)
			return err;
		err = nft_sync_open(&ns);
		if (!err) {
			nft_sync_delete_table(ns);
			err = reload_once(dp, ns, pa, &first[r], &changed);
			nft_sync_delete_table(ns);
			nft_sync_close(ns);
		}
		dp_close(dp);
	}
	if (err)
		return err;
	bench_stat(first, o->runs, &st);
	bench_csv(csv, "control", "load_first", "vmsgate", (long)hosts, NULL, &st, "ms",
		  "compile + dp_apply + nft_sync into empty maps and no table");
	return 0;
}

static int bench_reload(const struct opts *o, FILE *csv, size_t hosts, const char *pa,
			const char *pb)
{
	double changed[BENCH_MAX_RUNS], same[BENCH_MAX_RUNS];
	bool nft_changed, same_touched = false;
	struct bench_stat st;
	struct nft_sync *ns;
	struct dp *dp;
	int err;

	err = dp_open_private_unrecorded(&dp);
	if (err)
		return err;
	err = nft_sync_open(&ns);
	if (err) {
		dp_close(dp);
		return err;
	}
	err = reload_once(dp, ns, pa, &same[0], &nft_changed);
	for (int r = 0; r < o->runs && !err; r++) {
		err = reload_once(dp, ns, r % 2 ? pa : pb, &changed[r], &nft_changed);
		if (!err)
			err = reload_once(dp, ns, r % 2 ? pa : pb, &same[r], &nft_changed);
		same_touched |= nft_changed;
	}
	nft_sync_delete_table(ns);
	nft_sync_close(ns);
	dp_close(dp);
	if (err)
		return err;
	bench_stat(changed, o->runs, &st);
	bench_csv(csv, "control", "reload_changed", "vmsgate", (long)hosts, NULL, &st, "ms",
		  "compile + dp_apply + nft_sync; 1% of hosts replaced");
	bench_stat(same, o->runs, &st);
	bench_csv(csv, "control", "reload_unchanged", "vmsgate", (long)hosts, NULL, &st, "ms",
		  same_touched ? "nftables changed" : "no nftables change");
	return 0;
}

/* Site files a and b of hosts addresses, b with 1% of the cameras moved, compiled. */
static int two_sites(const struct opts *o, size_t hosts, char *pa, char *pb, size_t len,
		     struct ruleset *a, struct ruleset *b)
{
	int err;

	err = write_site(o->dir, hosts, 0, pa, len);
	if (!err)
		err = write_site(o->dir, hosts, shift_for(hosts), pb, len);
	if (err) {
		pr_err("failed to write the site files under %s: %s\n", o->dir, strerror(-err));
		return err;
	}
	if (load(pa, a))
		return -EINVAL;
	if (load(pb, b)) {
		ruleset_free(a);
		return -EINVAL;
	}
	return 0;
}

static int bench_nft_size(const struct opts *o, FILE *csv, size_t elements)
{
	size_t hosts = elements / 4 > BENCH_FIXED_HOSTS ? elements / 4 : BENCH_FIXED_HOSTS;
	char pa[512], pb[512];
	struct ruleset a, b;
	int err;

	err = two_sites(o, hosts, pa, pb, sizeof(pa), &a, &b);
	if (err)
		return err;
	err = bench_nft(o, csv, hosts, &a, &b);
	ruleset_free(&a);
	ruleset_free(&b);
	fprintf(stderr, "bench_cp: nftables with %zu elements done\n", elements);
	return err;
}

static int bench_size(const struct opts *o, FILE *csv, size_t hosts)
{
	char pa[512], pb[512];
	struct ruleset a, b;
	int err;

	err = two_sites(o, hosts, pa, pb, sizeof(pa), &a, &b);
	if (!err)
		err = bench_compile(o, csv, hosts, pa);
	if (!err)
		err = bench_dp_apply(o, csv, hosts, &a, &b);
	if (!err)
		err = bench_first_load(o, csv, hosts, pa);
	if (!err)
		err = bench_reload(o, csv, hosts, pa, pb);
	ruleset_free(&a);
	ruleset_free(&b);
	fprintf(stderr, "bench_cp: %zu hosts done\n", hosts);
	return err;
}

/* ---- the daemon's reload --------------------------------------------------- */

static int do_daemon_reload(const char *run_dir)
{
	struct daemon_status before, after;
	double t0;

	setenv("VMSGATE_RUN_DIR", run_dir, 1);
	if (status_read(&before) || !status_daemon_alive(&before)) {
		fprintf(stderr, "bench_cp: no live daemon in %s\n", status_path());
		return 1;
	}
	t0 = bench_now_ns();
	if (kill(before.pid, SIGHUP)) {
		perror("bench_cp: kill");
		return 1;
	}
	/* every 200 us; the daemon renames its status file in place when done */
	while (bench_now_ns() - t0 < 30e9) {
		usleep(200);
		if (status_read(&after))
			continue;
		if (after.reloads_ok + after.reloads_failed !=
		    before.reloads_ok + before.reloads_failed) {
			printf("%.3f %s\n", (bench_now_ns() - t0) / 1e6, after.last_result);
			return strcmp(after.last_result, "ok") != 0;
		}
	}
	fprintf(stderr, "bench_cp: the daemon did not answer within 30 s\n");
	return 1;
}

static int do_site(size_t hosts, const char *iface, const char *path, size_t shift)
{
	char *yaml = bench_site_yaml(hosts, iface, shift);
	FILE *f = fopen(path, "w");
	int err = !yaml || !f || fputs(yaml, f) < 0;

	if (f && fclose(f))
		err = 1;
	free(yaml);
	if (err)
		fprintf(stderr, "bench_cp: failed to write %s\n", path);
	return err;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "elements", required_argument, NULL, 'e' },
		{ "runs", required_argument, NULL, 'r' },
		{ "csv", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->nsizes = bench_parse_sizes(optarg, o->sizes, MAX_SIZES);
			if (o->nsizes <= 0)
				return -EINVAL;
			break;
		case 'e':
			o->nelements = bench_parse_sizes(optarg, o->elements, MAX_SIZES);
			if (o->nelements <= 0)
				return -EINVAL;
			break;
		case 'r':
			o->runs = atoi(optarg);
			if (o->runs < 1 || o->runs > BENCH_MAX_RUNS)
				return -EINVAL;
			break;
		case 'o':
			o->csv = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.sizes = { 10, 1000, 10000, 100000 },
		.nsizes = 4,
		.elements = { 1000, 10000, 100000 },
		.nelements = 3,
		.runs = 5,
		.dir = "build/bench",
	};
	FILE *csv = stdout;
	int err = 0;

	log_set_level(LOG_LVL_WARN);
	log_setup_libbpf();
	if (argc == 3 && !strcmp(argv[1], "daemon-reload"))
		return do_daemon_reload(argv[2]);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "site"))
		return do_site(strtoul(argv[2], NULL, 10), argv[3], argv[4],
			       argc == 6 ? strtoul(argv[5], NULL, 10) : 0);
	if (parse_opts(argc, argv, &o)) {
		fprintf(stderr, "usage: bench_cp [--sizes N,N..] [--elements N,N..] [--runs N] "
			"[--csv FILE] [--dir DIR]\n"
			"       bench_cp daemon-reload RUN_DIR\n"
			"       bench_cp site HOSTS IFACE FILE [SHIFT]\n");
		return 2;
	}
	if (o.csv) {
		csv = fopen(o.csv, "a");
		if (!csv) {
			fprintf(stderr, "bench_cp: cannot open %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < o.nsizes && !err; i++)
		err = bench_size(&o, csv, o.sizes[i]);
	for (int i = 0; i < o.nelements && !err; i++)
		err = bench_nft_size(&o, csv, o.elements[i]);
	if (csv != stdout)
		fclose(csv);
	return err ? 1 : 0;
}
