// SPDX-License-Identifier: GPL-2.0-only
/*
 * nftables: table inet vmsgate kept in step with the compiled policy.
 *
 * 1. The desired state: a set of merged intervals per role and family with
 *    addresses, protected_v4/_v6, and the rules of chain forward.
 * 2. The kernel's state: the table, its chains and sets, the elements of the
 *    sets we keep and the rules of chain forward, read by netlink dumps; or,
 *    while nothing at all was committed since our last sync, what we left.
 * 3. The difference as one transaction: intervals deleted and added whole,
 *    the chain flushed and refilled only when its rules differ, whatever
 *    else is in the table removed.
 *
 * A transaction must reach the kernel in one sendmsg(): nfnetlink runs a
 * batch from one skb and aborts one that ends without its END message. So
 * a large batch is built in chunks and sent as one iovec. It carries the
 * generation id the dumps were read at; if anyone commits in between, the
 * kernel refuses it with ERESTART and we read again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "log.h"
#include "nft.h"
#include "roles.h"
#include "util.h"

#define NFT_TYPE_IPADDR		7	/* nft's datatype ids, for `nft list` */
#define NFT_TYPE_IP6ADDR	8
#define NFT_BYTEORDER_BIG	2	/* nft's enum byteorder */
#define NFT_USERDATA_MAX	256
#define NFT_TABLE_COMMENT	"managed by vmsgate: changes made by hand are reverted"
#define NFT_RX_SIZE		(64 * 1024)	/* dump skbs are at most 32 KiB */
#define NFT_CHUNK_SIZE		(1024 * 1024)
#define NFT_MSG_ROOM		(96 * 1024)	/* room for the largest message we build */
#define NFT_EVENT_RCVBUF	(16 * 1024 * 1024)
#define NFT_ATTEMPTS		5

/* Part 1: the desired state, pure. */

static const uint8_t families[2] = { VMG_FAMILY_V4, VMG_FAMILY_V6 };

static int addr_bytes(uint8_t family)
{
	return family == VMG_FAMILY_V4 ? 4 : 16;
}

static const char *family_suffix(uint8_t family)
{
	return family == VMG_FAMILY_V4 ? "v4" : "v6";
}

static void prefix_interval(const struct prefix *p, struct nft_interval *iv)
{
	memset(iv, 0, sizeof(*iv));
	for (int i = 0; i < addr_bytes(p->family); i++) {
		int keep = p->len - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		iv->lo[i] = p->addr[i] & mask;
		iv->hi[i] = p->addr[i] | (uint8_t)~mask;
	}
}

/* a + 1 in place; false when a was the last address of its family */
static bool addr_next(uint8_t *a, int n)
{
	for (int i = n - 1; i >= 0; i--)
		if (++a[i])
			return true;
	return false;
}

static int interval_cmp(const void *a, const void *b)
{
	const struct nft_interval *x = a, *y = b;
	int c = memcmp(x->lo, y->lo, sizeof(x->lo));

	return c ? c : memcmp(x->hi, y->hi, sizeof(x->hi));
}

/* Whether b, which does not start before a, overlaps a or directly follows it. */
static bool interval_touches(const struct nft_interval *a, const struct nft_interval *b,
			     int n)
{
	uint8_t after[16];

	memcpy(after, a->hi, sizeof(after));
	if (!addr_next(after, n))
		return true;
	return memcmp(b->lo, after, sizeof(after)) <= 0;
}

int nft_intervals_merge(const struct prefix *p, size_t n, uint8_t family,
			struct nft_interval **out, size_t *nout)
{
	struct nft_interval *iv;
	size_t cnt = 0, w = 0;

	*out = NULL;
	*nout = 0;
	iv = calloc(n ? n : 1, sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (p[i].family == family)
			prefix_interval(&p[i], &iv[cnt++]);
	if (!cnt) {
		free(iv);
		return 0;
	}
	qsort(iv, cnt, sizeof(*iv), interval_cmp);
	for (size_t i = 0; i < cnt; i++) {
		struct nft_interval *last = w ? &iv[w - 1] : NULL;

		if (last && interval_touches(last, &iv[i], addr_bytes(family))) {
			if (memcmp(iv[i].hi, last->hi, sizeof(last->hi)) > 0)
				memcpy(last->hi, iv[i].hi, sizeof(last->hi));
			continue;
		}
		iv[w++] = iv[i];
	}
	*out = iv;
	*nout = w;
	return 0;
}

/* The prefix length if [lo, hi] is exactly one prefix, or -1. */
static int interval_prefix_len(const struct nft_interval *iv, int nbytes)
{
	int bits = nbytes * 8, len = bits;

	for (int b = 0; b < bits; b++) {
		int lo = iv->lo[b / 8] >> (7 - b % 8) & 1;
		int hi = iv->hi[b / 8] >> (7 - b % 8) & 1;

		if (len == bits && lo != hi) {
			if (lo != 0)
				return -1;
			len = b;
		} else if (len != bits && (lo != 0 || hi != 1)) {
			return -1;
		}
	}
	return len;
}

const char *nft_interval_str(const struct nft_interval *iv, uint8_t family, char *buf,
			     size_t len)
{
	int af = family == VMG_FAMILY_V4 ? AF_INET : AF_INET6;
	int nbytes = addr_bytes(family);
	int plen = interval_prefix_len(iv, nbytes);
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];

	inet_ntop(af, iv->lo, lo, sizeof(lo));
	inet_ntop(af, iv->hi, hi, sizeof(hi));
	if (plen == nbytes * 8)
		snprintf(buf, len, "%s", lo);
	else if (plen >= 0)
		snprintf(buf, len, "%s/%d", lo, plen);
	else
		snprintf(buf, len, "%s-%s", lo, hi);
	return buf;
}

int nft_elem_cmp(const void *a, const void *b)
{
	const struct nft_elem *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	/* at one key, the end of an interval comes before the start of the next */
	return c ? c : (int)y->end - (int)x->end;
}

int nft_set_elems(const struct nft_set_spec *s, struct nft_elem **out, size_t *n)
{
	struct nft_elem *el = calloc(2 * s->niv + 1, sizeof(*el));
	size_t k = 0;

	if (!el)
		return -ENOMEM;
	for (size_t i = 0; i < s->niv; i++) {
		memcpy(el[k++].key, s->iv[i].lo, sizeof(el->key));
		memcpy(el[k].key, s->iv[i].hi, sizeof(el->key));
		if (addr_next(el[k].key, addr_bytes(s->family)))
			el[k++].end = true;
		else
			el[k - 1].open = true;
	}
	*out = el;
	*n = k;
	return 0;
}

/* Copies a purpose into a comment nft accepts and prints back readably. */
static void comment_copy(char *dst, const char *src)
{
	size_t len = src ? strlen(src) : 0, n = 0;
	bool cut = len > NFT_COMMENT_MAX;

	if (cut) {
		len = NFT_COMMENT_MAX - 3;
		/* never cut a UTF-8 sequence in two */
		while (len && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
		while (len && src[len - 1] == ' ')
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		/* nft prints a comment between quotes without escaping */
		dst[n++] = c == '"' ? '\'' : c < 0x20 ? ' ' : (char)c;
	}
	if (cut) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

struct desired_builder {
	struct nft_desired *d;
	size_t sets_cap;
	size_t rules_cap;
	int role_set[ROLE_COUNT][2];	/* index in d->sets, or -1 */
	int protected_set[2];
};

static int add_set(struct desired_builder *b, const char *base, uint8_t family,
		   const struct prefix *p, size_t n, int *idx)
{
	struct nft_desired *d = b->d;
	struct nft_set_spec *s;
	struct nft_interval *iv;
	size_t niv;
	int err;

	*idx = -1;
	err = nft_intervals_merge(p, n, family, &iv, &niv);
	if (err || !niv)
		return err;
	err = grow((void **)&d->sets, &b->sets_cap, d->nsets, sizeof(*d->sets));
	if (err) {
		free(iv);
		return err;
	}
	s = &d->sets[d->nsets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s_%s", base, family_suffix(family));
	s->family = family;
	s->iv = iv;
	s->niv = niv;
	*idx = (int)d->nsets++;
	return 0;
}

/* Every address with val.protected_: zero-length prefixes are sources only. */
static int protected_prefixes(const struct ruleset *rs, struct prefix **out, size_t *n)
{
	struct prefix *p = calloc(rs->nhosts + rs->nprefixes + 1, sizeof(*p));
	size_t k = 0;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < rs->nhosts; i++)
		if (rs->hosts[i].val.protected_)
			p[k++] = rs->hosts[i].pfx;
	for (size_t i = 0; i < rs->nprefixes; i++)
		if (rs->prefixes[i].val.protected_)
			p[k++] = rs->prefixes[i].pfx;
	*out = p;
	*n = k;
	return 0;
}

static int build_sets(struct desired_builder *b, const struct ruleset *rs)
{
	struct prefix *prot;
	size_t nprot;
	int err = 0;

	for (int r = 0; r < ROLE_COUNT && !err; r++)
		for (int f = 0; f < 2 && !err; f++)
			err = add_set(b, role_ident(r), families[f], rs->role_addrs[r],
				      rs->role_naddrs[r], &b->role_set[r][f]);
	if (err)
		return err;
	err = protected_prefixes(rs, &prot, &nprot);
	if (err)
		return err;
	for (int f = 0; f < 2 && !err; f++)
		err = add_set(b, "protected", families[f], prot, nprot, &b->protected_set[f]);
	free(prot);
	return err;
}

static struct nft_rule_spec *add_rule(struct desired_builder *b)
{
	struct nft_desired *d = b->d;
	struct nft_rule_spec *r;

	if (grow((void **)&d->rules, &b->rules_cap, d->nrules, sizeof(*d->rules)))
		return NULL;
	r = &d->rules[d->nrules++];
	memset(r, 0, sizeof(*r));
	r->verdict = NF_ACCEPT;
	r->rule_id = -1;
	return r;
}

static int add_flow_rules(struct desired_builder *b, const struct rule *cr)
{
	const struct nft_set_spec *sets;
	struct nft_rule_spec *r;

	for (int src = 0; src < ROLE_COUNT; src++) {
		if (!(cr->from & ROLE_BIT(src)))
			continue;
		for (int f = 0; f < 2; f++) {
			int si = b->role_set[src][f], di = b->role_set[cr->to][f];

			if (si < 0 || di < 0)
				continue;
			r = add_rule(b);
			if (!r)
				return -ENOMEM;
			sets = b->d->sets;
			r->family = families[f];
			snprintf(r->saddr, sizeof(r->saddr), "%s", sets[si].name);
			snprintf(r->daddr, sizeof(r->daddr), "%s", sets[di].name);
			r->proto = cr->proto;
			r->port = cr->port;
			r->port_end = cr->port_end;
			r->rule_id = (int32_t)cr->id;
			comment_copy(r->comment, cr->purpose ? cr->purpose : cr->service);
		}
	}
	return 0;
}

static int build_rules(struct desired_builder *b, const struct ruleset *rs)
{
	bool monitor = rs->config.mode == VMG_MODE_MONITOR;
	struct nft_rule_spec *r;
	int err;

	r = add_rule(b);
	if (!r)
		return -ENOMEM;
	r->ct_established = true;
	for (size_t i = 0; i < rs->nrules; i++) {
		/* local-only ports have no source to allow */
		if (!rs->rules[i].from || rs->rules[i].to < 0 || rs->rules[i].to >= ROLE_COUNT)
			continue;
		err = add_flow_rules(b, &rs->rules[i]);
		if (err)
			return err;
	}
	for (int f = 0; f < 2; f++) {
		int pi = b->protected_set[f];

		if (pi < 0)
			continue;
		r = add_rule(b);
		if (!r)
			return -ENOMEM;
		r->family = families[f];
		snprintf(r->daddr, sizeof(r->daddr), "%s", b->d->sets[pi].name);
		r->counter = true;
		r->verdict = monitor ? NFT_NO_VERDICT : NF_DROP;
		if (monitor)
			comment_copy(r->comment, "monitor mode: counted, not dropped");
	}
	if (rs->config.unlisted_drop) {
		r = add_rule(b);
		if (!r)
			return -ENOMEM;
		r->counter = true;
		r->verdict = monitor ? NFT_NO_VERDICT : NF_DROP;
		if (monitor)
			comment_copy(r->comment, "monitor mode: counted, not dropped");
	}
	return 0;
}

int nft_desired_build(const struct ruleset *rs, struct nft_desired *d)
{
	struct desired_builder b = { .d = d };
	int err;

	memset(d, 0, sizeof(*d));
	memset(b.role_set, 0xff, sizeof(b.role_set));
	memset(b.protected_set, 0xff, sizeof(b.protected_set));
	err = build_sets(&b, rs);
	if (!err)
		err = build_rules(&b, rs);
	if (err)
		nft_desired_free(d);
	return err;
}

void nft_desired_free(struct nft_desired *d)
{
	for (size_t i = 0; i < d->nsets; i++)
		free(d->sets[i].iv);
	free(d->sets);
	free(d->rules);
	memset(d, 0, sizeof(*d));
}

const struct nft_set_spec *nft_desired_find_set(const struct nft_desired *d,
						const char *name)
{
	for (size_t i = 0; i < d->nsets; i++)
		if (!strcmp(d->sets[i].name, name))
			return &d->sets[i];
	return NULL;
}

static void catf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void catf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

const char *nft_rule_str(const struct nft_rule_spec *r, char *buf, size_t len)
{
	const char *fam = r->family == VMG_FAMILY_V6 ? "ip6" : "ip";
	const char *sep = "";
	size_t off = 0;

	buf[0] = '\0';
	if (r->ct_established) {
		catf(buf, len, &off, "ct state established,related");
		sep = " ";
	}
	if (r->saddr[0]) {
		catf(buf, len, &off, "%s%s saddr @%s", sep, fam, r->saddr);
		sep = " ";
	}
	if (r->daddr[0]) {
		catf(buf, len, &off, "%s%s daddr @%s", sep, fam, r->daddr);
		sep = " ";
	}
	if (r->proto) {
		catf(buf, len, &off, "%s%s dport %u", sep,
		     r->proto == IPPROTO_UDP ? "udp" : "tcp", r->port);
		if (r->port_end != r->port)
			catf(buf, len, &off, "-%u", r->port_end);
		sep = " ";
	}
	if (r->counter) {
		catf(buf, len, &off, "%scounter", sep);
		sep = " ";
	}
	if (r->verdict != NFT_NO_VERDICT)
		catf(buf, len, &off, "%s%s", sep, r->verdict == NF_ACCEPT ? "accept" : "drop");
	if (r->comment[0])
		catf(buf, len, &off, " comment \"%s\"", r->comment);
	return buf;
}

static void print_set(FILE *f, const struct nft_set_spec *s)
{
	char buf[2 * INET6_ADDRSTRLEN + 8];

	fprintf(f, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n\t\telements = { ", s->name,
		s->family == VMG_FAMILY_V4 ? "ipv4_addr" : "ipv6_addr");
	for (size_t i = 0; i < s->niv; i++)
		fprintf(f, "%s%s", i ? ", " : "",
			nft_interval_str(&s->iv[i], s->family, buf, sizeof(buf)));
	fputs(" }\n\t}\n\n", f);
}

void nft_desired_print(FILE *f, const struct nft_desired *d)
{
	char buf[512];

	fprintf(f, "table inet %s {\n\tcomment \"%s\"\n", NFT_TABLE, NFT_TABLE_COMMENT);
	for (size_t i = 0; i < d->nsets; i++)
		print_set(f, &d->sets[i]);
	fprintf(f, "\tchain %s {\n\t\ttype filter hook forward priority filter; "
		"policy accept;\n", NFT_CHAIN);
	for (size_t i = 0; i < d->nrules; i++)
		fprintf(f, "\t\t%s\n", nft_rule_str(&d->rules[i], buf, sizeof(buf)));
	fputs("\t}\n}\n", f);
}

/* Part 2: rules as libnftnl expressions, encoded as nft encodes them. */

static int push(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *expr_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *expr_lookup(const char *set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		/* the kernel lists the flags even when zero: say so, to compare alike */
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
		if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set)) {
			nftnl_expr_free(e);
			return NULL;
		}
	}
	return e;
}

static struct nftnl_expr *expr_ct(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *expr_bitwise(uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	}
	return e;
}

static struct nftnl_expr *expr_verdict(int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return e;
}

/* ct state established,related: the state bits masked, then != 0 */
static int add_ct_state(struct nftnl_rule *r)
{
	uint32_t bits = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	uint32_t zero = 0;

	return push(r, expr_ct(NFT_CT_STATE)) ?: push(r, expr_bitwise(bits, 0)) ?:
	       push(r, expr_cmp(NFT_CMP_NEQ, &zero, sizeof(zero)));
}

/* In family inet, ip and ip6 headers are matched after meta nfproto. */
static int add_nfproto(struct nftnl_rule *r, uint8_t family)
{
	uint8_t proto = family == VMG_FAMILY_V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;

	return push(r, expr_meta(NFT_META_NFPROTO)) ?:
	       push(r, expr_cmp(NFT_CMP_EQ, &proto, sizeof(proto)));
}

static int add_addr_lookup(struct nftnl_rule *r, uint8_t family, bool source,
			   const char *set)
{
	bool v4 = family == VMG_FAMILY_V4;
	uint32_t offset = v4 ? (source ? 12 : 16) : (source ? 8 : 24);

	return push(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, offset, v4 ? 4 : 16)) ?:
	       push(r, expr_lookup(set));
}

/* A range is two comparisons on the big-endian port, as nft encodes it. */
static int add_dport(struct nftnl_rule *r, uint8_t proto, uint16_t port, uint16_t port_end)
{
	uint16_t lo = htons(port), hi = htons(port_end);
	int err;

	err = push(r, expr_meta(NFT_META_L4PROTO)) ?:
	      push(r, expr_cmp(NFT_CMP_EQ, &proto, sizeof(proto))) ?:
	      push(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(lo)));
	if (err)
		return err;
	if (port == port_end)
		return push(r, expr_cmp(NFT_CMP_EQ, &lo, sizeof(lo)));
	return push(r, expr_cmp(NFT_CMP_GTE, &lo, sizeof(lo))) ?:
	       push(r, expr_cmp(NFT_CMP_LTE, &hi, sizeof(hi)));
}

static int add_exprs(struct nftnl_rule *r, const struct nft_rule_spec *s)
{
	int err = 0;

	if (s->ct_established)
		err = add_ct_state(r);
	if (!err && s->family)
		err = add_nfproto(r, s->family);
	if (!err && s->saddr[0])
		err = add_addr_lookup(r, s->family, true, s->saddr);
	if (!err && s->daddr[0])
		err = add_addr_lookup(r, s->family, false, s->daddr);
	if (!err && s->proto)
		err = add_dport(r, s->proto, s->port, s->port_end);
	if (!err && s->counter)
		err = push(r, nftnl_expr_alloc("counter"));
	if (!err && s->verdict != NFT_NO_VERDICT)
		err = push(r, expr_verdict(s->verdict));
	return err;
}

/* The comment in the TLV nft writes and reads: NFTNL_UDATA_RULE_COMMENT, NUL included. */
static int set_comment(struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *ud;
	int err = 0;

	if (!comment[0])
		return 0;
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAX);
	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment) ||
	    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				nftnl_udata_buf_len(ud)))
		err = -ENOMEM;
	nftnl_udata_buf_free(ud);
	return err;
}

struct nftnl_rule *nft_rule_build(const struct nft_rule_spec *s)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE) ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_CHAIN) || add_exprs(r, s) ||
	    set_comment(r, s->comment)) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

char *nft_rule_canon(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	const uint8_t *ud;
	char *out = NULL, tmp[512];
	uint32_t udlen = 0;
	size_t len = 0;
	FILE *f;

	it = nftnl_expr_iter_create(r);
	if (!it)
		return NULL;
	f = open_memstream(&out, &len);
	if (!f) {
		nftnl_expr_iter_destroy(it);
		return NULL;
	}
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		/* a counter's values change with traffic, not with the rule */
		if (!strcmp(name, "counter")) {
			fputs("[counter]", f);
			continue;
		}
		nftnl_expr_snprintf(tmp, sizeof(tmp), e, NFTNL_OUTPUT_DEFAULT, 0);
		fprintf(f, "[%s %s]", name, tmp);
	}
	nftnl_expr_iter_destroy(it);
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	else
		ud = NULL;
	fputs(" udata:", f);
	for (uint32_t i = 0; ud && i < udlen; i++)
		fprintf(f, "%02x", ud[i]);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **found = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*found = attr;
	return 0;
}

const char *nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t len)
{
	const struct nftnl_udata *attr = NULL;
	const void *ud;
	uint32_t udlen;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return NULL;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (nftnl_udata_parse(ud, udlen, comment_cb, &attr) < 0 || !attr)
		return NULL;
	snprintf(buf, len, "%.*s", (int)nftnl_udata_len(attr),
		 (const char *)nftnl_udata_get(attr));
	return buf;
}

/* Set elements are built and parsed with libmnl: 10^5 of them are common. */

void nft_elems_msg_put(struct nlmsghdr *nlh, const char *set, const struct nft_elem *el,
		       size_t n, int keylen)
{
	uint32_t open_flags = NFTNL_SET_ELEM_F_INTERVAL_OPEN;
	struct nlattr *list, *elem, *key;
	uint8_t open_udata[6];

	/* nft marks an interval that runs to the end, to list it as such */
	open_udata[0] = NFTNL_UDATA_SET_ELEM_FLAGS;
	open_udata[1] = sizeof(open_flags);
	memcpy(open_udata + 2, &open_flags, sizeof(open_flags));

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (size_t i = 0; i < n; i++) {
		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		if (el[i].end)
			mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS,
					 htonl(NFT_SET_ELEM_INTERVAL_END));
		key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, (size_t)keylen, el[i].key);
		mnl_attr_nest_end(nlh, key);
		if (el[i].open)
			mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, sizeof(open_udata), open_udata);
		mnl_attr_nest_end(nlh, elem);
	}
	mnl_attr_nest_end(nlh, list);
}

static int elem_parse(const struct nlattr *nest, struct nft_elem *out)
{
	const struct nlattr *a, *k;
	bool have_key = false;

	memset(out, 0, sizeof(*out));
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EINVAL;
			out->end = ntohl(mnl_attr_get_u32(a)) & NFT_SET_ELEM_INTERVAL_END;
			break;
		case NFTA_SET_ELEM_KEY:
			mnl_attr_for_each_nested(k, a) {
				uint16_t len = mnl_attr_get_payload_len(k);

				if (mnl_attr_get_type(k) != NFTA_DATA_VALUE ||
				    len > sizeof(out->key))
					return -EINVAL;
				memcpy(out->key, mnl_attr_get_payload(k), len);
				have_key = true;
			}
			break;
		}
	}
	return have_key ? 0 : -ENOENT;
}

int nft_elems_msg_parse(const struct nlmsghdr *nlh, struct nft_elem **el, size_t *n,
			size_t *cap)
{
	const struct nlattr *a, *e;
	int err;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		/* the kernel numbers them NFTA_LIST_ELEM, libnftnl 1, 2, 3...: any will do */
		mnl_attr_for_each_nested(e, a) {
			struct nft_elem one;

			err = elem_parse(e, &one);
			if (err == -ENOENT)
				continue;	/* a catch-all element has no key */
			if (err)
				return err;
			err = grow((void **)el, cap, *n, sizeof(**el));
			if (err)
				return err;
			(*el)[(*n)++] = one;
		}
	}
	return 0;
}

/* Part 3: netlink plumbing. */

struct nft_sync {
	struct mnl_socket *nl;		/* requests, dumps and transactions */
	struct mnl_socket *ev;		/* NFNLGRP_NFTABLES events */
	uint32_t portid;
	uint32_t seq;
	int sndbuf;
	char *rx;
	struct nft_desired last;	/* what the table should hold */
	bool have_last;
	bool known;			/* the kernel's table is last, at known_genid */
	uint32_t known_genid;
	struct nft_stats stats;
};

struct batch_chunk {
	char *buf;
	size_t len;
};

/* What each message of a transaction is about, by sequence number. */
struct batch_label {
	char what[NFT_NAME_MAX + 32];
};

struct batch {
	struct batch_chunk *chunks;
	size_t nchunks, chunks_cap;
	struct batch_label *labels;	/* labels[i] is message seq0 + i */
	size_t nlabels, labels_cap;
	uint32_t seq0;
	uint32_t last_seq;		/* of the last message before END */
	struct nlmsghdr *last;		/* that message: it asks for an ack */
	size_t nmsgs;			/* between BEGIN and END */
	size_t bytes;
	int set_id;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nchunks; i++)
		free(b->chunks[i].buf);
	free(b->chunks);
	free(b->labels);
	memset(b, 0, sizeof(*b));
}

/* Room for one message at the end of the current chunk, or a new chunk. */
static char *batch_room(struct batch *b)
{
	struct batch_chunk *c = b->nchunks ? &b->chunks[b->nchunks - 1] : NULL;

	if (c && NFT_CHUNK_SIZE - c->len >= NFT_MSG_ROOM)
		return c->buf + c->len;
	if (grow((void **)&b->chunks, &b->chunks_cap, b->nchunks, sizeof(*b->chunks)))
		return NULL;
	c = &b->chunks[b->nchunks];
	c->buf = calloc(1, NFT_CHUNK_SIZE);
	if (!c->buf)
		return NULL;
	c->len = 0;
	b->nchunks++;
	return c->buf;
}

static int batch_label(struct batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int batch_label(struct batch *b, const char *fmt, ...)
{
	va_list ap;

	if (grow((void **)&b->labels, &b->labels_cap, b->nlabels, sizeof(*b->labels)))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->labels[b->nlabels].what, sizeof(b->labels->what), fmt, ap);
	va_end(ap);
	b->nlabels++;
	return 0;
}

/* Counts a finished message in. */
static void batch_put(struct batch *b, struct nlmsghdr *nlh)
{
	struct batch_chunk *c = &b->chunks[b->nchunks - 1];

	c->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->bytes += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* BEGIN or END: nfnetlink's own messages around those of nf_tables. */
static struct nlmsghdr *batch_ctl(struct batch *b, uint16_t type)
{
	uint32_t seq = b->seq0 + (uint32_t)b->nlabels;
	char *buf = batch_room(b);
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (!buf || batch_label(b, "transaction"))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	return nlh;
}

static int batch_begin(struct batch *b, uint32_t seq, uint32_t genid)
{
	struct nlmsghdr *nlh;

	memset(b, 0, sizeof(*b));
	b->seq0 = seq;
	nlh = batch_ctl(b, NFNL_MSG_BATCH_BEGIN);
	if (!nlh)
		return -ENOMEM;
	/* planned against this generation: refused (ERESTART) if it moved on */
	mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	batch_put(b, nlh);
	return 0;
}

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags,
				  const char *what, const char *name)
{
	uint32_t seq = b->seq0 + (uint32_t)b->nlabels;
	char *buf = batch_room(b);

	if (!buf || batch_label(b, "%s %s", what, name))
		return NULL;
	b->nmsgs++;
	b->last_seq = seq;
	b->last = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
	return b->last;
}

static int batch_end(struct batch *b)
{
	struct nlmsghdr *nlh = batch_ctl(b, NFNL_MSG_BATCH_END);

	if (!nlh)
		return -ENOMEM;
	batch_put(b, nlh);
	return 0;
}

static const char *batch_what(const struct batch *b, uint32_t seq)
{
	uint32_t i = seq - b->seq0;

	return i < b->nlabels ? b->labels[i].what : "transaction";
}

/* Discards whatever an earlier failure left unread. */
static void nl_discard(struct mnl_socket *nl, char *buf)
{
	while (recv(mnl_socket_get_fd(nl), buf, NFT_RX_SIZE, MSG_DONTWAIT) > 0)
		;
}

static void report_error(const struct batch *b, const struct nlmsghdr *nlh, int err)
{
	const struct nlattr *a;
	const char *ext = NULL;

	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && (nlh->nlmsg_flags & NLM_F_CAPPED)) {
		mnl_attr_for_each(a, nlh, sizeof(struct nlmsgerr))
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
				ext = mnl_attr_get_str(a);
	}
	pr_err("failed to sync nftables %s: %s%s%s%s\n", batch_what(b, nlh->nlmsg_seq),
	       strerror(-err), ext ? " (" : "", ext ? ext : "", ext ? ")" : "");
}

/*
 * The kernel runs the whole batch inside sendmsg(), so every error is queued
 * when it returns. The last message carries NLM_F_ACK: its ack proves the
 * batch was read to the end.
 */
static int batch_acks(struct nft_sync *ns, const struct batch *b)
{
	int fd = mnl_socket_get_fd(ns->nl), first = 0;
	bool acked = false;
	ssize_t n;

	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)ns->rx;
		int len;

		n = recv(fd, ns->rx, NFT_RX_SIZE, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		for (len = (int)n; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_seq == b->last_seq)
				acked = true;
			if (!e->error)
				continue;
			/* the generation moved on: the caller reads again, quietly */
			if (e->error == -ERESTART && nlh->nlmsg_seq == b->seq0)
				return -ERESTART;
			if (!first)
				report_error(b, nlh, e->error);
			first = first ?: e->error;
		}
	}
	if (first)
		return first;
	if (!acked) {
		pr_err("failed to sync nftables: the kernel did not acknowledge the transaction\n");
		return -EPROTO;
	}
	return 0;
}

static int sock_opt(struct mnl_socket *nl, int level, int name, int val)
{
	return setsockopt(mnl_socket_get_fd(nl), level, name, &val, sizeof(val)) ? -errno : 0;
}

static void grow_sndbuf(struct nft_sync *ns, size_t bytes)
{
	int want = (int)bytes + 4096, fd = mnl_socket_get_fd(ns->nl);

	if (want <= ns->sndbuf)
		return;
	/* as root the buffer may exceed net.core.wmem_max */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)))
		pr_debug("failed to grow the netlink send buffer: %s\n", strerror(errno));
	else
		ns->sndbuf = want;
}

/* The whole batch in one sendmsg(), its chunks as one iovec. */
static int batch_send(struct nft_sync *ns, struct batch *b)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr msg;
	struct iovec *iov;
	ssize_t sent;
	int err;

	b->last->nlmsg_flags |= NLM_F_ACK;
	err = batch_end(b);
	if (err)
		return err;
	grow_sndbuf(ns, b->bytes);
	iov = calloc(b->nchunks, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	for (size_t i = 0; i < b->nchunks; i++)
		iov[i] = (struct iovec){ .iov_base = b->chunks[i].buf,
					 .iov_len = b->chunks[i].len };
	msg = (struct msghdr){ .msg_name = &snl, .msg_namelen = sizeof(snl),
			       .msg_iov = iov, .msg_iovlen = b->nchunks };
	nl_discard(ns->nl, ns->rx);
	/*
	 * While any socket on the host listens to nftables events (the kernel
	 * asks for the whole host, not the namespace), the commit builds one
	 * event per element, which takes ten times longer than the insertion.
	 * Our own events are of no interest: do not be that listener.
	 */
	sock_opt(ns->ev, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, NFNLGRP_NFTABLES);
	sent = sendmsg(mnl_socket_get_fd(ns->nl), &msg, 0);
	err = sent < 0 ? -errno : 0;
	if (sock_opt(ns->ev, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES))
		pr_err("failed to subscribe to nftables events again: %s\n", strerror(errno));
	free(iov);
	if (err) {
		pr_err("failed to send the nftables transaction (%zu bytes): %s\n", b->bytes,
		       strerror(-err));
		return err;
	}
	return batch_acks(ns, b);
}

/*
 * Sends one request and runs cb on each reply until the dump ends or the
 * ack arrives. A dump that the kernel marks interrupted fails with -EINTR.
 */
static int nl_talk(struct nft_sync *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	nl_discard(ns->nl, ns->rx);
	if (mnl_socket_sendto(ns->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(ns->nl, ns->rx, NFT_RX_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(ns->rx, (size_t)n, seq, ns->portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *request(struct nft_sync *ns, char *buf, uint16_t type,
				uint16_t family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, type, family, flags, ++ns->seq);
}

/* Part 4: the kernel's state. */

struct kset {
	char *name;
	uint32_t flags, key_type, key_len;
	bool dumped;			/* elements read */
	struct nft_elem *el;
	size_t nel, cap;
};

struct kchain {
	char *name;
	bool base;
	uint32_t hooknum, policy;
	int32_t prio;
	char type[16];
};

struct kstate {
	bool table;
	uint32_t table_flags;
	struct kchain *chains;
	size_t nchains, chains_cap;
	struct kset *sets;
	size_t nsets, sets_cap;
	char **rules;			/* canonical forms of chain forward's rules */
	size_t nrules, rules_cap;
};

static void kstate_free(struct kstate *k)
{
	for (size_t i = 0; i < k->nchains; i++)
		free(k->chains[i].name);
	for (size_t i = 0; i < k->nsets; i++) {
		free(k->sets[i].name);
		free(k->sets[i].el);
	}
	for (size_t i = 0; i < k->nrules; i++)
		free(k->rules[i]);
	free(k->chains);
	free(k->sets);
	free(k->rules);
	memset(k, 0, sizeof(*k));
}

static int cb_errno(int err)
{
	errno = -err;
	return MNL_CB_ERROR;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();

	if (!gen)
		return cb_errno(-ENOMEM);
	if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

static int read_genid(struct nft_sync *ns, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK);

	*genid = 0;
	return nl_talk(ns, nlh, gen_cb, genid);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct kstate *k = data;

	if (!t)
		return cb_errno(-ENOMEM);
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), NFT_TABLE)) {
		k->table = true;
		k->table_flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int read_table(struct nft_sync *ns, struct kstate *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK);
	int err;

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE);
	err = nl_talk(ns, nlh, table_cb, k);
	return err == -ENOENT ? 0 : err;
}

static bool in_our_table(const char *table)
{
	return table && !strcmp(table, NFT_TABLE);
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct kstate *k = data;
	struct kchain *kc;
	int err = 0;

	if (!c)
		return cb_errno(-ENOMEM);
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    !in_our_table(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)))
		goto out;
	err = grow((void **)&k->chains, &k->chains_cap, k->nchains, sizeof(*k->chains));
	if (err)
		goto out;
	kc = &k->chains[k->nchains];
	memset(kc, 0, sizeof(*kc));
	kc->name = xstrdup(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	if (!kc->name) {
		err = -ENOMEM;
		goto out;
	}
	k->nchains++;
	kc->base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
	if (kc->base) {
		kc->hooknum = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
		kc->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
		kc->policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE))
			snprintf(kc->type, sizeof(kc->type), "%s",
				 nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
	}
out:
	nftnl_chain_free(c);
	return err ? cb_errno(err) : MNL_CB_OK;
}

static int read_chains(struct nft_sync *ns, struct kstate *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP);

	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE);
	return nl_talk(ns, nlh, chain_cb, k);
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct kstate *k = data;
	struct kset *ks;
	int err = 0;

	if (!s)
		return cb_errno(-ENOMEM);
	if (nftnl_set_nlmsg_parse(nlh, s) < 0 ||
	    !in_our_table(nftnl_set_get_str(s, NFTNL_SET_TABLE)))
		goto out;
	/* anonymous sets belong to their rule and go with it */
	if (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS)
		goto out;
	err = grow((void **)&k->sets, &k->sets_cap, k->nsets, sizeof(*k->sets));
	if (err)
		goto out;
	ks = &k->sets[k->nsets];
	memset(ks, 0, sizeof(*ks));
	ks->name = xstrdup(nftnl_set_get_str(s, NFTNL_SET_NAME));
	if (!ks->name) {
		err = -ENOMEM;
		goto out;
	}
	k->nsets++;
	ks->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	ks->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	ks->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
out:
	nftnl_set_free(s);
	return err ? cb_errno(err) : MNL_CB_OK;
}

static int read_sets(struct nft_sync *ns, struct kstate *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP);

	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NFT_TABLE);
	return nl_talk(ns, nlh, set_cb, k);
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kset *ks = data;
	int err = nft_elems_msg_parse(nlh, &ks->el, &ks->nel, &ks->cap);

	return err ? cb_errno(err) : MNL_CB_OK;
}

static int read_elems(struct nft_sync *ns, struct kset *ks)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP);
	int err;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, ks->name);
	err = nl_talk(ns, nlh, elems_cb, ks);
	if (err)
		return err;
	if (ks->nel)
		qsort(ks->el, ks->nel, sizeof(*ks->el), nft_elem_cmp);
	ks->dumped = true;
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct kstate *k = data;
	char *canon = NULL;
	int err = 0;

	if (!r)
		return cb_errno(-ENOMEM);
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    !in_our_table(nftnl_rule_get_str(r, NFTNL_RULE_TABLE)) ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_CHAIN) ||
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), NFT_CHAIN))
		goto out;
	canon = nft_rule_canon(r);
	err = canon ? grow((void **)&k->rules, &k->rules_cap, k->nrules, sizeof(*k->rules))
		    : -ENOMEM;
	if (!err) {
		k->rules[k->nrules++] = canon;
		canon = NULL;
	}
out:
	free(canon);
	nftnl_rule_free(r);
	return err ? cb_errno(err) : MNL_CB_OK;
}

static int read_rules(struct nft_sync *ns, struct kstate *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = request(ns, buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP);

	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, NFT_CHAIN);
	return nl_talk(ns, nlh, rule_cb, k);
}

static struct kchain *kstate_chain(struct kstate *k, const char *name)
{
	for (size_t i = 0; i < k->nchains; i++)
		if (!strcmp(k->chains[i].name, name))
			return &k->chains[i];
	return NULL;
}

static struct kset *kstate_set(struct kstate *k, const char *name)
{
	for (size_t i = 0; i < k->nsets; i++)
		if (!strcmp(k->sets[i].name, name))
			return &k->sets[i];
	return NULL;
}

/* A set of that name we can keep: interval addresses of the family, nothing else. */
static bool kset_fits(const struct kset *ks, const struct nft_set_spec *s)
{
	bool v4 = s->family == VMG_FAMILY_V4;

	return ks->flags == NFT_SET_INTERVAL &&
	       ks->key_type == (v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR) &&
	       ks->key_len == (uint32_t)addr_bytes(s->family);
}

/* A hook, type or priority cannot be changed: such a chain is made again. */
static bool kchain_fits(const struct kchain *kc)
{
	return kc->base && kc->hooknum == NF_INET_FORWARD && kc->prio == 0 &&
	       !strcmp(kc->type, "filter");
}

/*
 * Limitation: the kernel walks a set from its first element for every part
 * of a dump, so reading a set of 10^5 intervals takes it about half a
 * second. The generation cache spares this read but after a commit.
 */
static int kstate_read(struct nft_sync *ns, const struct nft_desired *d, struct kstate *k)
{
	int err;

	err = read_table(ns, k);
	if (err || !k->table)
		return err;
	err = read_chains(ns, k) ?: read_sets(ns, k);
	if (err)
		return err;
	for (size_t i = 0; i < d->nsets; i++) {
		struct kset *ks = kstate_set(k, d->sets[i].name);

		if (ks && kset_fits(ks, &d->sets[i])) {
			err = read_elems(ns, ks);
			if (err)
				return err;
		}
	}
	if (kstate_chain(k, NFT_CHAIN))
		err = read_rules(ns, k);
	return err;
}

/* Part 5: the difference, as one transaction. */

struct plan {
	size_t added, removed, rules;
};

static int plan_table(struct batch *b, const struct kstate *k)
{
	struct nftnl_udata_buf *ud = NULL;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (k->table && !(k->table_flags & NFT_TABLE_F_DORMANT)) {
		err = 0;
		goto out;
	}
	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE))
		goto out;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	/* a dormant table is woken up: someone set it aside */
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	if (!k->table) {
		ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAX);
		if (!ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT,
						 NFT_TABLE_COMMENT) ||
		    nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
					 nftnl_udata_buf_len(ud)))
			goto out;
	}
	nlh = batch_msg(b, NFT_MSG_NEWTABLE,
			NLM_F_CREATE | (k->table ? 0 : NLM_F_EXCL), "table inet", NFT_TABLE);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_put(b, nlh);
	err = 0;
out:
	if (ud)
		nftnl_udata_buf_free(ud);
	if (t)
		nftnl_table_free(t);
	return err;
}

/* DELRULE without a handle flushes the chain; DELCHAIN removes it. */
static int plan_chain_op(struct batch *b, uint16_t type, const char *name, bool base,
			 bool update_policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = NULL;
	struct nlmsghdr *nlh;
	uint16_t flags = type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0;
	int err = -ENOMEM;

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE) ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name))
		goto out;
	if (base) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter"))
			goto out;
		flags |= NLM_F_EXCL;
	}
	if (base || update_policy)
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	if (type == NFT_MSG_DELRULE) {
		r = nftnl_rule_alloc();
		if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE) ||
		    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name))
			goto out;
	}
	nlh = batch_msg(b, type, flags, "chain", name);
	if (!nlh)
		goto out;
	if (r)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	else
		nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_put(b, nlh);
	err = 0;
out:
	if (r)
		nftnl_rule_free(r);
	if (c)
		nftnl_chain_free(c);
	return err;
}

static int plan_set_op(struct batch *b, uint16_t type, const char *name,
		       const struct nft_set_spec *s)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_udata_buf *ud = NULL;
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!set || nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_TABLE) ||
	    nftnl_set_set_str(set, NFTNL_SET_NAME, name))
		goto out;
	if (s) {
		bool v4 = s->family == VMG_FAMILY_V4;

		nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
		nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, (uint32_t)addr_bytes(s->family));
		nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
		nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)++b->set_id);
		/* nft reads the key's byte order from here when it lists the set */
		ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAX);
		if (!ud || !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER,
						NFT_BYTEORDER_BIG) ||
		    nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
				       nftnl_udata_buf_len(ud)))
			goto out;
	}
	nlh = batch_msg(b, type, s ? NLM_F_CREATE | NLM_F_EXCL : 0, "set", name);
	if (!nlh)
		goto out;
	nftnl_set_nlmsg_build_payload(nlh, set);
	batch_put(b, nlh);
	err = 0;
out:
	if (ud)
		nftnl_udata_buf_free(ud);
	if (set)
		nftnl_set_free(set);
	return err;
}

static int plan_elems(struct batch *b, uint16_t type, const struct nft_set_spec *s,
		      const struct nft_elem *el, size_t n)
{
	uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0;

	for (size_t i = 0; i < n; i += NFT_ELEMS_PER_MSG) {
		size_t cnt = n - i < NFT_ELEMS_PER_MSG ? n - i : NFT_ELEMS_PER_MSG;
		struct nlmsghdr *nlh = batch_msg(b, type, flags, "set", s->name);

		if (!nlh)
			return -ENOMEM;
		nft_elems_msg_put(nlh, s->name, el + i, cnt, addr_bytes(s->family));
		batch_put(b, nlh);
	}
	return 0;
}

/* An interval as the kernel holds it: either element may be missing. */
struct elem_pair {
	struct nft_elem start, end;
	bool has_start, has_end;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct elem_pair *x = a, *y = b;
	int c;

	if (x->has_start != y->has_start)
		return (int)x->has_start - (int)y->has_start;
	c = x->has_start ? memcmp(x->start.key, y->start.key, sizeof(x->start.key)) : 0;
	if (c || x->has_end != y->has_end)
		return c ? c : (int)x->has_end - (int)y->has_end;
	return x->has_end ? memcmp(x->end.key, y->end.key, sizeof(x->end.key)) : 0;
}

/*
 * Pairs elements sorted by nft_elem_cmp into intervals: a start with the end
 * that follows it. An end with no start (nft puts one at 0.0.0.0) and a
 * start with no end (an interval to the last address) stand alone.
 */
static struct elem_pair *pairs_of(const struct nft_elem *el, size_t n, size_t *npairs)
{
	struct elem_pair *p = calloc(n + 1, sizeof(*p));
	size_t k = 0;

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool open = k && p[k - 1].has_start && !p[k - 1].has_end;

		if (el[i].end && open) {
			p[k - 1].end = el[i];
			p[k - 1].has_end = true;
		} else if (el[i].end) {
			p[k++] = (struct elem_pair){ .end = el[i], .has_end = true };
		} else {
			p[k++] = (struct elem_pair){ .start = el[i], .has_start = true };
		}
	}
	qsort(p, k, sizeof(*p), pair_cmp);
	*npairs = k;
	return p;
}

/* The elements of the intervals of a that b lacks, into out. */
static size_t pairs_minus(const struct elem_pair *a, size_t na, const struct elem_pair *b,
			  size_t nb, struct nft_elem *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na) {
		int c = j < nb ? pair_cmp(&a[i], &b[j]) : -1;

		if (c > 0) {
			j++;
			continue;
		}
		if (c == 0) {
			i++, j++;
			continue;
		}
		if (a[i].has_start)
			out[k++] = a[i].start;
		if (a[i].has_end)
			out[k++] = a[i].end;
		i++;
	}
	qsort(out, k, sizeof(*out), nft_elem_cmp);
	return k;
}

/*
 * del: the elements of the kernel's intervals that are not wanted; else
 * those of the wanted intervals the kernel lacks (all, for ks NULL). Whole
 * intervals go and come: the kernel checks each element it adds against
 * the intervals in force, and an end left without its start overlaps them.
 */
static int plan_set_diff(struct batch *b, const struct nft_set_spec *s, const struct kset *ks,
			 bool del, struct plan *p)
{
	struct elem_pair *want = NULL, *have = NULL;
	size_t nwant = 0, nhave = 0, nel, ndiff;
	struct nft_elem *el, *diff = NULL;
	int err = -ENOMEM;

	if (nft_set_elems(s, &el, &nel))
		return -ENOMEM;
	want = pairs_of(el, nel, &nwant);
	have = pairs_of(ks ? ks->el : NULL, ks ? ks->nel : 0, &nhave);
	if (want && have)
		diff = calloc(2 * (del ? nhave : nwant) + 1, sizeof(*diff));
	if (!diff)
		goto out;
	if (del)
		ndiff = pairs_minus(have, nhave, want, nwant, diff);
	else
		ndiff = pairs_minus(want, nwant, have, nhave, diff);
	err = plan_elems(b, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, s, diff, ndiff);
	if (del)
		p->removed += ndiff;
	else
		p->added += ndiff;
out:
	free(diff);
	free(have);
	free(want);
	free(el);
	return err;
}

static bool rules_differ(const struct nft_desired *d, const struct kstate *k, int *err)
{
	bool differ = k->nrules != d->nrules;

	*err = 0;
	for (size_t i = 0; i < d->nrules && !differ; i++) {
		struct nftnl_rule *r = nft_rule_build(&d->rules[i]);
		char *canon = r ? nft_rule_canon(r) : NULL;

		if (!canon)
			*err = -ENOMEM;
		differ = !canon || strcmp(canon, k->rules[i]);
		if (differ && canon)
			pr_debug("nftables rule %zu differs:\n  kernel: %s\n  wanted: %s\n", i + 1,
				 k->rules[i], canon);
		free(canon);
		if (r)
			nftnl_rule_free(r);
	}
	return differ;
}

static int plan_rules(struct batch *b, const struct nft_desired *d, struct plan *p)
{
	char text[512];

	for (size_t i = 0; i < d->nrules; i++) {
		struct nftnl_rule *r = nft_rule_build(&d->rules[i]);
		struct nlmsghdr *nlh;

		if (!r)
			return -ENOMEM;
		snprintf(text, sizeof(text), "%s rule %zu", NFT_CHAIN, i + 1);
		nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "chain", text);
		if (!nlh) {
			nftnl_rule_free(r);
			return -ENOMEM;
		}
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_put(b, nlh);
		nftnl_rule_free(r);
		pr_debug("nftables rule %zu: %s\n", i + 1,
			 nft_rule_str(&d->rules[i], text, sizeof(text)));
	}
	p->rules = d->nrules;
	return 0;
}

/*
 * The order keeps every step valid: rules go before the sets and chains they
 * name, deletions before additions, sets before their elements, the chain
 * and its rules last.
 *
 * Limitation: named stateful objects (counters, quotas, ...) and flowtables
 * added to the table by hand are left there; with the chains that could use
 * them removed, they do nothing.
 */
static int plan(struct batch *b, const struct nft_desired *d,
		struct kstate *k, struct plan *p)
{
	struct kchain *fwd = kstate_chain(k, NFT_CHAIN);
	bool chain_ok = fwd && kchain_fits(fwd), replace, recreate_set = false;
	int err = 0;

	for (size_t i = 0; i < d->nsets; i++) {
		struct kset *ks = kstate_set(k, d->sets[i].name);

		recreate_set |= ks && !kset_fits(ks, &d->sets[i]);
	}
	replace = !chain_ok || recreate_set || rules_differ(d, k, &err);
	if (err)
		return err;
	err = plan_table(b, k);
	if (!err && fwd && chain_ok && replace && k->nrules)
		err = plan_chain_op(b, NFT_MSG_DELRULE, NFT_CHAIN, false, false);
	for (size_t i = 0; i < k->nchains && !err; i++)
		if (strcmp(k->chains[i].name, NFT_CHAIN))
			err = plan_chain_op(b, NFT_MSG_DELRULE, k->chains[i].name, false, false);
	for (size_t i = 0; i < k->nchains && !err; i++)
		if (strcmp(k->chains[i].name, NFT_CHAIN) || !chain_ok)
			err = plan_chain_op(b, NFT_MSG_DELCHAIN, k->chains[i].name, false, false);
	for (size_t i = 0; i < k->nsets && !err; i++) {
		const struct nft_set_spec *s = nft_desired_find_set(d, k->sets[i].name);

		if (!s || !kset_fits(&k->sets[i], s))
			err = plan_set_op(b, NFT_MSG_DELSET, k->sets[i].name, NULL);
	}
	for (size_t i = 0; i < d->nsets && !err; i++) {
		struct kset *ks = kstate_set(k, d->sets[i].name);

		if (ks && ks->dumped)
			err = plan_set_diff(b, &d->sets[i], ks, true, p);
	}
	for (size_t i = 0; i < d->nsets && !err; i++) {
		struct kset *ks = kstate_set(k, d->sets[i].name);

		if (!ks || !ks->dumped)
			err = plan_set_op(b, NFT_MSG_NEWSET, d->sets[i].name, &d->sets[i]) ?:
			      plan_set_diff(b, &d->sets[i], NULL, false, p);
		else
			err = plan_set_diff(b, &d->sets[i], ks, false, p);
	}
	if (!err && !chain_ok)
		err = plan_chain_op(b, NFT_MSG_NEWCHAIN, NFT_CHAIN, true, false);
	else if (!err && fwd->policy != NF_ACCEPT)
		err = plan_chain_op(b, NFT_MSG_NEWCHAIN, NFT_CHAIN, false, true);
	if (!err && replace)
		err = plan_rules(b, d, p);
	return err;
}

/* The kernel's table as it is after a sync to d: what the cache stands for. */
static int kstate_from(const struct nft_desired *d, struct kstate *k)
{
	int err;

	k->table = true;
	k->chains = calloc(1, sizeof(*k->chains));
	k->sets = calloc(d->nsets + 1, sizeof(*k->sets));
	k->rules = calloc(d->nrules + 1, sizeof(*k->rules));
	if (!k->chains || !k->sets || !k->rules)
		return -ENOMEM;
	k->chains[0] = (struct kchain){ .name = strdup(NFT_CHAIN), .base = true,
					.hooknum = NF_INET_FORWARD, .policy = NF_ACCEPT,
					.type = "filter" };
	k->nchains = 1;
	if (!k->chains[0].name)
		return -ENOMEM;
	for (size_t i = 0; i < d->nsets; i++) {
		const struct nft_set_spec *s = &d->sets[i];
		struct kset *ks = &k->sets[k->nsets++];

		ks->name = strdup(s->name);
		ks->flags = NFT_SET_INTERVAL;
		ks->key_type = s->family == VMG_FAMILY_V4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
		ks->key_len = (uint32_t)addr_bytes(s->family);
		ks->dumped = true;
		err = ks->name ? nft_set_elems(s, &ks->el, &ks->nel) : -ENOMEM;
		if (err)
			return err;
	}
	for (size_t i = 0; i < d->nrules; i++) {
		struct nftnl_rule *r = nft_rule_build(&d->rules[i]);

		k->rules[i] = r ? nft_rule_canon(r) : NULL;
		if (r)
			nftnl_rule_free(r);
		if (!k->rules[i])
			return -ENOMEM;
		k->nrules++;
	}
	return 0;
}

/*
 * The kernel's table: the cache when nothing was committed since our last
 * sync (the generation is the one we left), otherwise read by dumps, which
 * must all see one generation.
 */
static int kstate_get(struct nft_sync *ns, const struct nft_desired *d, bool use_cache,
		      uint32_t genid, struct kstate *k)
{
	uint32_t again;
	int err;

	if (use_cache && ns->known && genid == ns->known_genid)
		return kstate_from(&ns->last, k);
	ns->known = false;
	err = kstate_read(ns, d, k) ?: read_genid(ns, &again);
	if (!err && again != genid)
		err = -ERESTART;
	if (err && err != -EINTR && err != -ERESTART)
		pr_err("failed to read nftables table inet %s: %s\n", NFT_TABLE, strerror(-err));
	return err;
}

/* After a commit: the cache holds if ours was the only one. */
static void note_commit(struct nft_sync *ns, uint32_t genid, const struct plan *p)
{
	uint32_t after;

	ns->stats.batches++;
	ns->stats.elements_added += p->added;
	ns->stats.elements_removed += p->removed;
	ns->stats.rules_replaced += p->rules;
	pr_info("nftables table inet %s synced: %zu elements added, %zu removed, "
		"%zu rules replaced\n", NFT_TABLE, p->added, p->removed, p->rules);
	ns->known = !read_genid(ns, &after) && after == genid + 1;
	ns->known_genid = after;
}

/*
 * One read, plan and send. -EINTR or -ERESTART: the ruleset moved under us.
 * *changed: there was a difference (and unless dry_run, it was sent).
 */
static int sync_once(struct nft_sync *ns, const struct nft_desired *d, bool dry_run,
		     bool use_cache, bool *changed)
{
	struct kstate k = { 0 };
	struct batch b = { 0 };
	struct plan p = { 0 };
	uint32_t genid;
	int err;

	err = read_genid(ns, &genid);
	if (err) {
		pr_err("failed to read the nftables generation: %s\n", strerror(-err));
		return err;
	}
	err = kstate_get(ns, d, use_cache, genid, &k) ?: batch_begin(&b, ns->seq + 1, genid) ?:
	      plan(&b, d, &k, &p);
	if (err)
		goto out;
	*changed = b.nmsgs > 0;
	if (!b.nmsgs) {
		ns->known = true;
		ns->known_genid = genid;
	}
	if (!b.nmsgs || dry_run)
		goto out;
	ns->seq += (uint32_t)b.nlabels + 1;
	err = batch_send(ns, &b);
	if (!err)
		note_commit(ns, genid, &p);
out:
	batch_free(&b);
	kstate_free(&k);
	return err;
}

/*
 * Brings the kernel's table to d, or with dry_run only says whether it
 * differs. *changed: whether a difference was found (and sent). The last
 * sync stands for the kernel's table while nothing was committed since;
 * otherwise, and after someone else's commit came while we were not
 * listening, the table is read.
 */
static int sync_to(struct nft_sync *ns, const struct nft_desired *d, bool dry_run,
		   bool *changed)
{
	bool use_cache = true;
	bool once;
	int err = 0;

	*changed = false;
	for (int attempt = 0; attempt < NFT_ATTEMPTS; attempt++) {
		once = false;
		err = sync_once(ns, d, dry_run, use_cache, &once);
		*changed |= once;
		if (err == -EINTR || err == -ERESTART) {
			pr_debug("nftables changed while we read it; reading again\n");
			continue;
		}
		if (err || !once || dry_run || ns->known)
			break;
		/* someone committed during our transaction: look again */
		use_cache = false;
	}
	if (err == -EINTR || err == -ERESTART)
		pr_err("failed to sync nftables table inet %s: the ruleset kept changing "
		       "while we read it\n", NFT_TABLE);
	if (err) {
		ns->known = false;
		ns->stats.errors++;
	}
	return err;
}

/* Part 6: the interface. */

static int open_events(struct nft_sync *ns)
{
	int err;

	ns->ev = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!ns->ev || mnl_socket_bind(ns->ev, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	err = sock_opt(ns->ev, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES);
	if (err)
		return err;
	/* someone else's large transaction sends one event per element */
	if (sock_opt(ns->ev, SOL_SOCKET, SO_RCVBUFFORCE, NFT_EVENT_RCVBUF))
		sock_opt(ns->ev, SOL_SOCKET, SO_RCVBUF, NFT_EVENT_RCVBUF);
	return 0;
}

int nft_sync_open(struct nft_sync **out)
{
	struct nft_sync *ns = calloc(1, sizeof(*ns));
	socklen_t len = sizeof(ns->sndbuf);
	int err;

	*out = NULL;
	if (!ns)
		return -ENOMEM;
	ns->rx = malloc(NFT_RX_SIZE);
	ns->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!ns->rx || !ns->nl || mnl_socket_bind(ns->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = ns->rx ? -errno : -ENOMEM;
		pr_err("failed to open a netfilter netlink socket: %s\n", strerror(-err));
		goto fail;
	}
	ns->portid = mnl_socket_get_portid(ns->nl);
	/* errors name the message without quoting it back */
	sock_opt(ns->nl, SOL_NETLINK, NETLINK_CAP_ACK, 1);
	sock_opt(ns->nl, SOL_NETLINK, NETLINK_EXT_ACK, 1);
	getsockopt(mnl_socket_get_fd(ns->nl), SOL_SOCKET, SO_SNDBUF, &ns->sndbuf, &len);
	err = open_events(ns);
	if (err) {
		pr_err("failed to subscribe to nftables events: %s\n", strerror(-err));
		goto fail;
	}
	ns->seq = (uint32_t)time(NULL);
	*out = ns;
	return 0;
fail:
	nft_sync_close(ns);
	return err;
}

void nft_sync_close(struct nft_sync *ns)
{
	if (!ns)
		return;
	if (ns->nl)
		mnl_socket_close(ns->nl);
	if (ns->ev)
		mnl_socket_close(ns->ev);
	nft_desired_free(&ns->last);
	free(ns->rx);
	free(ns);
}

static void remember(struct nft_sync *ns, struct nft_desired *d)
{
	nft_desired_free(&ns->last);
	ns->last = *d;
	ns->have_last = true;
	memset(d, 0, sizeof(*d));
}

int nft_sync_apply(struct nft_sync *ns, const struct ruleset *rs, bool *changed)
{
	struct nft_desired d;
	int err;

	*changed = false;
	err = nft_desired_build(rs, &d);
	if (err) {
		ns->stats.errors++;
		pr_err("failed to build the nftables state: %s\n", strerror(-err));
		return err;
	}
	err = sync_to(ns, &d, false, changed);
	if (!err)
		remember(ns, &d);
	nft_desired_free(&d);
	return err;
}

int nft_sync_adopt(struct nft_sync *ns, const struct ruleset *rs)
{
	struct nft_desired d;
	int err = nft_desired_build(rs, &d);

	if (err)
		return err;
	remember(ns, &d);
	ns->known = false;
	return 0;
}

int nft_sync_check(struct nft_sync *ns)
{
	bool differ;
	int err;

	if (!ns->have_last)
		return 0;
	err = sync_to(ns, &ns->last, true, &differ);
	return err ? err : differ;
}

int nft_sync_repair(struct nft_sync *ns)
{
	bool changed;
	int err;

	if (!ns->have_last)
		return 0;
	err = sync_to(ns, &ns->last, false, &changed);
	if (err)
		return err;
	if (!changed)
		return 0;
	ns->stats.repairs++;
	return 1;
}

int nft_sync_event_fd(const struct nft_sync *ns)
{
	return mnl_socket_get_fd(ns->ev);
}

/* Every nf_tables object message names its table in attribute 1. */
static bool event_is_foreign(const struct nft_sync *ns, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *nfg;
	const struct nlattr *a;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nfg))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != NFPROTO_INET || nlh->nlmsg_pid == ns->portid)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		if (mnl_attr_get_type(a) == NFTA_TABLE_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return !strcmp(mnl_attr_get_str(a), NFT_TABLE);
	}
	return false;
}

int nft_sync_drain_events(struct nft_sync *ns)
{
	int fd = mnl_socket_get_fd(ns->ev), foreign = 0;

	for (;;) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)ns->rx;
		ssize_t n = recv(fd, ns->rx, NFT_RX_SIZE, MSG_DONTWAIT);
		int len = (int)n;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* events were lost: someone else's may be among them */
			foreign = 1;
			continue;
		}
		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			foreign |= event_is_foreign(ns, nlh);
	}
	return foreign;
}

static int delete_once(struct nft_sync *ns)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct kstate k = { 0 };
	struct nlmsghdr *nlh;
	struct batch b = { 0 };
	uint32_t genid;
	int err = -ENOMEM;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE))
		goto out;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	err = read_genid(ns, &genid) ?: read_table(ns, &k);
	if (err || !k.table)
		goto out;
	err = batch_begin(&b, ns->seq + 1, genid);
	if (err)
		goto out;
	nlh = batch_msg(&b, NFT_MSG_DELTABLE, 0, "table inet", NFT_TABLE);
	if (!nlh) {
		err = -ENOMEM;
		goto out;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_put(&b, nlh);
	ns->seq += (uint32_t)b.nlabels + 1;
	err = batch_send(ns, &b);
	if (!err) {
		ns->stats.batches++;
		pr_info("nftables table inet %s deleted\n", NFT_TABLE);
	}
out:
	batch_free(&b);
	kstate_free(&k);
	if (t)
		nftnl_table_free(t);
	return err;
}

int nft_sync_delete_table(struct nft_sync *ns)
{
	int err = 0;

	nft_desired_free(&ns->last);
	ns->have_last = false;
	ns->known = false;
	for (int attempt = 0; attempt < NFT_ATTEMPTS; attempt++) {
		err = delete_once(ns);
		if (err != -EINTR && err != -ERESTART)
			break;
	}
	if (err) {
		ns->stats.errors++;
		pr_err("failed to delete nftables table inet %s: %s\n", NFT_TABLE, strerror(-err));
	}
	return err;
}

const struct nft_stats *nft_sync_stats(const struct nft_sync *ns)
{
	return &ns->stats;
}
