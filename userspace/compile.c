// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiler: catalog + site -> ruleset.
 *
 * 1. Effective flows: features, encryption, release-dependent ports,
 *    recording-server instances, overrides and extra flows applied.
 * 2. Rules: flows merged by (to, proto, port range); sources are unioned.
 * 3. Addresses: every address or prefix of the site with the union of the
 *    roles of every prefix that contains it, so a longest-prefix match (or
 *    an exact match) yields the complete answer in one lookup.
 * 4. Classes: distinct role sets of protected addresses.
 * 5. Port entries: (class, proto, port, direction) -> allowed source roles,
 *    forward for each rule, return for each rule not local-only.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "roles.h"
#include "util.h"

struct compiler {
	const struct catalog *cat;
	const struct site *site;
	struct ruleset *rs;
	bool quiet;
	size_t rules_cap;
	bool *override_used;
};

static void warn_at(struct compiler *c, const char *file, int line, int col,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void warn_at(struct compiler *c, const char *file, int line, int col,
		    const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	fprintf(stderr, "%s:%d:%d: warning: ", file, line, col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool role_has_hosts(const struct site *s, int role)
{
	return s->nhosts[role] > 0;
}

static uint64_t roles_with_hosts(const struct site *s, uint64_t mask)
{
	uint64_t out = 0;

	for (int r = 0; r < ROLE_COUNT; r++)
		if ((mask & ROLE_BIT(r)) && role_has_hosts(s, r))
			out |= ROLE_BIT(r);
	return out;
}

/* Appends purpose to a rule's purposes unless it is there already. */
static int rule_add_purpose(struct rule *r, const char *purpose)
{
	const char *sep;
	size_t a, b;
	char *np;

	if (!purpose || (r->purpose && strstr(r->purpose, purpose)))
		return 0;
	if (!r->purpose) {
		r->purpose = strdup(purpose);
		return r->purpose ? 0 : -ENOMEM;
	}
	/* sentences join with a space, fragments with a semicolon */
	sep = r->purpose[strlen(r->purpose) - 1] == '.' ? " " : "; ";
	a = strlen(r->purpose);
	b = strlen(sep) + strlen(purpose);
	np = realloc(r->purpose, a + b + 1);
	if (!np)
		return -ENOMEM;
	snprintf(np + a, b + 1, "%s%s", sep, purpose);
	r->purpose = np;
	return 0;
}

static int add_rule(struct compiler *c, const struct flow *f, uint16_t port,
		    uint16_t port_end, bool extra)
{
	struct ruleset *rs = c->rs;
	struct rule *r;
	int err;

	for (size_t i = 0; i < rs->nrules; i++) {
		r = &rs->rules[i];
		if (r->to == f->to && r->proto == f->proto && r->port == port &&
		    r->port_end == port_end) {
			r->from |= f->from;
			r->local_only |= f->local_only;
			r->extra &= extra;
			return rule_add_purpose(r, f->purpose);
		}
	}
	if (rs->nrules >= VMG_MAX_RULES) {
		fprintf(stderr, "%s: error: more than %d rules\n", c->site->path, VMG_MAX_RULES);
		return -E2BIG;
	}
	err = grow((void **)&rs->rules, &c->rules_cap, rs->nrules, sizeof(*rs->rules));
	if (err)
		return err;
	r = &rs->rules[rs->nrules];
	*r = (struct rule){
		.id = (uint32_t)rs->nrules,
		.to = f->to,
		.from = f->from,
		.proto = f->proto,
		.port = port,
		.port_end = port_end,
		.local_only = f->local_only,
		.extra = extra,
		.service = xstrdup(f->service),
	};
	rs->nrules++;
	return rule_add_purpose(r, f->purpose);
}

static bool flow_enabled(const struct site *s, const struct flow *f)
{
	if (f->feature >= 0 && !s->features[f->feature])
		return false;
	if (f->scheme == SCHEME_HTTP && s->encryption == ENCRYPTION_ON)
		return false;
	if (f->scheme == SCHEME_HTTPS && s->encryption == ENCRYPTION_OFF)
		return false;
	return true;
}

/* Says so once when a flow can never match for want of hosts. */
static bool flow_closed(struct compiler *c, const struct flow *f, const char *file, int line,
			int col)
{
	const struct site *s = c->site;
	const char *proto = f->proto == IPPROTO_UDP ? "udp" : "tcp";

	if (!role_has_hosts(s, f->to)) {
		c->rs->nclosed++;
		warn_at(c, file, line, col, "flow to %s %u/%s closed: role %s has no hosts",
			role_name(f->to), f->port, proto, role_name(f->to));
		return true;
	}
	if (!f->local_only && !roles_with_hosts(s, f->from)) {
		char from[512];

		c->rs->nclosed++;
		warn_at(c, file, line, col, "flow to %s %u/%s closed: no hosts for %s",
			role_name(f->to), f->port, proto,
			role_mask_str(f->from, from, sizeof(from)));
		return true;
	}
	return false;
}

static int apply_overrides(struct compiler *c, const struct flow *f, uint16_t *port,
			   uint16_t *port_end)
{
	const struct site *s = c->site;

	for (size_t i = 0; i < s->noverrides; i++) {
		const struct override *o = &s->overrides[i];

		if (o->role != f->to || o->port != *port)
			continue;
		if ((int)o->new_port + (*port_end - *port) > 65535) {
			fprintf(stderr, "%s:%d:%d: error: overrides: new_port %u leaves no room "
				"for %u instance ports\n", s->path, o->pos.line, o->pos.col,
				o->new_port, *port_end - *port + 1);
			return -EINVAL;
		}
		if (!f->configurable && !c->override_used[i])
			warn_at(c, s->path, o->pos.line, o->pos.col, "overrides: the vendor does "
				"not list %s port %u as configurable; make sure the service "
				"really listens on %u", role_name(o->role), o->port, o->new_port);
		*port_end = (uint16_t)(o->new_port + (*port_end - *port));
		*port = o->new_port;
		c->override_used[i] = true;
		return 0;
	}
	return 0;
}

static int compile_catalog_flow(struct compiler *c, const struct flow *f)
{
	const struct site *s = c->site;
	uint16_t port, port_end;
	int err;

	if (!flow_enabled(s, f))
		return 0;
	port = flow_port_for_version(f, s->version_ordinal);
	port_end = f->port_end == f->port ? port : f->port_end;
	if (f->per_instance)
		port_end = (uint16_t)(port + s->rs_instances - 1);
	err = apply_overrides(c, f, &port, &port_end);
	if (err)
		return err;
	if (flow_closed(c, f, c->cat->path, f->line, 5))
		return 0;
	return add_rule(c, f, port, port_end, false);
}

static int compile_flows(struct compiler *c)
{
	const struct site *s = c->site;
	int err;

	c->override_used = calloc(s->noverrides + 1, sizeof(bool));
	if (!c->override_used)
		return -ENOMEM;
	for (size_t i = 0; i < c->cat->nflows; i++) {
		err = compile_catalog_flow(c, &c->cat->flows[i]);
		if (err)
			return err;
	}
	for (size_t i = 0; i < s->noverrides; i++) {
		const struct override *o = &s->overrides[i];

		if (c->override_used[i])
			continue;
		fprintf(stderr, "%s:%d:%d: error: overrides: role %s has no catalog port %u "
			"in force on this site\n", s->path, o->pos.line, o->pos.col,
			role_name(o->role), o->port);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->nextra; i++) {
		const struct extra_flow *e = &s->extra[i];

		if (flow_closed(c, &e->flow, s->path, e->pos.line, e->pos.col))
			continue;
		err = add_rule(c, &e->flow, e->flow.port, e->flow.port_end, true);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Address table entries before merging: direct holds the roles written for
 * the entry; roles those of every entry containing it (what it is as a
 * source); dst_roles the same without zero-length prefixes (what it is as
 * a destination: `any` names sources only).
 */
struct addr_ent {
	struct prefix pfx;
	uint64_t direct;
	uint64_t roles;
	uint64_t dst_roles;
};

static int prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	if (a->family != b->family)
		return a->family - b->family;
	if (a->len != b->len)
		return a->len - b->len;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int addr_ent_cmp(const void *a, const void *b)
{
	return prefix_cmp(&((const struct addr_ent *)a)->pfx, &((const struct addr_ent *)b)->pfx);
}

static void prefix_truncate(struct prefix *p, uint8_t len)
{
	int bytes = p->family == VMG_FAMILY_V4 ? 4 : 16;

	p->len = len;
	for (int i = 0; i < bytes; i++) {
		int keep = len - i * 8;

		p->addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

/* Collects, sorts and deduplicates every address of the site. */
static int collect_addrs(const struct site *s, struct addr_ent **out, size_t *n)
{
	struct addr_ent *ents = NULL;
	size_t cap = 0, cnt = 0, w = 0;
	int err;

	for (int r = 0; r < ROLE_COUNT; r++) {
		for (size_t i = 0; i < s->nhosts[r]; i++) {
			err = grow((void **)&ents, &cap, cnt, sizeof(*ents));
			if (err) {
				free(ents);
				return err;
			}
			ents[cnt++] = (struct addr_ent){ .pfx = s->hosts[r][i].pfx,
							 .direct = ROLE_BIT(r) };
		}
	}
	if (cnt)
		qsort(ents, cnt, sizeof(*ents), addr_ent_cmp);
	for (size_t i = 0; i < cnt; i++) {
		if (w && !prefix_cmp(&ents[w - 1].pfx, &ents[i].pfx)) {
			ents[w - 1].direct |= ents[i].direct;
			continue;
		}
		ents[w++] = ents[i];
	}
	*out = ents;
	*n = w;
	return 0;
}

/* Gives every entry the roles of all entries that contain it. */
static void merge_containing(struct addr_ent *ents, size_t n)
{
	bool lens[2][129] = { { false } };

	for (size_t i = 0; i < n; i++)
		lens[ents[i].pfx.family == VMG_FAMILY_V6][ents[i].pfx.len] = true;
	for (size_t i = 0; i < n; i++) {
		struct addr_ent *e = &ents[i];
		int fam = e->pfx.family == VMG_FAMILY_V6;

		e->roles = e->direct;
		e->dst_roles = e->pfx.len ? e->direct : 0;
		for (int len = 0; len < e->pfx.len; len++) {
			struct addr_ent key, *hit;

			if (!lens[fam][len])
				continue;
			key.pfx = e->pfx;
			prefix_truncate(&key.pfx, (uint8_t)len);
			hit = bsearch(&key, ents, n, sizeof(*ents), addr_ent_cmp);
			if (!hit)
				continue;
			e->roles |= hit->direct;
			if (len)
				e->dst_roles |= hit->direct;
		}
	}
}

static int lowest_role(uint64_t mask)
{
	return mask ? __builtin_ctzll(mask) : 0;
}

static int class_of(struct ruleset *rs, uint64_t roles, bool source_only, size_t *cap)
{
	size_t bcap = *cap;
	int err;

	for (size_t i = 1; i < rs->nclasses; i++)
		if (rs->classes[i] == roles && rs->class_source_only[i] == source_only)
			return (int)i;
	if (rs->nclasses > UINT16_MAX)
		return -E2BIG;
	err = grow((void **)&rs->class_source_only, &bcap, rs->nclasses, sizeof(bool)) ?:
	      grow((void **)&rs->classes, cap, rs->nclasses, sizeof(*rs->classes));
	if (err)
		return err;
	rs->classes[rs->nclasses] = roles;
	rs->class_source_only[rs->nclasses] = source_only;
	return (int)rs->nclasses++;
}

/*
 * A zero-length prefix (`any`, 0.0.0.0/0, ::/0) describes sources only: it
 * gives every address its roles as a source, but no address becomes a
 * destination of that role's flows, and it protects nothing, or
 * unlisted_destinations would never apply. Its own class holds only the
 * return entries, so replies reach such sources under
 * unlisted_destinations: drop.
 */
static int build_hosts(struct compiler *c)
{
	struct ruleset *rs = c->rs;
	struct addr_ent *ents;
	size_t n, hcap = 0, pcap = 0, ccap = 0;
	int err;

	err = collect_addrs(c->site, &ents, &n);
	if (err)
		return err;
	merge_containing(ents, n);
	rs->nclasses = 0;
	err = class_of(rs, 0, false, &ccap);	/* class 0: not protected */
	if (err < 0)
		goto out;
	err = 0;
	for (size_t i = 0; i < n; i++) {
		struct addr_ent *e = &ents[i];
		int full = e->pfx.family == VMG_FAMILY_V4 ? 32 : 128;
		struct host_entry he = { .pfx = e->pfx };
		struct host_entry **arr = e->pfx.len == full ? &rs->hosts : &rs->prefixes;
		size_t *cnt = e->pfx.len == full ? &rs->nhosts : &rs->nprefixes;
		size_t *cap = e->pfx.len == full ? &hcap : &pcap;
		int cls;

		he.val.roles = e->roles;
		he.val.role = (uint8_t)lowest_role(e->direct);
		he.val.protected_ = e->pfx.len > 0;
		cls = he.val.protected_ ? class_of(rs, e->dst_roles, false, &ccap) :
					  class_of(rs, e->roles, true, &ccap);
		if (cls < 0) {
			err = cls;
			goto out;
		}
		he.val.class_id = (uint16_t)cls;
		err = grow((void **)arr, cap, *cnt, sizeof(**arr));
		if (err)
			goto out;
		(*arr)[(*cnt)++] = he;
		if (e->pfx.family == VMG_FAMILY_V4 && e->pfx.len < full)
			rs->config.has_prefix_v4 = 1;
		if (e->pfx.family == VMG_FAMILY_V6 && e->pfx.len < full)
			rs->config.has_prefix_v6 = 1;
	}
out:
	free(ents);
	return err;
}

static int port_key_cmp(const void *a, const void *b)
{
	const struct vmg_port_key *x = &((const struct port_entry *)a)->key;
	const struct vmg_port_key *y = &((const struct port_entry *)b)->key;

	if (x->class_id != y->class_id)
		return x->class_id - y->class_id;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->dir != y->dir)
		return x->dir - y->dir;
	return x->port - y->port;
}

static int emit_ports(struct ruleset *rs, size_t *cap, const struct rule *r, uint16_t cls,
		      uint8_t dir, uint64_t src_roles)
{
	for (uint32_t p = r->port; p <= r->port_end; p++) {
		struct port_entry *pe;
		int err = grow((void **)&rs->ports, cap, rs->nports, sizeof(*rs->ports));

		if (err)
			return err;
		pe = &rs->ports[rs->nports++];
		memset(pe, 0, sizeof(*pe));
		pe->key.class_id = cls;
		pe->key.port = (uint16_t)p;
		pe->key.proto = r->proto;
		pe->key.dir = dir;
		pe->val.src_roles = src_roles;
		pe->val.rule_id = r->id;
		pe->val.flags = dir == VMG_DIR_FORWARD && r->local_only ? VMG_PF_LOCAL_ONLY : 0;
	}
	return 0;
}

/* Entries of one key from several rules: sources and flags are unioned. */
static void merge_ports(struct ruleset *rs)
{
	size_t w = 0;

	if (!rs->nports)
		return;
	qsort(rs->ports, rs->nports, sizeof(*rs->ports), port_key_cmp);
	for (size_t i = 0; i < rs->nports; i++) {
		struct port_entry *pe = &rs->ports[i];

		if (w && !port_key_cmp(&rs->ports[w - 1], pe)) {
			struct vmg_port_val *v = &rs->ports[w - 1].val;

			v->src_roles |= pe->val.src_roles;
			v->flags |= pe->val.flags;
			if (pe->val.rule_id < v->rule_id)
				v->rule_id = pe->val.rule_id;
			continue;
		}
		rs->ports[w++] = *pe;
	}
	rs->nports = w;
}

static int build_ports(struct compiler *c)
{
	struct ruleset *rs = c->rs;
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		for (size_t cls = 1; cls < rs->nclasses; cls++) {
			uint64_t roles = rs->classes[cls];

			if ((roles & ROLE_BIT(r->to)) && !rs->class_source_only[cls]) {
				err = emit_ports(rs, &cap, r, (uint16_t)cls, VMG_DIR_FORWARD,
						 r->from);
				if (err)
					return err;
			}
			if (roles & r->from) {
				err = emit_ports(rs, &cap, r, (uint16_t)cls, VMG_DIR_RETURN,
						 ROLE_BIT(r->to));
				if (err)
					return err;
			}
		}
	}
	merge_ports(rs);
	return 0;
}

static int copy_site_lists(struct compiler *c)
{
	const struct site *s = c->site;
	struct ruleset *rs = c->rs;

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!s->nhosts[r])
			continue;
		rs->role_addrs[r] = calloc(s->nhosts[r], sizeof(struct prefix));
		if (!rs->role_addrs[r])
			return -ENOMEM;
		for (size_t i = 0; i < s->nhosts[r]; i++)
			rs->role_addrs[r][i] = s->hosts[r][i].pfx;
		rs->role_naddrs[r] = s->nhosts[r];
	}
	if (!s->ninterfaces)
		return 0;
	rs->interfaces = calloc(s->ninterfaces, sizeof(char *));
	if (!rs->interfaces)
		return -ENOMEM;
	for (size_t i = 0; i < s->ninterfaces; i++) {
		rs->interfaces[i] = strdup(s->interfaces[i]);
		if (!rs->interfaces[i])
			return -ENOMEM;
		rs->ninterfaces++;
	}
	return 0;
}

int compile(const struct catalog *cat, const struct site *site, struct ruleset *rs,
	    bool quiet)
{
	struct compiler c = { .cat = cat, .site = site, .rs = rs, .quiet = quiet };
	int err;

	memset(rs, 0, sizeof(*rs));
	rs->config = (struct vmg_config){
		.abi_version = VMG_ABI_VERSION,
		.mode = site->mode,
		.unlisted_drop = site->unlisted_drop,
		.icmp = site->icmp,
		.unknown_frag_drop = site->unknown_frag_drop,
		.conntrack = 1,
	};
	err = compile_flows(&c);
	if (!err)
		err = build_hosts(&c);
	if (!err)
		err = build_ports(&c);
	if (!err)
		err = copy_site_lists(&c);
	free(c.override_used);
	if (err)
		ruleset_free(rs);
	return err;
}

void ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].service);
		free(rs->rules[i].purpose);
	}
	free(rs->rules);
	free(rs->hosts);
	free(rs->prefixes);
	free(rs->ports);
	free(rs->classes);
	free(rs->class_source_only);
	for (int r = 0; r < VMG_MAX_ROLES; r++)
		free(rs->role_addrs[r]);
	for (size_t i = 0; i < rs->ninterfaces; i++)
		free(rs->interfaces[i]);
	free(rs->interfaces);
	memset(rs, 0, sizeof(*rs));
}

static int compile_site(struct site *site, struct ruleset *rs, bool quiet)
{
	struct catalog cat;
	char path[PATH_MAX];
	int err;

	err = catalog_resolve(site->catalog, site->path, path, sizeof(path));
	if (err) {
		fprintf(stderr, "%s: error: catalog '%s' not found; install it or set "
			"VMSGATE_CATALOG_DIR\n", site->path, site->catalog);
		return err;
	}
	err = catalog_load(path, &cat);
	if (err)
		return err;
	err = compile(&cat, site, rs, quiet);
	catalog_free(&cat);
	return err;
}

int compile_file(const char *site_path, struct ruleset *rs, bool quiet)
{
	struct site site;
	int err;

	memset(rs, 0, sizeof(*rs));
	err = site_load(site_path, &site, quiet);
	if (err)
		return err;
	err = compile_site(&site, rs, quiet);
	site_free(&site);
	return err;
}

int compile_string(const char *yaml, const char *name, struct ruleset *rs, bool quiet)
{
	struct site site;
	int err;

	memset(rs, 0, sizeof(*rs));
	err = site_load_string(yaml, strlen(yaml), name, &site, quiet);
	if (err)
		return err;
	err = compile_site(&site, rs, quiet);
	site_free(&site);
	return err;
}
