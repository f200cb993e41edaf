// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * vmsgate's XDP program: judges every packet to a protected host of a
 * Milestone XProtect site by the compiled policy in its maps. The order of
 * the decision is DESIGN.md's "Semantics of the data plane".
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vmsgate_abi.h"
#include "parse.h"

#define NSEC_PER_SEC 1000000000ULL

/* Set by private loads (explain, replay, tests) to read verdicts back. */
const volatile __u8 record_last = 0;

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmg_state);
} vmg_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct vmg_config);
} vmg_config SEC(".maps");

/*
 * Exact addresses and port rules: hash tables of buckets (vmsgate_abi.h),
 * probed inline. A helper call into a kernel hash map costs several times
 * as much, most of it in calls and returns.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VMG_HOST_BUCKETS);
	__type(key, __u32);
	__type(value, struct vmg_host_bucket);
} vmg_hosts SEC(".maps");

/* What an exact address is; its slot holds an index into this array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VMG_MAX_KINDS);
	__type(key, __u32);
	__type(value, struct vmg_host_val);
} vmg_kinds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * VMG_MAX_PREFIXES);
	__type(key, struct vmg_lpm_v4_key);
	__type(value, struct vmg_host_val);
} vmg_pfx_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * VMG_MAX_PREFIXES);
	__type(key, struct vmg_lpm_v6_key);
	__type(value, struct vmg_host_val);
} vmg_pfx_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VMG_PORT_BUCKETS);
	__type(key, __u32);
	__type(value, struct vmg_port_bucket);
} vmg_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VMG_MAX_FRAGS);
	__type(key, struct vmg_frag_key);
	__type(value, struct vmg_frag_val);
} vmg_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMG_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct vmg_counter);
} vmg_reason_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMG_RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct vmg_counter);
} vmg_rule_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VMG_ROLE_SLOTS);
	__type(key, __u32);
	__type(value, struct vmg_counter);
} vmg_role_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VMG_RINGBUF_SIZE);
} vmg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmg_ratelimit);
} vmg_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vmg_last);
} vmg_last SEC(".maps");

/*
 * Never read by the program. Userspace updates it after flipping the
 * active generation: the kernel waits for an RCU grace period on every
 * update of a map-in-map, so when the update returns no packet is still
 * being judged by the old generation.
 */
struct vmg_sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vmg_sync_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct vmg_sync_inner);
} vmg_sync SEC(".maps") = {
	.values = { [0] = &vmg_sync_inner },
};

/* ---- conntrack ------------------------------------------------------------ */

/* Weak: the program still loads on a kernel without these kfuncs. */
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx,
					 struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __weak __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __weak __ksym;

/*
 * The first size of struct bpf_ct_opts, accepted by every kernel with the
 * kfunc. Limitation: it has no zone, so only the default conntrack zone is
 * looked up.
 */
#define CT_OPTS_SZ 12

/* True when conntrack holds a connection to which the packet is a reply. */
static __always_inline int ct_is_reply(struct xdp_md *ctx, const struct pkt *p)
{
	struct bpf_ct_opts opts = {};
	struct bpf_sock_tuple t = {};
	struct nf_conn *ct;
	int reply;

	if (!bpf_xdp_ct_lookup || !bpf_ct_release)
		return 0;

	opts.netns_id = BPF_F_CURRENT_NETNS;
	opts.l4proto = p->proto;
	if (p->family == VMG_FAMILY_V4) {
		__builtin_memcpy(&t.ipv4.saddr, p->src, 4);
		__builtin_memcpy(&t.ipv4.daddr, p->dst, 4);
		t.ipv4.sport = bpf_htons(p->sport);
		t.ipv4.dport = bpf_htons(p->dport);
		ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &opts, CT_OPTS_SZ);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->src, 16);
		__builtin_memcpy(t.ipv6.daddr, p->dst, 16);
		t.ipv6.sport = bpf_htons(p->sport);
		t.ipv6.dport = bpf_htons(p->dport);
		ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv6), &opts, CT_OPTS_SZ);
	}
	if (!ct)
		return 0;
	reply = opts.dir == IP_CT_DIR_REPLY;
	bpf_ct_release(ct);
	return reply;
}

/* ---- parsing ------------------------------------------------------------- */

/*
 * The IPv6 extension header walk runs in a global function: the verifier
 * checks it once, on its own, instead of once for every header before it,
 * which would double its work per header. The transport header after
 * extension headers is parsed in one too: offsets that come back from a
 * global function are unbounded to the verifier until checked again.
 * Every other packet is parsed inline: a call and its return cost more
 * than the parsing they wrap.
 */
static __always_inline void cursor_restore(struct cursor *c, struct xdp_md *ctx,
					   const struct pkt *p)
{
	c->data = (void *)(long)ctx->data;
	c->end = (void *)(long)ctx->data_end;
	c->off = p->off;
	c->left = p->left;
}

static __always_inline void cursor_save(const struct cursor *c, struct pkt *p)
{
	p->off = c->off;
	p->left = c->left;
}

__noinline int vmg_parse_ext(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c;
	int ret;

	if (!p)
		return PARSE_MALFORMED;
	cursor_restore(&c, ctx, p);
	ret = parse_ipv6_ext(&c, p);
	cursor_save(&c, p);
	return ret;
}

__noinline int vmg_parse_l4(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c;
	int ret;

	if (!p)
		return PARSE_MALFORMED;
	cursor_restore(&c, ctx, p);
	ret = parse_l4(&c, p);
	cursor_save(&c, p);
	return ret;
}

/* The whole frame into p. */
static __always_inline int vmg_parse(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.left = 0xffffffff,
	};
	__u16 proto;
	int i, ret;

	ret = parse_eth(&c, &proto);
	if (ret != PARSE_IP)
		return ret;
	if (proto == bpf_htons(ETH_P_IP_))
		ret = parse_ipv4(&c, p);
	else if (proto == bpf_htons(ETH_P_IPV6_))
		ret = parse_ipv6(&c, p);
	else
		return PARSE_BYPASS;
	if (ret != PARSE_IP)
		return ret;
	cursor_save(&c, p);

	if (p->family == VMG_FAMILY_V6 && ipv6_is_ext(p->proto)) {
		for (i = 0; i < VMG_MAX_EXTHDR; i++) {
			if (p->frag == PKT_FRAG_LATER || !ipv6_is_ext(p->proto))
				break;
			if (vmg_parse_ext(ctx, p) != PARSE_IP)
				return PARSE_MALFORMED;
		}
		if (p->frag != PKT_FRAG_LATER && ipv6_is_ext(p->proto))
			return PARSE_MALFORMED;
		/* a later fragment carries no transport header */
		if (p->frag == PKT_FRAG_LATER)
			return PARSE_IP;
		if (vmg_parse_l4(ctx, p) != PARSE_IP)
			return PARSE_MALFORMED;
	} else {
		if (p->frag == PKT_FRAG_LATER)
			return PARSE_IP;
		if (parse_l4(&c, p) != PARSE_IP)
			return PARSE_MALFORMED;
	}
	if (is_neighbour_discovery(p))
		return PARSE_BYPASS;
	return PARSE_IP;
}

/* ---- the verdict ---------------------------------------------------------- */

struct verdict {
	__u32 rule_id;
	__u8 reason;
	__u8 action;
	__u8 dir;
	__u8 role;		/* destination's role, VMG_ROLE_NONE if unprotected */
	__u8 counted;		/* rule_id let the packet through: count it */
};

static __always_inline void decide(struct verdict *v, __u8 reason, __u8 action)
{
	v->reason = reason;
	v->action = action;
}

/* An exact address of generation gen: its two buckets, then what it is. */
static __always_inline struct vmg_host_val *
host_exact(__u32 gen, const struct vmg_config *cfg, __u8 family, const __u8 *addr)
{
	struct vmg_host_bucket *b;
	__u32 a[4], idx;
	__u64 h;
	int i, j;

	/* the parser leaves the 12 bytes after an IPv4 address zero */
	__builtin_memcpy(a, addr, 16);
	h = vmg_host_hash(a, family, cfg->seed);
	for (i = 0; i < 2; i++) {
		idx = gen * VMG_HOST_BUCKETS + vmg_bucket(h, i, VMG_HOST_BUCKETS);
		b = bpf_map_lookup_elem(&vmg_hosts, &idx);
		if (!b)
			return NULL;
		for (j = 0; j < VMG_BUCKET_SLOTS; j++) {
			struct vmg_host_slot *s = &b->slot[j];

			if (s->addr[0] != a[0] || s->family != family || s->addr[1] != a[1] ||
			    s->addr[2] != a[2] || s->addr[3] != a[3])
				continue;
			idx = gen * VMG_MAX_KINDS + s->kind;
			return bpf_map_lookup_elem(&vmg_kinds, &idx);
		}
	}
	return NULL;
}

/* An address's roles: the exact address first, the prefixes only if any. */
static __always_inline struct vmg_host_val *
host_lookup(__u32 gen, const struct vmg_config *cfg, __u8 family, const __u8 *addr)
{
	struct vmg_host_val *val;

	val = host_exact(gen, cfg, family, addr);
	if (val)
		return val;

	if (family == VMG_FAMILY_V4 && cfg->has_prefix_v4) {
		struct vmg_lpm_v4_key k;

		k.prefixlen = VMG_LPM_GEN_BITS + 32;
		k.gen = bpf_htonl(gen);
		__builtin_memcpy(k.addr, addr, 4);
		return bpf_map_lookup_elem(&vmg_pfx_v4, &k);
	}
	if (family == VMG_FAMILY_V6 && cfg->has_prefix_v6) {
		struct vmg_lpm_v6_key k;

		k.prefixlen = VMG_LPM_GEN_BITS + 128;
		k.gen = bpf_htonl(gen);
		__builtin_memcpy(k.addr, addr, 16);
		return bpf_map_lookup_elem(&vmg_pfx_v6, &k);
	}
	return NULL;
}

static __always_inline void judge_icmp(const struct vmg_config *cfg, const struct pkt *p,
				       struct verdict *v)
{
	__u8 t = p->icmp_type;
	int error;

	if (p->family == VMG_FAMILY_V4)
		error = t == 3 || t == 11;	/* unreachable, time exceeded */
	else
		error = t >= 1 && t <= 3;	/* unreachable, too big, time exceeded */

	if (cfg->icmp == VMG_ICMP_ALLOW || (cfg->icmp == VMG_ICMP_ERRORS_ONLY && error))
		decide(v, VMG_R_ICMP, VMG_A_PASS);
	else
		decide(v, VMG_R_ICMP, VMG_A_DROP);
}

static __always_inline void frag_key(const struct pkt *p, struct vmg_frag_key *fk)
{
	__builtin_memset(fk, 0, sizeof(*fk));
	fk->family = p->family;
	fk->proto = p->frag_proto;
	fk->id = p->frag_id;
	__builtin_memcpy(fk->src, p->src, 16);
	__builtin_memcpy(fk->dst, p->dst, 16);
}

/* A later fragment follows its first: passed if that one passed. */
static __always_inline void judge_later_fragment(__u32 gen, const struct vmg_config *cfg,
						 const struct pkt *p, struct verdict *v)
{
	struct vmg_frag_key fk;
	struct vmg_frag_val *fv;

	frag_key(p, &fk);
	fv = bpf_map_lookup_elem(&vmg_frags, &fk);
	if (fv) {
		decide(v, VMG_R_FRAGMENT, VMG_A_PASS);
		if (fv->gen == gen && fv->rule_id != VMG_RULE_NONE) {
			v->rule_id = fv->rule_id;
			v->counted = 1;
		}
		return;
	}
	decide(v, VMG_R_FRAGMENT, cfg->unknown_frag_drop ? VMG_A_DROP : VMG_A_PASS);
}

/* Remembers (or forgets) a first fragment's verdict for the ones that follow. */
static __always_inline void track_first_fragment(__u32 gen, const struct pkt *p,
						 const struct verdict *v)
{
	struct vmg_frag_key fk;
	struct vmg_frag_val fv = {};

	/* fragments to unprotected hosts are decided before they get here */
	if (v->reason == VMG_R_UNLISTED)
		return;
	frag_key(p, &fk);
	if (v->action != VMG_A_PASS) {
		/* a reused id must not inherit an older datagram's pass */
		bpf_map_delete_elem(&vmg_frags, &fk);
		return;
	}
	fv.rule_id = v->counted ? v->rule_id : VMG_RULE_NONE;
	fv.reason = v->reason;
	fv.gen = gen;
	bpf_map_update_elem(&vmg_frags, &fk, &fv, BPF_ANY);
}

/* The port rule of (class, port, protocol, direction) in generation gen. */
static __always_inline struct vmg_port_val *
port_lookup(__u32 gen, const struct vmg_config *cfg, __u16 class_id, __u16 port, __u8 proto,
	    __u8 dir)
{
	__u64 key = vmg_port_key_pack(class_id, port, proto, dir);
	__u64 h = vmg_port_hash(key, cfg->seed);
	struct vmg_port_bucket *b;
	__u32 idx;
	int i, j;

	for (i = 0; i < 2; i++) {
		idx = gen * VMG_PORT_BUCKETS + vmg_bucket(h, i, VMG_PORT_BUCKETS);
		b = bpf_map_lookup_elem(&vmg_ports, &idx);
		if (!b)
			return NULL;
		for (j = 0; j < VMG_BUCKET_SLOTS; j++) {
			if (b->slot[j].key == key)
				return &b->slot[j].val;
		}
	}
	return NULL;
}

/* The roles of a source, looked up once per packet at most. */
struct src_roles {
	__u64 roles;
	int known;
};

static __always_inline __u64 source_roles(__u32 gen, const struct vmg_config *cfg,
					  const struct pkt *p, struct src_roles *sr)
{
	struct vmg_host_val *src;

	if (!sr->known) {
		src = host_lookup(gen, cfg, p->family, p->src);
		sr->roles = src ? src->roles : 0;
		sr->known = 1;
	}
	return sr->roles;
}

/* Steps 7 and 8: the reply of an allowed flow, by return rule or conntrack. */
static __always_inline int judge_reply(struct xdp_md *ctx, __u32 gen,
				       const struct vmg_config *cfg, const struct pkt *p,
				       const struct vmg_host_val *dst, struct src_roles *sr,
				       struct verdict *v)
{
	struct vmg_port_val *ret;

	/* a connection is never opened by a return rule */
	if (!(p->proto == IPPROTO_TCP_ && (p->tcp_flags & TCP_FLAG_SYN_) &&
	      !(p->tcp_flags & TCP_FLAG_ACK_))) {
		ret = port_lookup(gen, cfg, dst->class_id, p->sport, p->proto, VMG_DIR_RETURN);
		if (ret && (ret->src_roles & source_roles(gen, cfg, p, sr))) {
			decide(v, VMG_R_RETURN, VMG_A_PASS);
			v->rule_id = ret->rule_id;
			v->dir = VMG_DIR_RETURN;
			v->counted = 1;
			return 1;
		}
	}

	if (cfg->conntrack && (p->proto == IPPROTO_TCP_ || p->proto == IPPROTO_UDP_) &&
	    ct_is_reply(ctx, p)) {
		decide(v, VMG_R_ESTABLISHED, VMG_A_PASS);
		return 1;
	}
	return 0;
}

/* Steps 6 to 9: forward rule, the reply steps, and why not. */
static __always_inline void judge_ports(struct xdp_md *ctx, __u32 gen,
					const struct vmg_config *cfg, const struct pkt *p,
					const struct vmg_host_val *dst, struct verdict *v)
{
	struct src_roles sr = {};
	struct vmg_port_val *fwd;

	fwd = port_lookup(gen, cfg, dst->class_id, p->dport, p->proto, VMG_DIR_FORWARD);
	if (fwd && (fwd->src_roles & source_roles(gen, cfg, p, &sr))) {
		decide(v, VMG_R_ALLOWED, VMG_A_PASS);
		v->rule_id = fwd->rule_id;
		v->counted = 1;
		return;
	}

	if (judge_reply(ctx, gen, cfg, p, dst, &sr, v))
		return;

	if (fwd && (fwd->flags & VMG_PF_LOCAL_ONLY)) {
		decide(v, VMG_R_LOCAL_ONLY, VMG_A_DROP);
		v->rule_id = fwd->rule_id;
	} else if (fwd) {
		decide(v, VMG_R_SRC_NOT_ALLOWED, VMG_A_DROP);
		v->rule_id = fwd->rule_id;
	} else {
		decide(v, VMG_R_PORT_NOT_ALLOWED, VMG_A_DROP);
	}
}

/*
 * Step 3 for an address that is not protected. Under
 * unlisted_destinations: drop, an address known only as a source (a role's
 * `any`) still gets the replies of its allowed flows: they are the reason
 * the role was listed.
 */
static __always_inline void judge_unlisted(struct xdp_md *ctx, __u32 gen,
					   const struct vmg_config *cfg, const struct pkt *p,
					   const struct vmg_host_val *dst, struct verdict *v)
{
	struct src_roles sr = {};

	if (cfg->unlisted_drop && dst && dst->class_id) {
		if (p->frag == PKT_FRAG_LATER) {
			judge_later_fragment(gen, cfg, p, v);
			return;
		}
		if (!p->is_icmp && judge_reply(ctx, gen, cfg, p, dst, &sr, v))
			return;
	}
	decide(v, VMG_R_UNLISTED, cfg->unlisted_drop ? VMG_A_DROP : VMG_A_PASS);
}

/* Steps 3 to 9 for a parsed IP packet. */
static __always_inline void judge(struct xdp_md *ctx, __u32 gen, const struct vmg_config *cfg,
				  const struct pkt *p, struct verdict *v)
{
	struct vmg_host_val *dst;

	dst = host_lookup(gen, cfg, p->family, p->dst);
	if (!dst || !dst->protected_) {
		judge_unlisted(ctx, gen, cfg, p, dst, v);
		return;
	}
	v->role = dst->role;

	if (p->frag == PKT_FRAG_LATER) {
		judge_later_fragment(gen, cfg, p, v);
		return;
	}
	if (p->is_icmp) {
		judge_icmp(cfg, p, v);
		return;
	}
	judge_ports(ctx, gen, cfg, p, dst, v);
}

/* ---- accounting ----------------------------------------------------------- */

static __always_inline void count(void *map, __u32 idx, __u64 bytes)
{
	struct vmg_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void account(__u32 gen, const struct verdict *v, __u64 bytes)
{
	count(&vmg_reason_cnt, VMG_REASON_IDX(v->reason, v->action), bytes);
	if (v->role < VMG_MAX_ROLES)
		count(&vmg_role_cnt, VMG_ROLE_IDX(v->role, v->reason), bytes);
	if (v->counted && v->rule_id < VMG_MAX_RULES)
		count(&vmg_rule_cnt, VMG_RULE_IDX(gen, v->rule_id), bytes);
}

/* A drop event to userspace, at most VMG_EVENTS_PER_SEC per CPU and second. */
static __always_inline void report(struct xdp_md *ctx, const struct pkt *p,
				   const struct verdict *v)
{
	struct vmg_ratelimit *rl;
	struct vmg_event *e;
	__u32 zero = 0;
	__u64 now;

	rl = bpf_map_lookup_elem(&vmg_rate, &zero);
	if (!rl)
		return;
	/*
	 * The tick-grained clock is plenty for a one-second window, and a
	 * flood pays for it on every packet; the precise one is read for the
	 * events actually sent.
	 */
	now = bpf_ktime_get_coarse_ns();
	if (now - rl->window_start_ns >= NSEC_PER_SEC) {
		rl->window_start_ns = now;
		rl->sent = 0;
	}
	if (rl->sent >= VMG_EVENTS_PER_SEC) {
		rl->suppressed++;
		return;
	}
	e = bpf_ringbuf_reserve(&vmg_events, sizeof(*e), 0);
	if (!e) {
		rl->suppressed++;
		return;
	}
	rl->sent++;

	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->ifindex = ctx->ingress_ifindex;
	e->sport = p->sport;
	e->dport = p->dport;
	e->family = p->family;
	e->proto = p->proto;
	e->reason = v->reason;
	e->action = v->action;
	e->role = v->role;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void record(const struct verdict *v)
{
	struct vmg_last *last;
	__u32 zero = 0;

	last = bpf_map_lookup_elem(&vmg_last, &zero);
	if (!last)
		return;
	last->rule_id = v->rule_id;
	last->reason = v->reason;
	last->action = v->action;
	last->dir = v->dir;
	last->valid = 1;
}

SEC("xdp")
int vmsgate_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct vmg_config *cfg;
	struct vmg_state *state;
	struct verdict v = {};
	struct pkt p = {};
	__u32 zero = 0, gen;
	int ret;

	v.rule_id = VMG_RULE_NONE;
	v.role = VMG_ROLE_NONE;
	v.dir = VMG_DIR_FORWARD;

	/* one generation judges the whole packet */
	state = bpf_map_lookup_elem(&vmg_state, &zero);
	if (!state)
		return XDP_PASS;
	gen = *(volatile __u32 *)&state->active & 1;
	cfg = bpf_map_lookup_elem(&vmg_config, &gen);
	if (!cfg)
		return XDP_PASS;
	/* a program never filled with a policy enforces nothing */
	if (cfg->abi_version != VMG_ABI_VERSION) {
		decide(&v, VMG_R_BYPASS, VMG_A_PASS);
		goto out;
	}

	ret = vmg_parse(ctx, &p);
	if (ret == PARSE_BYPASS)
		decide(&v, VMG_R_BYPASS, VMG_A_PASS);
	else if (ret == PARSE_MALFORMED)
		decide(&v, VMG_R_MALFORMED, VMG_A_DROP);
	else
		judge(ctx, gen, cfg, &p, &v);

	if (v.action == VMG_A_DROP && cfg->mode == VMG_MODE_MONITOR)
		v.action = VMG_A_WOULD_DROP;
	if (ret == PARSE_IP && p.frag == PKT_FRAG_FIRST)
		track_first_fragment(gen, &p, &v);
	if (v.action != VMG_A_PASS)
		report(ctx, &p, &v);
out:
	account(gen, &v, data_end - data);
	if (record_last)
		record(&v);
	return v.action == VMG_A_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
