// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane seen from userspace: loads the XDP program and its maps,
 * fills a policy into the idle generation and swaps it in, judges frames
 * through BPF_PROG_TEST_RUN and reads the counters.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "dp_pin.h"
#include "dp_table.h"
#include "log.h"
#include "vmsgate.skel.h"

/* libbpf's and the kernel's "operation not supported" (ENOTSUPP is not in libc) */
#define ENOTSUPP_KERNEL 524
#define VERIFIER_LOG_SIZE (4u << 20)

/*
 * What this process knows one generation's half of the hash tables
 * (vmg_hosts, vmg_ports, vmg_kinds) to hold: the buckets it wrote there,
 * so that clearing the half rewrites only those. Maps adopted from pins
 * hold what another process wrote: their first clear zeroes whole halves.
 */
struct gen_tables {
	bool known;			/* the lists below are all the half holds */
	__u32 *host_buckets;
	size_t nhost_buckets;
	__u32 *port_buckets;
	size_t nport_buckets;
	size_t nkinds;
	bool counted;			/* nhosts and nports are right */
	size_t nhosts;
	size_t nports;
};

/*
 * The policy this process last put in force and the generation holding it:
 * a reload that compiles to the same leaves the maps alone.
 */
struct applied {
	bool valid;
	__u32 gen;
	struct vmg_config config;
	struct host_entry *hosts;
	size_t nhosts;
	struct host_entry *prefixes;
	size_t nprefixes;
	struct port_entry *ports;
	size_t nports;
};

struct dp {
	struct vmsgate *skel;		/* kept whole, so the object can later be pinned */
	int ncpus;
	bool has_ct;
	char *verifier_log;
	struct ring_buffer *events;
	dp_event_fn event_fn;
	void *event_ctx;
	struct gen_tables tab[2];
	struct applied applied;
};

/* ---- the policy in force ------------------------------------------------- */

static void forget_applied(struct applied *a)
{
	free(a->hosts);
	free(a->prefixes);
	free(a->ports);
	*a = (struct applied){ 0 };
}

static bool same_prefix(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, a->family == VMG_FAMILY_V4 ? 4 : 16);
}

static bool same_host_val(const struct vmg_host_val *a, const struct vmg_host_val *b)
{
	return a->roles == b->roles && a->class_id == b->class_id && a->role == b->role &&
	       a->protected_ == b->protected_;
}

static bool same_hosts(const struct host_entry *a, const struct host_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!same_prefix(&a[i].pfx, &b[i].pfx) || !same_host_val(&a[i].val, &b[i].val))
			return false;
	}
	return true;
}

static bool same_ports(const struct port_entry *a, const struct port_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct vmg_port_key *x = &a[i].key, *y = &b[i].key;

		if (x->class_id != y->class_id || x->port != y->port || x->proto != y->proto ||
		    x->dir != y->dir || a[i].val.src_roles != b[i].val.src_roles ||
		    a[i].val.rule_id != b[i].val.rule_id || a[i].val.flags != b[i].val.flags)
			return false;
	}
	return true;
}

/* The settings of vmg_config that come from the policy. */
static bool same_config(const struct vmg_config *a, const struct vmg_config *b)
{
	return a->mode == b->mode && a->unlisted_drop == b->unlisted_drop &&
	       a->icmp == b->icmp && a->unknown_frag_drop == b->unknown_frag_drop &&
	       a->conntrack == b->conntrack;
}

/* True when rs is what generation gen, the active one, already holds. */
static bool is_applied(const struct applied *a, const struct ruleset *rs, __u32 gen)
{
	return a->valid && a->gen == gen && same_config(&a->config, &rs->config) &&
	       a->nhosts == rs->nhosts && a->nprefixes == rs->nprefixes &&
	       a->nports == rs->nports && same_hosts(a->hosts, rs->hosts, rs->nhosts) &&
	       same_hosts(a->prefixes, rs->prefixes, rs->nprefixes) &&
	       same_ports(a->ports, rs->ports, rs->nports);
}

static void *copy_array(const void *p, size_t n, size_t size)
{
	void *c = malloc(n * size + 1);

	if (c && n)
		memcpy(c, p, n * size);
	return c;
}

/* Remembers rs as generation gen's; without memory, remembers nothing. */
static void remember_applied(struct applied *a, const struct ruleset *rs, __u32 gen)
{
	forget_applied(a);
	a->hosts = copy_array(rs->hosts, rs->nhosts, sizeof(*rs->hosts));
	a->prefixes = copy_array(rs->prefixes, rs->nprefixes, sizeof(*rs->prefixes));
	a->ports = copy_array(rs->ports, rs->nports, sizeof(*rs->ports));
	if (!a->hosts || !a->prefixes || !a->ports) {
		forget_applied(a);
		return;
	}
	a->nhosts = rs->nhosts;
	a->nprefixes = rs->nprefixes;
	a->nports = rs->nports;
	a->config = rs->config;
	a->gen = gen;
	a->valid = true;
}

const char *reason_name(enum vmg_reason r)
{
	static const char *const names[VMG_R_COUNT] = {
		[VMG_R_BYPASS] = "bypass",
		[VMG_R_MALFORMED] = "malformed",
		[VMG_R_UNLISTED] = "unlisted",
		[VMG_R_ICMP] = "icmp",
		[VMG_R_FRAGMENT] = "fragment",
		[VMG_R_ALLOWED] = "allowed",
		[VMG_R_RETURN] = "return",
		[VMG_R_ESTABLISHED] = "established",
		[VMG_R_LOCAL_ONLY] = "local_only",
		[VMG_R_SRC_NOT_ALLOWED] = "src_not_allowed",
		[VMG_R_PORT_NOT_ALLOWED] = "port_not_allowed",
	};

	if ((unsigned int)r >= VMG_R_COUNT)
		return "unknown";
	return names[r];
}

const char *action_name(enum vmg_action a)
{
	static const char *const names[VMG_A_COUNT] = {
		[VMG_A_PASS] = "pass",
		[VMG_A_DROP] = "drop",
		[VMG_A_WOULD_DROP] = "would_drop",
	};

	if ((unsigned int)a >= VMG_A_COUNT)
		return "unknown";
	return names[a];
}

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static bool not_supported(int err)
{
	return err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL;
}

/* ---- loading ------------------------------------------------------------ */

/*
 * Whether the kernel offers the conntrack kfuncs, where libbpf looks for
 * them: vmlinux, then the nf_conntrack module. The program resolves them
 * weakly, so this says whether its lookup is live.
 */
static bool probe_conntrack(void)
{
	struct btf *vmlinux, *mod;
	bool found;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, "bpf_xdp_ct_lookup", BTF_KIND_FUNC) > 0;
	if (!found) {
		mod = btf__load_module_btf("nf_conntrack", vmlinux);
		if (mod) {
			found = btf__find_by_name_kind(mod, "bpf_xdp_ct_lookup",
						       BTF_KIND_FUNC) > 0;
			btf__free(mod);
		}
	}
	btf__free(vmlinux);
	return found;
}

static void explain_load_error(struct dp *dp, int err)
{
	const char *log = dp->verifier_log;

	if (log && log[0]) {
		pr_err("the kernel's verifier rejected the XDP program (%s); run with -v "
		       "to see its log\n", strerror(-err));
		pr_debug("verifier log:\n%s\n", log);
		return;
	}
	if (err == -EPERM)
		pr_err("failed to load the XDP program: %s (needs root or CAP_BPF and "
		       "CAP_NET_ADMIN)\n", strerror(-err));
	else
		pr_err("failed to load the XDP program and its maps: %s\n", strerror(-err));
}

/*
 * Opens and loads the object. Private copies record each verdict for
 * explain and replay; the pinned copy reuses the maps under the pin
 * directory, so a policy in force stays in force across the load.
 */
static int dp_open(struct dp **out, bool pinned, bool record, bool *adopted)
{
	struct dp *dp;
	int err;

	*out = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->verifier_log = calloc(1, VERIFIER_LOG_SIZE);
	if (!dp->verifier_log) {
		err = -ENOMEM;
		goto cleanup;
	}
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus ? dp->ncpus : -EINVAL;
		pr_err("failed to count possible CPUs: %s\n", strerror(-err));
		goto cleanup;
	}

	dp->skel = vmsgate__open();
	if (!dp->skel) {
		err = -errno;
		pr_err("failed to open the BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	dp->skel->rodata->record_last = record;
	if (pinned) {
		err = dp_pin_reuse(dp->skel->obj, adopted);
		if (err)
			goto cleanup;
	}
	bpf_program__set_log_buf(dp->skel->progs.vmsgate_xdp, dp->verifier_log,
				 VERIFIER_LOG_SIZE);

	err = vmsgate__load(dp->skel);
	if (err) {
		explain_load_error(dp, err);
		goto cleanup;
	}
	dp->has_ct = probe_conntrack();
	if (!dp->has_ct)
		pr_debug("kernel has no bpf_xdp_ct_lookup: conntrack replies are not "
			 "looked up\n");
	free(dp->verifier_log);
	dp->verifier_log = NULL;
	/* a private copy's maps are new, hence empty */
	for (int g = 0; g < 2; g++)
		dp->tab[g].known = dp->tab[g].counted = !pinned;
	if (pinned) {
		err = dp_pin_object(dp->skel->obj, bpf_program__fd(dp->skel->progs.vmsgate_xdp));
		if (err)
			goto cleanup;
	}

	*out = dp;
	return 0;

cleanup:
	dp_close(dp);
	return err;
}

int dp_open_private(struct dp **out)
{
	return dp_open(out, false, true, NULL);
}

int dp_open_private_unrecorded(struct dp **out)
{
	return dp_open(out, false, false, NULL);
}

int dp_open_pinned(struct dp **out, bool *adopted)
{
	return dp_open(out, true, false, adopted);
}

int dp_prog_fd(const struct dp *dp)
{
	return bpf_program__fd(dp->skel->progs.vmsgate_xdp);
}

void dp_close(struct dp *dp)
{
	if (!dp)
		return;
	ring_buffer__free(dp->events);
	vmsgate__destroy(dp->skel);
	for (int g = 0; g < 2; g++) {
		free(dp->tab[g].host_buckets);
		free(dp->tab[g].port_buckets);
	}
	forget_applied(&dp->applied);
	free(dp->verifier_log);
	free(dp);
}

bool dp_has_conntrack(const struct dp *dp)
{
	return dp->has_ct;
}

/* ---- map helpers -------------------------------------------------------- */

static int update_each(int fd, const void *keys, const void *vals, size_t key_size,
		       size_t val_size, size_t n)
{
	const char *k = keys, *v = vals;

	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, k + i * key_size, v + i * val_size, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Updates n entries, by batch where the kernel and the map type can. */
static int update_many(int fd, const void *keys, const void *vals, size_t key_size,
		       size_t val_size, size_t n)
{
	__u32 count = n;
	int err;

	if (!n)
		return 0;
	err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
	if (!err || !not_supported(err))
		return err;
	return update_each(fd, keys, vals, key_size, val_size, n);
}

/* Deletes n keys, by batch where possible; keys already gone are no error. */
static int delete_many(int fd, const void *keys, size_t key_size, size_t n)
{
	const char *k = keys;
	__u32 count = n;

	if (!n)
		return 0;
	if (!bpf_map_delete_batch(fd, keys, &count, NULL))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, k + i * key_size) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * Collects the keys of generation gen (the 32 bits at gen_off, stored as
 * stored_gen: network order in the tries) into *keys, if keys is given,
 * and counts them. Keys are collected before anything is deleted:
 * deleting while walking would restart the walk.
 */
static int walk_generation(int fd, size_t key_size, size_t gen_off, __u32 stored_gen,
			   char **keys, size_t *n)
{
	char key[64], next[64], *tmp;
	void *prev = NULL;
	size_t cap = 0;
	__u32 g;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(&g, next + gen_off, sizeof(g));
		if (g == stored_gen && keys) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 256;
				tmp = realloc(*keys, cap * key_size);
				if (!tmp)
					return -ENOMEM;
				*keys = tmp;
			}
			memcpy(*keys + *n * key_size, next, key_size);
		}
		if (g == stored_gen)
			(*n)++;
		memcpy(key, next, key_size);
		prev = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int clear_generation(int fd, size_t key_size, size_t gen_off, __u32 stored_gen)
{
	char *keys = NULL;
	size_t n;
	int err;

	err = walk_generation(fd, key_size, gen_off, stored_gen, &keys, &n);
	if (!err)
		err = delete_many(fd, keys, key_size, n);
	free(keys);
	return err;
}

/* ---- the hash tables' halves ---------------------------------------------- */

#define ZERO_CHUNK 4096		/* entries per batch when zeroing */

/* Zeroes n entries of an array map, at the indices in idx or from first on. */
static int zero_entries(int fd, size_t vsz, const __u32 *idx, __u32 first, size_t n)
{
	size_t chunk = n < ZERO_CHUNK ? n : ZERO_CHUNK;
	__u32 *keys = calloc(chunk + 1, sizeof(*keys));
	void *zeros = calloc(chunk + 1, vsz);
	int err = 0;

	if (!keys || !zeros) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t done = 0; done < n && !err; done += chunk) {
		size_t k = n - done < chunk ? n - done : chunk;

		for (size_t i = 0; i < k; i++)
			keys[i] = idx ? idx[done + i] : first + (__u32)(done + i);
		err = update_many(fd, keys, zeros, sizeof(*keys), vsz, k);
	}
cleanup:
	free(keys);
	free(zeros);
	return err;
}

static void forget_tables(struct gen_tables *g)
{
	free(g->host_buckets);
	free(g->port_buckets);
	*g = (struct gen_tables){ 0 };
}

static int clear_tables(struct dp *dp, __u32 gen)
{
	struct gen_tables *g = &dp->tab[gen];
	struct vmsgate *s = dp->skel;
	int hfd = map_fd(s->maps.vmg_hosts), pfd = map_fd(s->maps.vmg_ports);
	int kfd = map_fd(s->maps.vmg_kinds);
	int err;

	if (g->known) {
		err = zero_entries(hfd, sizeof(struct vmg_host_bucket), g->host_buckets, 0,
				   g->nhost_buckets);
		if (!err)
			err = zero_entries(pfd, sizeof(struct vmg_port_bucket), g->port_buckets, 0,
					   g->nport_buckets);
		if (!err)
			err = zero_entries(kfd, sizeof(struct vmg_host_val), NULL,
					   gen * VMG_MAX_KINDS, g->nkinds);
	} else {
		err = zero_entries(hfd, sizeof(struct vmg_host_bucket), NULL,
				   gen * VMG_HOST_BUCKETS, VMG_HOST_BUCKETS);
		if (!err)
			err = zero_entries(pfd, sizeof(struct vmg_port_bucket), NULL,
					   gen * VMG_PORT_BUCKETS, VMG_PORT_BUCKETS);
		if (!err)
			err = zero_entries(kfd, sizeof(struct vmg_host_val), NULL,
					   gen * VMG_MAX_KINDS, VMG_MAX_KINDS);
	}
	if (err)
		return err;
	forget_tables(g);
	g->known = g->counted = true;
	return 0;
}

/* The used buckets of n, as map indices of generation gen's half. */
static int used_buckets(const void *buckets, size_t bsz, size_t n, __u32 gen, int host,
			__u32 **idx, void **vals, size_t *nused)
{
	const char *b = buckets;

	*idx = calloc(n, sizeof(**idx));
	*vals = calloc(n, bsz);
	*nused = 0;
	if (!*idx || !*vals)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const void *bk = b + i * bsz;

		if (host ? !dp_host_bucket_used(bk) : !dp_port_bucket_used(bk))
			continue;
		(*idx)[*nused] = gen * (__u32)n + (__u32)i;
		memcpy((char *)*vals + *nused * bsz, bk, bsz);
		(*nused)++;
	}
	return 0;
}

/* The tables into generation gen's half, which holds nothing (clear_tables). */
static int fill_tables(struct dp *dp, const struct dp_tables *t, __u32 gen)
{
	struct gen_tables *g = &dp->tab[gen];
	struct vmsgate *s = dp->skel;
	void *hv = NULL, *pv = NULL;
	__u32 *kidx = NULL;
	int err;

	/* until the writes succeed, the half holds an unknown part of them */
	g->known = g->counted = false;
	err = used_buckets(t->hosts, sizeof(*t->hosts), VMG_HOST_BUCKETS, gen, 1,
			   &g->host_buckets, &hv, &g->nhost_buckets);
	if (!err)
		err = used_buckets(t->ports, sizeof(*t->ports), VMG_PORT_BUCKETS, gen, 0,
				   &g->port_buckets, &pv, &g->nport_buckets);
	kidx = calloc(t->nkinds + 1, sizeof(*kidx));
	if (!err && !kidx)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < t->nkinds; i++)
		kidx[i] = gen * VMG_MAX_KINDS + (__u32)i;
	if (!err)
		err = update_many(map_fd(s->maps.vmg_kinds), kidx, t->kinds, sizeof(*kidx),
				  sizeof(*t->kinds), t->nkinds);
	if (!err)
		err = update_many(map_fd(s->maps.vmg_hosts), g->host_buckets, hv,
				  sizeof(__u32), sizeof(*t->hosts), g->nhost_buckets);
	if (!err)
		err = update_many(map_fd(s->maps.vmg_ports), g->port_buckets, pv,
				  sizeof(__u32), sizeof(*t->ports), g->nport_buckets);
	free(hv);
	free(pv);
	free(kidx);
	if (err)
		return err;
	g->nkinds = t->nkinds;
	g->nhosts = t->nhosts;
	g->nports = t->nports;
	g->known = g->counted = true;
	return 0;
}

/* Counts the used slots of generation gen's half, reading it from the kernel. */
static int count_half(int fd, size_t bsz, __u32 nbuckets, __u32 gen, int host, size_t *out)
{
	char *val = calloc(1, bsz);
	int err = 0;

	*out = 0;
	if (!val)
		return -ENOMEM;
	for (__u32 i = 0; i < nbuckets && !err; i++) {
		__u32 key = gen * nbuckets + i;

		if (bpf_map_lookup_elem(fd, &key, val))
			err = -errno;
		else
			*out += host ? dp_host_bucket_used((void *)val) :
				       dp_port_bucket_used((void *)val);
	}
	free(val);
	return err;
}

static int clear_policy(struct dp *dp, __u32 gen)
{
	struct vmsgate *s = dp->skel;
	int err;

	err = clear_tables(dp, gen);
	if (!err)
		err = clear_generation(map_fd(s->maps.vmg_pfx_v4), sizeof(struct vmg_lpm_v4_key),
				       offsetof(struct vmg_lpm_v4_key, gen), htonl(gen));
	if (!err)
		err = clear_generation(map_fd(s->maps.vmg_pfx_v6), sizeof(struct vmg_lpm_v6_key),
				       offsetof(struct vmg_lpm_v6_key, gen), htonl(gen));
	return err;
}

/* Zeroes slots [first, first + n) of a per-CPU counter array. */
static int zero_counters(const struct dp *dp, struct bpf_map *map, __u32 first, __u32 n)
{
	size_t vsz = sizeof(struct vmg_counter) * dp->ncpus;
	__u32 *keys;
	void *zeros;
	int err;

	keys = calloc(n, sizeof(*keys));
	zeros = calloc(n, vsz);
	if (!keys || !zeros) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (__u32 i = 0; i < n; i++)
		keys[i] = first + i;
	err = update_many(map_fd(map), keys, zeros, sizeof(*keys), vsz, n);
cleanup:
	free(keys);
	free(zeros);
	return err;
}

/* Sums slots [first, first + n) over CPUs. */
int dp_counters_read(int fd, __u32 first, __u32 n, struct vmg_counter *out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct vmg_counter *percpu;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		__u32 key = first + i;

		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			break;
		}
		out[i] = (struct vmg_counter){ 0 };
		for (int cpu = 0; cpu < ncpus; cpu++) {
			out[i].packets += percpu[cpu].packets;
			out[i].bytes += percpu[cpu].bytes;
		}
	}
	free(percpu);
	return err;
}

static int read_counters(struct dp *dp, struct bpf_map *map, __u32 first, __u32 n,
			 struct vmg_counter *out)
{
	return dp_counters_read(map_fd(map), first, n, out);
}

/* ---- policy ------------------------------------------------------------- */

static int refuse(const char *source, const char *map, size_t n, size_t cap)
{
	if (source)
		fprintf(stderr, "%s: error: policy does not fit map %s: %zu entries, capacity "
			"%zu; narrow the widest port ranges or merge prefixes\n", source, map,
			n, cap);
	else
		pr_err("policy does not fit map %s: %zu entries, capacity %zu\n", map, n, cap);
	return -E2BIG;
}

int dp_check_fits(const struct ruleset *rs, const char *source)
{
	size_t v4 = 0, v6 = 0;

	for (size_t i = 0; i < rs->nprefixes; i++) {
		if (rs->prefixes[i].pfx.family == VMG_FAMILY_V4)
			v4++;
		else
			v6++;
	}
	if (rs->nhosts > VMG_MAX_HOSTS)
		return refuse(source, "vmg_hosts", rs->nhosts, VMG_MAX_HOSTS);
	if (v4 > VMG_MAX_PREFIXES)
		return refuse(source, "vmg_pfx_v4", v4, VMG_MAX_PREFIXES);
	if (v6 > VMG_MAX_PREFIXES)
		return refuse(source, "vmg_pfx_v6", v6, VMG_MAX_PREFIXES);
	if (rs->nports > VMG_MAX_PORT_RULES)
		return refuse(source, "vmg_ports", rs->nports, VMG_MAX_PORT_RULES);
	if (rs->nrules > VMG_MAX_RULES)
		return refuse(source, "vmg_rule_cnt", rs->nrules, VMG_MAX_RULES);
	if (rs->nclasses > UINT16_MAX + 1)
		return refuse(source, "vmg_ports (classes)", rs->nclasses, UINT16_MAX + 1);
	return 0;
}

static int read_state(const struct dp *dp, struct vmg_state *st)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(map_fd(dp->skel->maps.vmg_state), &zero, st))
		return -errno;
	return 0;
}

int dp_active_gen(const struct dp *dp)
{
	struct vmg_state st;
	int err;

	err = read_state(dp, &st);
	return err ? err : (int)(st.active & 1);
}

static int write_config(struct dp *dp, const struct ruleset *rs, __u32 seed, __u32 active,
			__u32 idle)
{
	int fd = map_fd(dp->skel->maps.vmg_config);
	struct vmg_config cur, cfg = rs->config;

	if (bpf_map_lookup_elem(fd, &active, &cur))
		return -errno;
	cfg.abi_version = VMG_ABI_VERSION;
	cfg.generation = cur.generation + 1;
	cfg.has_prefix_v4 = 0;
	cfg.has_prefix_v6 = 0;
	for (size_t i = 0; i < rs->nprefixes; i++) {
		if (rs->prefixes[i].pfx.family == VMG_FAMILY_V4)
			cfg.has_prefix_v4 = 1;
		else
			cfg.has_prefix_v6 = 1;
	}
	cfg.pad = 0;
	cfg.seed = seed;
	if (bpf_map_update_elem(fd, &idle, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* The tries: the generation leads every key, so generations never share a prefix. */
static int fill_prefixes(struct dp *dp, const struct ruleset *rs, __u32 gen)
{
	int fd4 = map_fd(dp->skel->maps.vmg_pfx_v4), fd6 = map_fd(dp->skel->maps.vmg_pfx_v6);

	for (size_t i = 0; i < rs->nprefixes; i++) {
		const struct host_entry *h = &rs->prefixes[i];
		struct vmg_host_val val = h->val;
		int err;

		val.pad = 0;
		if (h->pfx.family == VMG_FAMILY_V4) {
			struct vmg_lpm_v4_key k = {
				.prefixlen = VMG_LPM_GEN_BITS + h->pfx.len,
				.gen = htonl(gen),
			};

			memcpy(k.addr, h->pfx.addr, 4);
			err = bpf_map_update_elem(fd4, &k, &val, BPF_ANY);
		} else {
			struct vmg_lpm_v6_key k = {
				.prefixlen = VMG_LPM_GEN_BITS + h->pfx.len,
				.gen = htonl(gen),
			};

			memcpy(k.addr, h->pfx.addr, 16);
			err = bpf_map_update_elem(fd6, &k, &val, BPF_ANY);
		}
		if (err)
			return -errno;
	}
	return 0;
}

/* Everything of the policy into generation gen, which no packet is judged by. */
static int fill_generation(struct dp *dp, const struct ruleset *rs, const struct dp_tables *t,
			   __u32 active, __u32 gen)
{
	int err;

	err = zero_counters(dp, dp->skel->maps.vmg_rule_cnt, VMG_RULE_IDX(gen, 0),
			    VMG_MAX_RULES);
	if (err) {
		pr_err("failed to clear the rule counters: %s\n", strerror(-err));
		return err;
	}
	err = write_config(dp, rs, t->seed, active, gen);
	if (err) {
		pr_err("failed to write map vmg_config: %s\n", strerror(-err));
		return err;
	}
	err = fill_tables(dp, t, gen);
	if (err) {
		pr_err("failed to fill maps vmg_hosts, vmg_kinds and vmg_ports: %s\n",
		       strerror(-err));
		return err;
	}
	err = fill_prefixes(dp, rs, gen);
	if (err) {
		pr_err("failed to fill the prefix maps: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * Returns once no program still runs with the old generation: updating a
 * map-in-map makes the kernel wait for an RCU grace period, and XDP
 * programs (and BPF_PROG_TEST_RUN) run inside RCU read-side sections.
 */
static int wait_for_programs(struct dp *dp)
{
	int inner = map_fd(dp->skel->maps.vmg_sync_inner);
	__u32 zero = 0;

	if (bpf_map_update_elem(map_fd(dp->skel->maps.vmg_sync), &zero, &inner, BPF_ANY))
		return -errno;
	return 0;
}

/* Fills the idle generation with rs and its tables, then makes it the active one. */
static int swap_in(struct dp *dp, const struct ruleset *rs, const struct dp_tables *t)
{
	struct vmg_state st;
	__u32 active, idle, zero = 0;
	int err;

	err = read_state(dp, &st);
	if (err) {
		pr_err("failed to read map vmg_state: %s\n", strerror(-err));
		return err;
	}
	active = st.active & 1;
	idle = active ^ 1;

	/* leftovers of an interrupted swap must not join the new policy */
	err = clear_policy(dp, idle);
	if (err) {
		pr_err("failed to clear the idle policy generation: %s\n", strerror(-err));
		return err;
	}
	err = fill_generation(dp, rs, t, active, idle);
	if (err)
		goto rollback;

	st.active = idle;
	st.pad = 0;
	if (bpf_map_update_elem(map_fd(dp->skel->maps.vmg_state), &zero, &st, BPF_ANY)) {
		err = -errno;
		pr_err("failed to switch to the new policy: %s\n", strerror(-err));
		goto rollback;
	}

	/* from here on the new policy is in force; the rest is housekeeping */
	err = wait_for_programs(dp);
	if (err) {
		pr_warn("failed to wait for packets in flight, old policy entries stay "
			"until the next reload: %s\n", strerror(-err));
		return 0;
	}
	err = clear_policy(dp, active);
	if (err)
		pr_warn("failed to remove the old policy's entries, they go at the next "
			"reload: %s\n", strerror(-err));
	return 0;

rollback:
	if (clear_policy(dp, idle))
		pr_warn("failed to remove a partly filled policy; it is never used and "
			"goes at the next reload\n");
	return err;
}

int dp_apply(struct dp *dp, const struct ruleset *rs)
{
	struct dp_tables t;
	int err, gen;

	err = dp_check_fits(rs, NULL);
	if (err)
		return err;
	gen = dp_active_gen(dp);
	if (gen >= 0 && is_applied(&dp->applied, rs, (__u32)gen)) {
		pr_debug("policy unchanged: the maps stay as they are\n");
		return 0;
	}
	/* placed before anything changes: a policy that cannot be is refused */
	err = dp_tables_build(rs, &t);
	if (err)
		return err;
	forget_applied(&dp->applied);
	err = swap_in(dp, rs, &t);
	dp_tables_free(&t);
	if (!err)
		remember_applied(&dp->applied, rs, (__u32)dp_active_gen(dp));
	return err;
}

int dp_gen_entries(struct dp *dp, int gen, struct dp_entries *out)
{
	struct vmsgate *s = dp->skel;
	__u32 g = gen & 1;
	struct gen_tables *t = &dp->tab[g];
	int err = 0;

	if (!t->counted) {
		err = count_half(map_fd(s->maps.vmg_hosts), sizeof(struct vmg_host_bucket),
				 VMG_HOST_BUCKETS, g, 1, &t->nhosts);
		if (!err)
			err = count_half(map_fd(s->maps.vmg_ports), sizeof(struct vmg_port_bucket),
					 VMG_PORT_BUCKETS, g, 0, &t->nports);
		t->counted = !err;
	}
	out->hosts = t->nhosts;
	out->ports = t->nports;
	if (!err)
		err = walk_generation(map_fd(s->maps.vmg_pfx_v4), sizeof(struct vmg_lpm_v4_key),
				      offsetof(struct vmg_lpm_v4_key, gen), htonl(g), NULL,
				      &out->prefixes_v4);
	if (!err)
		err = walk_generation(map_fd(s->maps.vmg_pfx_v6), sizeof(struct vmg_lpm_v6_key),
				      offsetof(struct vmg_lpm_v6_key, gen), htonl(g), NULL,
				      &out->prefixes_v6);
	return err;
}

/* ---- judging ------------------------------------------------------------ */

int dp_judge(struct dp *dp, const void *frame, size_t len, struct dp_verdict *v)
{
	int last_fd = map_fd(dp->skel->maps.vmg_last);
	struct vmg_last *last;
	__u32 zero = 0;
	int err, cpu;

	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = len,
		.repeat = 1,
	);

	/* the kernel runs nothing shorter than an Ethernet header */
	if (len < 14) {
		pr_err("cannot judge a %zu-byte frame: shorter than an Ethernet header\n", len);
		return -EINVAL;
	}
	last = calloc(dp->ncpus, sizeof(*last));
	if (!last)
		return -ENOMEM;
	if (bpf_map_update_elem(last_fd, &zero, last, BPF_ANY)) {
		err = -errno;
		pr_err("failed to clear map vmg_last: %s\n", strerror(-err));
		goto cleanup;
	}

	err = bpf_prog_test_run_opts(bpf_program__fd(dp->skel->progs.vmsgate_xdp), &opts);
	if (err) {
		err = -errno;
		pr_err("failed to run the XDP program on a %zu-byte frame: %s\n", len,
		       strerror(-err));
		goto cleanup;
	}

	if (bpf_map_lookup_elem(last_fd, &zero, last)) {
		err = -errno;
		pr_err("failed to read map vmg_last: %s\n", strerror(-err));
		goto cleanup;
	}
	for (cpu = 0; cpu < dp->ncpus; cpu++) {
		if (last[cpu].valid)
			break;
	}
	if (cpu == dp->ncpus) {
		err = -ENODATA;
		pr_err("the XDP program recorded no verdict\n");
		goto cleanup;
	}
	v->xdp_action = (int)opts.retval;
	v->reason = last[cpu].reason;
	v->action = last[cpu].action;
	v->rule_id = last[cpu].rule_id;
	v->dir = last[cpu].dir;
cleanup:
	free(last);
	return err;
}

/* ---- events ------------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t len)
{
	struct dp *dp = ctx;

	if (len < sizeof(struct vmg_event))
		return 0;
	return dp->event_fn(dp->event_ctx, data);
}

int dp_events_subscribe(struct dp *dp, dp_event_fn fn, void *ctx)
{
	int err;

	if (dp->events)
		return -EBUSY;
	dp->event_fn = fn;
	dp->event_ctx = ctx;
	dp->events = ring_buffer__new(map_fd(dp->skel->maps.vmg_events), on_event, dp, NULL);
	if (!dp->events) {
		err = -errno;
		pr_err("failed to read map vmg_events: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int dp_events_poll(struct dp *dp, int timeout_ms)
{
	int n;

	if (!dp->events)
		return -EINVAL;
	n = ring_buffer__poll(dp->events, timeout_ms);
	if (n == -EINTR)
		return 0;
	return n;
}

int dp_events_suppressed(struct dp *dp, uint64_t *out)
{
	struct vmg_ratelimit *percpu;
	__u32 zero = 0;
	int err = 0;

	percpu = calloc(dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	*out = 0;
	if (bpf_map_lookup_elem(map_fd(dp->skel->maps.vmg_rate), &zero, percpu))
		err = -errno;
	for (int cpu = 0; !err && cpu < dp->ncpus; cpu++)
		*out += percpu[cpu].suppressed;
	free(percpu);
	return err;
}

/* ---- counters ----------------------------------------------------------- */

int dp_reason_counters(struct dp *dp, struct vmg_counter out[VMG_REASON_SLOTS])
{
	return read_counters(dp, dp->skel->maps.vmg_reason_cnt, 0, VMG_REASON_SLOTS, out);
}

int dp_rule_counter(struct dp *dp, uint32_t rule_id, struct vmg_counter *out)
{
	int gen;

	if (rule_id >= VMG_MAX_RULES)
		return -EINVAL;
	gen = dp_active_gen(dp);
	if (gen < 0)
		return gen;
	return read_counters(dp, dp->skel->maps.vmg_rule_cnt, VMG_RULE_IDX(gen, rule_id), 1,
			     out);
}

int dp_role_counters(struct dp *dp, struct vmg_counter out[VMG_ROLE_SLOTS])
{
	return read_counters(dp, dp->skel->maps.vmg_role_cnt, 0, VMG_ROLE_SLOTS, out);
}

int dp_reset_counters(struct dp *dp)
{
	struct vmsgate *s = dp->skel;
	int err;

	err = zero_counters(dp, s->maps.vmg_reason_cnt, 0, VMG_REASON_SLOTS);
	if (!err)
		err = zero_counters(dp, s->maps.vmg_rule_cnt, 0, VMG_RULE_SLOTS);
	if (!err)
		err = zero_counters(dp, s->maps.vmg_role_cnt, 0, VMG_ROLE_SLOTS);
	if (err)
		pr_err("failed to reset the counters: %s\n", strerror(-err));
	return err;
}
