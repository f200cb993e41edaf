// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site.h"
#include "util.h"
#include "yamlx.h"

#define MAX_RS_INSTANCES 99	/* 9001..9099 */

static const char *const site_keys[] = {
	"catalog", "xprotect_version", "interfaces", "mode", "unlisted_destinations",
	"encryption", "recording_server_instances", "features", "icmp",
	"unknown_fragments", "hosts", "overrides", "extra", NULL,
};

static void mask_host_bits(struct prefix *p, bool *cleared)
{
	int bytes = p->family == VMG_FAMILY_V4 ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int keep = p->len - i * 8;
		uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if (p->addr[i] & ~m)
			*cleared = true;
		p->addr[i] &= m;
	}
}

int prefix_parse(const char *s, struct prefix *p, bool *host_bits_cleared)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(p, 0, sizeof(*p));
	*host_bits_cleared = false;
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = VMG_FAMILY_V4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = VMG_FAMILY_V6;
		max = 128;
	} else {
		return -EINVAL;
	}
	p->len = (uint8_t)max;
	if (slash) {
		char *end;
		long len;

		if (!slash[1] || slash[1] == '+' || slash[1] == '-')
			return -EINVAL;
		len = strtol(slash + 1, &end, 10);
		if (*end || len < 0 || len > max)
			return -EINVAL;
		p->len = (uint8_t)len;
	}
	mask_host_bits(p, host_bits_cleared);
	return 0;
}

const char *prefix_str(const struct prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int af = p->family == VMG_FAMILY_V4 ? AF_INET : AF_INET6;
	int max = p->family == VMG_FAMILY_V4 ? 32 : 128;

	inet_ntop(af, p->addr, a, sizeof(a));
	if (p->len == max)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

bool prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	int full, rest;

	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	full = outer->len / 8;
	rest = outer->len % 8;
	if (memcmp(outer->addr, inner->addr, full))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		return (outer->addr[full] & m) == (inner->addr[full] & m);
	}
	return true;
}

/* An unknown role, with the nearest known one when there is one. */
static int unknown_role(struct ydoc *d, const yaml_node_t *n, const char *what,
			const char *name)
{
	const char *near = role_suggest(name);

	if (near)
		return yerr(d, n, "%s: unknown role '%s'; did you mean '%s'?", what, name, near);
	return yerr(d, n, "%s: unknown role '%s' (the README lists the roles)", what, name);
}

static struct src_pos pos_of(const yaml_node_t *n)
{
	return (struct src_pos){ .line = yline(n), .col = ycol(n) };
}

static int add_addr(struct site *s, int role, const struct prefix *p, const yaml_node_t *n,
		    size_t *cap)
{
	int err = grow((void **)&s->hosts[role], cap, s->nhosts[role], sizeof(struct site_addr));

	if (err)
		return err;
	s->hosts[role][s->nhosts[role]++] = (struct site_addr){ .pfx = *p, .pos = pos_of(n) };
	return 0;
}

/* Addresses no host of a site has: loopback, multicast, unspecified. */
static const char *odd_address(const struct prefix *p)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t zero[16];

	if (p->family == VMG_FAMILY_V4) {
		if (p->addr[0] == 127)
			return "a loopback address";
		if (p->len >= 4 && (p->addr[0] & 0xf0) == 0xe0)
			return "a multicast address";
		if (p->len == 32 && !memcmp(p->addr, zero, 4))
			return "the unspecified address";
		return NULL;
	}
	if (p->len == 128 && !memcmp(p->addr, v6_loopback, 16))
		return "a loopback address";
	if (p->len >= 8 && p->addr[0] == 0xff)
		return "a multicast address";
	if (p->len == 128 && !memcmp(p->addr, zero, 16))
		return "the unspecified address";
	return NULL;
}

static int parse_role_hosts(struct ydoc *d, yaml_node_t *n, int role, struct site *s)
{
	char what[64], canon[64];
	size_t cap = 0;
	int err;

	snprintf(what, sizeof(what), "hosts.%s", role_name(role));
	err = yexpect(d, n, YAML_SEQUENCE_NODE, what);
	if (err)
		return err;
	yseq_for_each(d, n, it) {
		yaml_node_t *a = ydoc_node(d, *it);
		struct prefix p;
		bool cleared;
		const char *str;

		err = yscalar(d, a, what, &str);
		if (err)
			return err;
		if (!strcmp(str, "any")) {
			struct prefix v4 = { .family = VMG_FAMILY_V4 };
			struct prefix v6 = { .family = VMG_FAMILY_V6 };

			err = add_addr(s, role, &v4, a, &cap) ?: add_addr(s, role, &v6, a, &cap);
			if (err)
				return err;
			continue;
		}
		if (prefix_parse(str, &p, &cleared))
			return yerr(d, a, "%s: '%s' is not an IPv4 or IPv6 address or prefix",
				    what, str);
		if (cleared)
			ywarn(d, a, "%s: '%s' has host bits set; using %s", what, str,
			      prefix_str(&p, canon, sizeof(canon)));
		if (odd_address(&p))
			ywarn(d, a, "%s: '%s' is %s, not the address of a host",
			      what, str, odd_address(&p));
		err = add_addr(s, role, &p, a, &cap);
		if (err)
			return err;
	}
	return 0;
}

static int parse_hosts(struct ydoc *d, yaml_node_t *n, struct site *s)
{
	int err = ymap_check(d, n, "hosts", NULL);

	if (err)
		return err;
	ymap_for_each(d, n, p) {
		yaml_node_t *k = ydoc_node(d, p->key);
		int role = role_parse(ystr(k));

		if (role < 0)
			return unknown_role(d, k, "hosts", ystr(k));
		s->role_pos[role] = pos_of(k);
		err = parse_role_hosts(d, ydoc_node(d, p->value), role, s);
		if (err)
			return err;
	}
	return 0;
}

static int parse_features(struct ydoc *d, yaml_node_t *n, struct site *s)
{
	int err = ymap_check(d, n, "features", NULL);

	if (err)
		return err;
	ymap_for_each(d, n, p) {
		yaml_node_t *k = ydoc_node(d, p->key);
		int f = feature_parse(ystr(k));
		char what[64];

		if (f < 0)
			return yerr(d, k, "features: unknown feature '%s' (known: smtp, "
				    "device-events, generic-events, analytics-events, "
				    "mobile-video-push)", ystr(k));
		snprintf(what, sizeof(what), "features.%s", ystr(k));
		err = ybool(d, ydoc_node(d, p->value), what, &s->features[f]);
		if (err)
			return err;
	}
	return 0;
}

static int parse_interfaces(struct ydoc *d, yaml_node_t *n, struct site *s)
{
	int err = yexpect(d, n, YAML_SEQUENCE_NODE, "interfaces");
	size_t cap = 0;

	if (err)
		return err;
	yseq_for_each(d, n, it) {
		yaml_node_t *i = ydoc_node(d, *it);
		const char *name;

		err = yscalar(d, i, "interfaces", &name);
		if (err)
			return err;
		if (!*name || strlen(name) >= IFNAMSIZ || strpbrk(name, "/ \t:"))
			return yerr(d, i, "interfaces: '%s' is not an interface name", name);
		for (size_t j = 0; j < s->ninterfaces; j++)
			if (!strcmp(s->interfaces[j], name))
				return yerr(d, i, "interfaces: '%s' is listed twice", name);
		err = grow((void **)&s->interfaces, &cap, s->ninterfaces, sizeof(char *));
		if (err)
			return err;
		s->interfaces[s->ninterfaces] = strdup(name);
		if (!s->interfaces[s->ninterfaces++])
			return -ENOMEM;
	}
	return 0;
}

static int parse_overrides(struct ydoc *d, yaml_node_t *n, struct site *s)
{
	static const char *const keys[] = { "role", "port", "new_port", NULL };
	int err = yexpect(d, n, YAML_SEQUENCE_NODE, "overrides");
	size_t cap = 0;

	if (err)
		return err;
	yseq_for_each(d, n, it) {
		yaml_node_t *o = ydoc_node(d, *it), *r, *p, *np;
		struct override ov = { .pos = pos_of(o) };

		err = ymap_check(d, o, "overrides", keys);
		if (err)
			return err;
		r = ymap_get(d, o, "role");
		p = ymap_get(d, o, "port");
		np = ymap_get(d, o, "new_port");
		if (!r || !p || !np)
			return yerr(d, o, "overrides: each entry needs role, port and new_port");
		ov.role = role_parse(ystr(r) ?: "");
		if (ov.role < 0)
			return unknown_role(d, r, "overrides.role", ystr(r) ?: "");
		err = yport(d, p, "overrides.port", &ov.port) ?:
		      yport(d, np, "overrides.new_port", &ov.new_port);
		if (err)
			return err;
		for (size_t j = 0; j < s->noverrides; j++)
			if (s->overrides[j].role == ov.role && s->overrides[j].port == ov.port)
				return yerr(d, o, "overrides: %s port %u is already overridden at "
					    "line %d", role_name(ov.role), ov.port,
					    s->overrides[j].pos.line);
		err = grow((void **)&s->overrides, &cap, s->noverrides, sizeof(ov));
		if (err)
			return err;
		s->overrides[s->noverrides++] = ov;
	}
	return 0;
}

static int parse_extra_one(struct ydoc *d, yaml_node_t *e, struct flow *f)
{
	static const char *const keys[] = { "from", "to", "proto", "ports", "purpose", NULL };
	static const char *const required[] = { "from", "to", "proto", "ports" };
	yaml_node_t *v;
	const char *s;
	int err = ymap_check(d, e, "extra", keys);

	if (err)
		return err;
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!ymap_get(d, e, required[i]))
			return yerr(d, e, "extra: missing key '%s'", required[i]);
	f->feature = -1;
	f->line = yline(e);
	err = flow_parse_from(d, ymap_get(d, e, "from"), &f->from) ?:
	      flow_parse_to(d, ymap_get(d, e, "to"), &f->to) ?:
	      flow_parse_proto(d, ymap_get(d, e, "proto"), &f->proto) ?:
	      yport_range(d, ymap_get(d, e, "ports"), "ports", &f->port, &f->port_end);
	if (err)
		return err;
	if (!f->from)
		return yerr(d, ymap_get(d, e, "from"), "extra.from: name at least one role");
	v = ymap_get(d, e, "purpose");
	if (v) {
		err = yscalar(d, v, "purpose", &s);
		if (err)
			return err;
	} else {
		s = "site-specific flow";
	}
	f->purpose = strdup(s);
	f->service = strdup("site");
	return f->purpose && f->service ? 0 : -ENOMEM;
}

static int parse_extra(struct ydoc *d, yaml_node_t *n, struct site *s)
{
	int err = yexpect(d, n, YAML_SEQUENCE_NODE, "extra");
	size_t cap = 0;

	if (err)
		return err;
	yseq_for_each(d, n, it) {
		yaml_node_t *e = ydoc_node(d, *it);

		err = grow((void **)&s->extra, &cap, s->nextra, sizeof(*s->extra));
		if (err)
			return err;
		memset(&s->extra[s->nextra], 0, sizeof(*s->extra));
		s->extra[s->nextra].pos = pos_of(e);
		err = parse_extra_one(d, e, &s->extra[s->nextra].flow);
		s->nextra++;
		if (err)
			return err;
	}
	return 0;
}

static int parse_choice(struct ydoc *d, yaml_node_t *v, const char *key, int *out)
{
	static const char *const modes[] = { "enforce", "monitor", NULL };
	static const char *const pass_drop[] = { "pass", "drop", NULL };
	static const char *const enc[] = { "both", "on", "off", NULL };
	static const char *const icmp[] = { "allow", "errors-only", "deny", NULL };
	const char *const *choices;

	if (!strcmp(key, "mode"))
		choices = modes;
	else if (!strcmp(key, "encryption"))
		choices = enc;
	else if (!strcmp(key, "icmp"))
		choices = icmp;
	else
		choices = pass_drop;
	return ychoice(d, v, key, choices, out);
}

static int parse_text(struct ydoc *d, yaml_node_t *v, const char *key, char **out)
{
	const char *s;
	int err = yscalar(d, v, key, &s);

	if (err)
		return err;
	if (!*s)
		return yerr(d, v, "%s: must not be empty", key);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int parse_key(struct ydoc *d, const char *k, yaml_node_t *v, struct site *s)
{
	long n;
	int c, err;

	if (!strcmp(k, "catalog"))
		return parse_text(d, v, k, &s->catalog);
	if (!strcmp(k, "xprotect_version")) {
		err = parse_text(d, v, k, &s->xprotect_version);
		if (err)
			return err;
		s->version_ordinal = catalog_version_ordinal(s->xprotect_version);
		if (s->version_ordinal < 0)
			return yerr(d, v, "xprotect_version: expected a release like \"2023 R3\", "
				    "found '%s'", s->xprotect_version);
		return 0;
	}
	if (!strcmp(k, "interfaces"))
		return parse_interfaces(d, v, s);
	if (!strcmp(k, "recording_server_instances")) {
		err = yint(d, v, k, 1, MAX_RS_INSTANCES, &n);
		s->rs_instances = (int)n;
		return err;
	}
	if (!strcmp(k, "features"))
		return parse_features(d, v, s);
	if (!strcmp(k, "hosts"))
		return parse_hosts(d, v, s);
	if (!strcmp(k, "overrides"))
		return parse_overrides(d, v, s);
	if (!strcmp(k, "extra"))
		return parse_extra(d, v, s);
	err = parse_choice(d, v, k, &c);
	if (err)
		return err;
	if (!strcmp(k, "mode"))
		s->mode = (uint8_t)c;
	else if (!strcmp(k, "encryption"))
		s->encryption = c;
	else if (!strcmp(k, "icmp"))
		s->icmp = (uint8_t)c;
	else if (!strcmp(k, "unlisted_destinations"))
		s->unlisted_drop = c == 1;
	else
		s->unknown_frag_drop = c == 1;
	return 0;
}

static void site_defaults(struct site *s)
{
	memset(s, 0, sizeof(*s));
	s->version_ordinal = -1;
	s->mode = VMG_MODE_ENFORCE;
	s->encryption = ENCRYPTION_BOTH;
	s->rs_instances = 1;
	s->icmp = VMG_ICMP_ALLOW;
	s->unknown_frag_drop = true;
}

static int site_parse(struct ydoc *d, struct site *s)
{
	yaml_node_t *root = ydoc_root(d);
	int err = ymap_check(d, root, "site policy", site_keys);

	if (err)
		return err;
	ymap_for_each(d, root, p) {
		err = parse_key(d, ystr(ydoc_node(d, p->key)), ydoc_node(d, p->value), s);
		if (err)
			return err;
	}
	if (!s->catalog)
		s->catalog = strdup("xprotect");
	return s->catalog ? 0 : -ENOMEM;
}

int site_load_string(const char *text, size_t len, const char *name, struct site *site,
		     bool quiet)
{
	struct ydoc d = { .quiet = quiet };
	int err;

	site_defaults(site);
	site->path = strdup(name);
	if (!site->path)
		return -ENOMEM;
	err = ydoc_load(&d, text, len, name);
	if (!err)
		err = site_parse(&d, site);
	ydoc_free(&d);
	if (err)
		site_free(site);
	return err;
}

int site_load(const char *path, struct site *site, bool quiet)
{
	size_t len;
	char *text;
	int err;

	err = read_file(path, &text, &len);
	if (err) {
		fprintf(stderr, "%s: error: cannot read site policy: %s\n", path, strerror(-err));
		site_defaults(site);
		return err;
	}
	if (memchr(text, '\0', len)) {
		fprintf(stderr, "%s:1:1: error: not valid YAML: the file holds NUL bytes\n", path);
		free(text);
		site_defaults(site);
		return -EINVAL;
	}
	err = site_load_string(text, len, path, site, quiet);
	free(text);
	return err;
}

void site_free(struct site *s)
{
	free(s->path);
	free(s->catalog);
	free(s->xprotect_version);
	for (size_t i = 0; i < s->ninterfaces; i++)
		free(s->interfaces[i]);
	free(s->interfaces);
	for (int r = 0; r < ROLE_COUNT; r++)
		free(s->hosts[r]);
	free(s->overrides);
	for (size_t i = 0; i < s->nextra; i++)
		flow_free(&s->extra[i].flow);
	free(s->extra);
	site_defaults(s);
}
