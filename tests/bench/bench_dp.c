// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet cost through BPF_PROG_TEST_RUN.
 *
 * bench_dp [options]: for each policy size, compiles the synthetic site
 * (bench.h), checks that every packet of the table gets the verdict it is
 * meant to, then times each packet, IPv4 and IPv6, through:
 *
 *   vmsgate          the program as the daemon runs it (no verdict recording)
 *   floor            an XDP program that only returns XDP_DROP
 *   xdpfilt_*        the xdp-filter programs Debian's xdp-tools ships, their
 *                    maps filled as xdp-filter fills them, for the nearest
 *                    policy each can express (see variants[] below)
 *
 * Each figure is the time the kernel reports for one BPF_PROG_TEST_RUN call,
 * per repetition, in whole nanoseconds. Wall time would not do: every call
 * with a repeat swaps the kernel's XDP dispatcher twice, some 20 ms. Every
 * size is loaded at once and each run takes every packet through every
 * program of every size in turn; rows go to the CSV as medians of the runs
 * with minimum and maximum.
 *
 * --hold PREFIX keeps every program attached (generic XDP) to an interface
 * PREFIX0, PREFIX1, ... that the caller made: the kernel's XDP dispatcher
 * then already holds it when BPF_PROG_TEST_RUN asks for it, and is not
 * rebuilt around each call, which costs some 20 ms of waiting a call and
 * moves the code every program is entered through.
 *
 * Options: --sizes 10,1000,10000,100000 --runs 5 --repeat 200000 --cpu 1
 * --csv FILE --floor build/bench/floor.bpf.o --hold PREFIX
 * --xdpfilt-dir /usr/lib/x86_64-linux-gnu/bpf
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "compile.h"
#include "dataplane.h"
#include "dp_pin.h"
#include "log.h"
#include "packets.h"

#define MAX_SIZES 8
#define MAX_SUBJECTS 8
#define NFAM 2

/* The flag bits of xdp-filter's map values, as `xdp-filter port|ip` stores them. */
#define XF_SRC 0x1
#define XF_DST 0x2
#define XF_TCP 0x4
#define XF_UDP 0x8

/* Ports at and above this are left open in a port blocklist: replies land there. */
#define EPHEMERAL_FIRST 32768

struct opts {
	size_t sizes[MAX_SIZES];
	int nsizes;
	int runs;
	unsigned int repeat;
	int cpu;
	const char *csv;
	const char *floor;
	const char *xdpfilt_dir;
	const char *hold;		/* interface name prefix, or NULL */
};

/*
 * How each xdp-filter program is configured. xdp-filter ORs its matches, so
 * none can say "this source to that host on this port"; each is the
 * nearest policy of its kind:
 *   addresses  every address of the site as a source match (mode src): in
 *              deny mode, only the site's own hosts get through
 *   open       every port a rule opens, as a destination match for its
 *              protocol, and as a source match for its return traffic
 *   closed     every port below 32768 that no rule opens, as a destination
 *              match for the protocols it is closed to
 */
struct variant {
	const char *prog;		/* xdpfilt_<prog>.o */
	bool addresses;
	bool open;
	bool closed;
	const char *config;
};

static const struct variant variants[] = {
	{ "dny_ip", true, false, false, "deny policy; the site's addresses as sources" },
	{ "dny_all", true, true, false,
	  "deny policy; the site's addresses as sources, open ports" },
	{ "alw_tcp", false, false, true, "allow policy; closed TCP ports" },
	{ "alw_all", false, false, true, "allow policy; closed TCP and UDP ports" },
};

#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

struct subject {
	char name[32];			/* the CSV subject */
	int fd;
	struct bpf_object *obj;		/* NULL for vmsgate */
	int held_on;			/* ifindex it is attached to, or 0 */
};

struct frames {
	uint8_t buf[BP_COUNT][NFAM][FRAME_MAX];
	size_t len[BP_COUNT][NFAM];
};

static const int families[NFAM] = { 4, 6 };
static const char *const family_names[NFAM] = { "ipv4", "ipv6" };

/* ---- programs ------------------------------------------------------------ */

static struct bpf_object *open_object(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *map;

	if (!obj) {
		pr_err("failed to open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	/* xdp-filter's maps are pinned by name: never reuse or create a pin */
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	return obj;
}

static int load_object(struct bpf_object *obj, const char *path, struct subject *s)
{
	struct bpf_program *prog;
	int err = bpf_object__load(obj);

	if (err) {
		pr_err("failed to load %s: %s\n", path, strerror(-err));
		return err;
	}
	prog = bpf_object__next_program(obj, NULL);
	if (!prog)
		return -ENOENT;
	s->fd = bpf_program__fd(prog);
	s->obj = obj;
	return 0;
}

static int open_floor(const char *path, struct subject *s)
{
	struct bpf_object *obj = open_object(path);
	int err;

	if (!obj)
		return -ENOENT;
	snprintf(s->name, sizeof(s->name), "floor");
	err = load_object(obj, path, s);
	if (err)
		bpf_object__close(obj);
	return err;
}

/* ---- xdp-filter's maps ---------------------------------------------------- */

static int update_percpu(int fd, const void *key, uint64_t flags, int ncpus)
{
	uint64_t *vals = calloc(ncpus, sizeof(*vals));
	int err = 0;

	if (!vals)
		return -ENOMEM;
	for (int i = 0; i < ncpus; i++)
		vals[i] = flags;
	if (bpf_map_update_elem(fd, key, vals, BPF_ANY))
		err = -errno;
	free(vals);
	return err;
}

static int fill_addresses(struct bpf_object *obj, const struct ruleset *rs, int ncpus)
{
	int fd4 = bpf_map__fd(bpf_object__find_map_by_name(obj, "filter_ipv4"));
	int fd6 = bpf_map__fd(bpf_object__find_map_by_name(obj, "filter_ipv6"));
	int err = 0;

	for (size_t i = 0; i < rs->nhosts && !err; i++) {
		const struct prefix *p = &rs->hosts[i].pfx;

		if (p->family == 4 && fd4 >= 0)
			err = update_percpu(fd4, p->addr, XF_SRC, ncpus);
		else if (p->family == 6 && fd6 >= 0)
			err = update_percpu(fd6, p->addr, XF_SRC, ncpus);
	}
	return err;
}

static uint64_t proto_flag(uint8_t proto)
{
	return proto == P_TCP ? XF_TCP : proto == P_UDP ? XF_UDP : 0;
}

/* Per port, the xdp-filter flags of the variant's port list. */
static void port_flags(const struct variant *v, const struct ruleset *rs, uint64_t *flags)
{
	static uint64_t open_fwd[65536];

	memset(open_fwd, 0, sizeof(open_fwd));
	memset(flags, 0, 65536 * sizeof(*flags));
	for (size_t i = 0; i < rs->nports; i++) {
		const struct port_entry *pe = &rs->ports[i];
		uint64_t pf = proto_flag(pe->key.proto);

		if (!pe->val.src_roles || (pe->val.flags & VMG_PF_LOCAL_ONLY))
			continue;
		if (pe->key.dir == VMG_DIR_FORWARD) {
			open_fwd[pe->key.port] |= pf;
			if (v->open)
				flags[pe->key.port] |= XF_DST | pf;
		} else if (v->open) {
			flags[pe->key.port] |= XF_SRC | pf;
		}
	}
	if (!v->closed)
		return;
	for (uint32_t p = 1; p < EPHEMERAL_FIRST; p++) {
		uint64_t closed = (XF_TCP | XF_UDP) & ~open_fwd[p];

		if (closed)
			flags[p] = XF_DST | closed;
	}
}

static int fill_ports(struct bpf_object *obj, const struct variant *v,
		      const struct ruleset *rs, int ncpus)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "filter_ports");
	uint64_t *flags;
	int err = 0;

	if (!map)
		return 0;
	flags = calloc(65536, sizeof(*flags));
	if (!flags)
		return -ENOMEM;
	port_flags(v, rs, flags);
	for (uint32_t p = 0; p < 65536 && !err; p++) {
		/* the key is the port as it is on the wire */
		uint32_t key = htons((uint16_t)p);

		if (flags[p])
			err = update_percpu(bpf_map__fd(map), &key, flags[p], ncpus);
	}
	free(flags);
	return err;
}

/* Opens xdpfilt_<prog>.o, sized for the site, loads and fills it. */
static int open_variant(const struct opts *o, const struct variant *v,
			const struct ruleset *rs, struct subject *s)
{
	size_t n4 = 0, n6 = 0;
	struct bpf_object *obj;
	struct bpf_map *map;
	char path[512];
	int ncpus = libbpf_num_possible_cpus(), err;

	for (size_t i = 0; i < rs->nhosts; i++) {
		if (rs->hosts[i].pfx.family == 4)
			n4++;
		else
			n6++;
	}
	snprintf(path, sizeof(path), "%s/xdpfilt_%s.o", o->xdpfilt_dir, v->prog);
	obj = open_object(path);
	if (!obj)
		return -ENOENT;
	/* xdp-filter holds 10000 addresses; the comparison needs all of the site's */
	map = bpf_object__find_map_by_name(obj, "filter_ipv4");
	if (map && bpf_map__max_entries(map) < n4 + 1)
		bpf_map__set_max_entries(map, n4 + 1);
	map = bpf_object__find_map_by_name(obj, "filter_ipv6");
	if (map && bpf_map__max_entries(map) < n6 + 1)
		bpf_map__set_max_entries(map, n6 + 1);

	snprintf(s->name, sizeof(s->name), "xdpfilt_%s", v->prog);
	err = load_object(obj, path, s);
	if (!err && v->addresses)
		err = fill_addresses(obj, rs, ncpus);
	if (!err && (v->open || v->closed))
		err = fill_ports(obj, v, rs, ncpus);
	if (err) {
		pr_err("failed to set up %s: %s\n", path, strerror(-err));
		bpf_object__close(obj);
		s->obj = NULL;
	}
	return err;
}

/* ---- timing --------------------------------------------------------------- */

static int time_run(int fd, const void *frame, size_t len, unsigned int repeat, double *ns,
		    int *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = len,
		.repeat = repeat,
	);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*ns = opts.duration;
	*retval = (int)opts.retval;
	return 0;
}

/* Every packet must take the path it is named for, or the figures mean nothing. */
static int check_verdicts(const struct ruleset *rs, const struct frames *fr)
{
	struct dp_verdict v;
	struct dp *dp;
	int err;

	err = dp_open_private(&dp);
	if (err)
		return err;
	err = dp_apply(dp, rs);
	for (int p = 0; p < BP_COUNT && !err; p++) {
		for (int f = 0; f < NFAM && !err; f++) {
			err = dp_judge(dp, fr->buf[p][f], fr->len[p][f], &v);
			if (!err && (int)v.reason != bench_path(p)->reason) {
				pr_err("packet %s/%s: expected reason %s, got %s\n",
				       bench_path(p)->name, family_names[f],
				       reason_name(bench_path(p)->reason), reason_name(v.reason));
				err = -EINVAL;
			}
		}
	}
	dp_close(dp);
	return err;
}

/* Everything one policy size is measured with. */
struct size_set {
	size_t hosts;
	struct ruleset rs;
	bool compiled;
	struct dp *dp;
	struct subject subj[MAX_SUBJECTS];
	int nsubj;
	double ns[MAX_SUBJECTS][BP_COUNT][NFAM][BENCH_MAX_RUNS];
	int retval[MAX_SUBJECTS][BP_COUNT][NFAM];
};

/* Attaches every program to an interface of its own, so the dispatcher keeps it. */
static void hold(const struct opts *o, struct size_set *z)
{
	static int next;

	for (int s = 0; o->hold && s < z->nsubj; s++) {
		char ifname[IF_NAMESIZE];
		int ifindex;

		snprintf(ifname, sizeof(ifname), "%s%d", o->hold, next++);
		ifindex = (int)if_nametoindex(ifname);
		if (!ifindex ||
		    bpf_xdp_attach(ifindex, z->subj[s].fd, XDP_FLAGS_SKB_MODE, NULL)) {
			pr_warn("cannot hold %s on %s: the dispatcher is rebuilt for each "
				"of its runs\n", z->subj[s].name, ifname);
			continue;
		}
		z->subj[s].held_on = ifindex;
	}
}

/* Compiles the size's site, checks the verdicts, loads every program. */
static int size_open(const struct opts *o, const struct frames *fr, struct size_set *z)
{
	char *yaml;
	int err;

	yaml = bench_site_yaml(z->hosts, "lo", 0);
	if (!yaml)
		return -ENOMEM;
	err = compile_string(yaml, "bench-site.yaml", &z->rs, true);
	free(yaml);
	if (err) {
		pr_err("failed to compile the %zu-host site: %s\n", z->hosts, strerror(-err));
		return err;
	}
	z->compiled = true;
	err = check_verdicts(&z->rs, fr);
	if (!err)
		err = dp_open_private_unrecorded(&z->dp);
	if (!err)
		err = dp_apply(z->dp, &z->rs);
	if (err)
		return err;
	snprintf(z->subj[0].name, sizeof(z->subj[0].name), "vmsgate");
	z->subj[0].fd = dp_prog_fd(z->dp);
	err = open_floor(o->floor, &z->subj[1]);
	if (err)
		return err;
	z->nsubj = 2;
	for (size_t v = 0; v < NVARIANTS; v++) {
		err = open_variant(o, &variants[v], &z->rs, &z->subj[z->nsubj]);
		if (err)
			return err;
		z->nsubj++;
	}
	hold(o, z);
	return 0;
}

static void size_close(struct size_set *z)
{
	for (int s = 0; s < z->nsubj; s++) {
		if (z->subj[s].held_on)
			bpf_xdp_detach(z->subj[s].held_on, XDP_FLAGS_SKB_MODE, NULL);
		bpf_object__close(z->subj[s].obj);
	}
	dp_close(z->dp);
	if (z->compiled)
		ruleset_free(&z->rs);
}

/* Packet p of family f through every program of one size, in run r. */
static int measure_set(const struct opts *o, const struct frames *fr, struct size_set *z,
		       int p, int f, int r)
{
	for (int k = 0; k < z->nsubj; k++) {
		/* rotate who goes first, so that no one is always cold */
		int s = (k + r + p) % z->nsubj;
		int err = time_run(z->subj[s].fd, fr->buf[p][f], fr->len[p][f], o->repeat,
				   &z->ns[s][p][f][r], &z->retval[s][p][f]);

		if (err) {
			pr_err("failed to run %s: %s\n", z->subj[s].name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Run r of every packet through every program of every size. The sizes
 * take turns within a run, so that a machine that speeds up or slows down
 * over the minutes the bench takes does not pass for a cost of size.
 */
static int measure_run(const struct opts *o, const struct frames *fr, struct size_set *sets,
		       int nsets, int r)
{
	for (int p = 0; p < BP_COUNT; p++)
		for (int f = 0; f < NFAM; f++)
			for (int i = 0; i < nsets; i++) {
				int err = measure_set(o, fr, &sets[(i + r) % nsets], p, f, r);

				if (err)
					return err;
			}
	return 0;
}

static void report(FILE *csv, const struct opts *o, struct size_set *z)
{
	struct bench_stat st;

	for (int s = 0; s < z->nsubj; s++) {
		for (int p = 0; p < BP_COUNT; p++) {
			for (int f = 0; f < NFAM; f++) {
				int rv = z->retval[s][p][f];
				double v[BENCH_MAX_RUNS];

				/* a copy: the runs stay in order for the ratios */
				memcpy(v, z->ns[s][p][f], sizeof(v));
				bench_stat(v, o->runs, &st);
				bench_csv(csv, "packet", bench_path(p)->name, z->subj[s].name,
					  (long)z->hosts, family_names[f], &st, "ns",
					  rv == XDP_DROP ? "drop" : rv == XDP_PASS ? "pass" :
					  "other");
			}
		}
	}
}

/* One row of per-run ratios a[r] / b[r]: both were timed moments apart. */
static void ratio_row(FILE *csv, const struct opts *o, const char *path, const char *subject,
		      size_t hosts, const char *family, const double *a, const double *b,
		      const char *note)
{
	double v[BENCH_MAX_RUNS];
	struct bench_stat st;

	for (int r = 0; r < o->runs; r++)
		v[r] = b[r] > 0 ? a[r] / b[r] : 0;
	bench_stat(v, o->runs, &st);
	bench_csv(csv, "ratio", path, subject, (long)hosts, family, &st, "ratio", note);
}

/*
 * The targets' ratios, run by run: vmsgate against the floor and each
 * xdp-filter program, and against itself at the smallest size. A run
 * times them within a second of each other, so a machine that is busier
 * in one run than in the next moves both sides of the ratio.
 */
static void report_ratios(FILE *csv, const struct opts *o, struct size_set *sets, int nsets)
{
	char name[64];

	for (int i = 0; i < nsets; i++) {
		struct size_set *z = &sets[i];

		for (int p = 0; p < BP_COUNT; p++) {
			for (int f = 0; f < NFAM; f++) {
				const double *v = z->ns[0][p][f];
				int rv = z->retval[0][p][f];

				for (int s = 1; s < z->nsubj; s++) {
					snprintf(name, sizeof(name), "vmsgate/%s", z->subj[s].name);
					ratio_row(csv, o, bench_path(p)->name, name, z->hosts,
						  family_names[f], v, z->ns[s][p][f],
						  s == 1 || z->retval[s][p][f] == rv ?
						  "same decision" : "other decision");
				}
				if (i == 0)
					continue;
				snprintf(name, sizeof(name), "vmsgate/vmsgate@%zu", sets[0].hosts);
				ratio_row(csv, o, bench_path(p)->name, name, z->hosts,
					  family_names[f], v, sets[0].ns[0][p][f], NULL);
			}
		}
	}
}

static int bench_all(const struct opts *o, FILE *csv, const struct frames *fr)
{
	struct size_set *sets = calloc(o->nsizes, sizeof(*sets));
	int err = 0;

	if (!sets)
		return -ENOMEM;
	for (int i = 0; i < o->nsizes && !err; i++) {
		sets[i].hosts = o->sizes[i];
		err = size_open(o, fr, &sets[i]);
	}
	for (int r = 0; r < o->runs && !err; r++) {
		err = measure_run(o, fr, sets, o->nsizes, r);
		fprintf(stderr, "bench_dp: run %d of %d done\n", r + 1, o->runs);
	}
	for (int i = 0; i < o->nsizes && !err; i++)
		report(csv, o, &sets[i]);
	if (!err)
		report_ratios(csv, o, sets, o->nsizes);
	for (int i = 0; i < o->nsizes; i++)
		size_close(&sets[i]);
	free(sets);
	return err;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "csv", required_argument, NULL, 'o' },
		{ "floor", required_argument, NULL, 'f' },
		{ "xdpfilt-dir", required_argument, NULL, 'x' },
		{ "hold", required_argument, NULL, 'H' },
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
		case 'r':
			o->runs = atoi(optarg);
			if (o->runs < 1 || o->runs > BENCH_MAX_RUNS)
				return -EINVAL;
			break;
		case 'n':
			o->repeat = strtoul(optarg, NULL, 10);
			if (!o->repeat)
				return -EINVAL;
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'o':
			o->csv = optarg;
			break;
		case 'f':
			o->floor = optarg;
			break;
		case 'x':
			o->xdpfilt_dir = optarg;
			break;
		case 'H':
			o->hold = optarg;
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
		.runs = 5,
		.repeat = 200000,
		.cpu = 1,
		.floor = "build/bench/floor.bpf.o",
		.xdpfilt_dir = "/usr/lib/x86_64-linux-gnu/bpf",
	};
	struct frames *fr;
	FILE *csv = stdout;
	int err = 0;

	if (parse_opts(argc, argv, &o)) {
		fprintf(stderr, "usage: bench_dp [--sizes N,N..] [--runs N] [--repeat N] "
			"[--cpu N] [--csv FILE] [--floor OBJ] [--xdpfilt-dir DIR] "
			"[--hold PREFIX]\n");
		return 2;
	}
	log_set_level(LOG_LVL_WARN);
	log_setup_libbpf();
	if (o.csv) {
		csv = fopen(o.csv, "a");
		if (!csv) {
			fprintf(stderr, "bench_dp: cannot open %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
	}
	if (bench_pin_cpu(o.cpu))
		pr_warn("failed to pin to CPU %d; figures may be noisier\n", o.cpu);

	/* The same frames for every size and every program */
	fr = calloc(1, sizeof(*fr));
	if (!fr)
		return 1;
	for (int p = 0; p < BP_COUNT; p++)
		for (int f = 0; f < NFAM; f++)
			fr->len[p][f] = bench_path_frame(p, families[f], fr->buf[p][f]);

	err = bench_all(&o, csv, fr);

	free(fr);
	if (csv != stdout)
		fclose(csv);
	return err ? 1 : 0;
}
