// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "roles.h"
#include "util.h"
#include "yamlx.h"

static const char *const flow_keys[] = {
	"to", "from", "proto", "port", "port_end", "service", "purpose", "scheme",
	"local_only", "feature", "per_instance", "configurable", "versions", "source",
	NULL,
};

int flow_parse_to(struct ydoc *d, yaml_node_t *n, int *role)
{
	const char *s;
	int err = yscalar(d, n, "to", &s);

	if (err)
		return err;
	*role = role_parse(s);
	if (*role < 0 && !strcmp(s, "servers"))
		return yerr(d, n, "to: 'servers' is for from; a flow goes to one role");
	if (*role < 0 && role_suggest(s))
		return yerr(d, n, "to: unknown role '%s'; did you mean '%s'?", s,
			    role_suggest(s));
	if (*role < 0)
		return yerr(d, n, "to: unknown role '%s'", s);
	return 0;
}

int flow_parse_from(struct ydoc *d, yaml_node_t *n, uint64_t *mask)
{
	int err = yexpect(d, n, YAML_SEQUENCE_NODE, "from");

	if (err)
		return err;
	*mask = 0;
	yseq_for_each(d, n, it) {
		yaml_node_t *r = ydoc_node(d, *it);
		const char *s;
		int role;

		err = yscalar(d, r, "from", &s);
		if (err)
			return err;
		if (!strcmp(s, "servers")) {
			*mask |= ROLE_SERVERS_MASK;
			continue;
		}
		role = role_parse(s);
		if (role < 0 && role_suggest(s))
			return yerr(d, r, "from: unknown role '%s'; did you mean '%s'?", s,
				    role_suggest(s));
		if (role < 0)
			return yerr(d, r, "from: unknown role '%s'", s);
		*mask |= ROLE_BIT(role);
	}
	return 0;
}

int flow_parse_proto(struct ydoc *d, yaml_node_t *n, uint8_t *proto)
{
	static const char *const protos[] = { "tcp", "udp", NULL };
	int i, err = ychoice(d, n, "proto", protos, &i);

	if (!err)
		*proto = i == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	return err;
}

void flow_free(struct flow *f)
{
	free(f->service);
	free(f->purpose);
	free(f->source);
}

int catalog_version_ordinal(const char *v)
{
	int year, release = 9;
	char tail;

	if (sscanf(v, "%4d%c", &year, &tail) == 1)
		goto done;
	if (sscanf(v, "%4d R%1d%c", &year, &release, &tail) != 2 || release < 1)
		return -1;
done:
	if (year < 2000 || year > 2999)
		return -1;
	return year * 10 + release;
}

uint16_t flow_port_for_version(const struct flow *f, int v)
{
	if (v < 0)
		return f->port;
	for (int i = 0; i < f->nversions; i++)
		if (v <= f->versions[i].until)
			return f->versions[i].port;
	return f->port;
}

static int parse_versions(struct ydoc *d, yaml_node_t *n, struct flow *f)
{
	static const char *const keys[] = { "until", "port", NULL };
	int err = yexpect(d, n, YAML_SEQUENCE_NODE, "versions");

	if (err)
		return err;
	yseq_for_each(d, n, it) {
		yaml_node_t *e = ydoc_node(d, *it), *u, *p;
		struct version_port *vp;
		const char *s;

		err = ymap_check(d, e, "versions", keys);
		if (err)
			return err;
		if (f->nversions == FLOW_MAX_VERSIONS)
			return yerr(d, e, "versions: at most %d entries", FLOW_MAX_VERSIONS);
		u = ymap_get(d, e, "until");
		p = ymap_get(d, e, "port");
		if (!u || !p)
			return yerr(d, e, "versions: each entry needs until and port");
		vp = &f->versions[f->nversions];
		err = yscalar(d, u, "until", &s) ?: yport(d, p, "port", &vp->port);
		if (err)
			return err;
		vp->until = catalog_version_ordinal(s);
		if (vp->until < 0)
			return yerr(d, u, "until: expected an XProtect release like "
				    "\"2019 R2\", found '%s'", s);
		snprintf(vp->until_name, sizeof(vp->until_name), "%s", s);
		if (f->nversions && vp->until <= f->versions[f->nversions - 1].until)
			return yerr(d, u, "until: releases must be in ascending order");
		f->nversions++;
	}
	return 0;
}

static int parse_text(struct ydoc *d, yaml_node_t *n, const char *what, char **out)
{
	const char *s;
	int err = yscalar(d, n, what, &s);

	if (err)
		return err;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int parse_flow_key(struct ydoc *d, const char *k, yaml_node_t *v, struct flow *f)
{
	static const char *const schemes[] = { "none", "http", "https", NULL };
	const char *s;
	int i, err;

	if (!strcmp(k, "to"))
		return flow_parse_to(d, v, &f->to);
	if (!strcmp(k, "from"))
		return flow_parse_from(d, v, &f->from);
	if (!strcmp(k, "proto"))
		return flow_parse_proto(d, v, &f->proto);
	if (!strcmp(k, "port"))
		return yport(d, v, "port", &f->port);
	if (!strcmp(k, "port_end"))
		return yport(d, v, "port_end", &f->port_end);
	if (!strcmp(k, "service"))
		return parse_text(d, v, k, &f->service);
	if (!strcmp(k, "purpose"))
		return parse_text(d, v, k, &f->purpose);
	if (!strcmp(k, "source"))
		return parse_text(d, v, k, &f->source);
	if (!strcmp(k, "local_only"))
		return ybool(d, v, k, &f->local_only);
	if (!strcmp(k, "per_instance"))
		return ybool(d, v, k, &f->per_instance);
	if (!strcmp(k, "configurable"))
		return ybool(d, v, k, &f->configurable);
	if (!strcmp(k, "versions"))
		return parse_versions(d, v, f);
	if (!strcmp(k, "scheme")) {
		err = ychoice(d, v, k, schemes, &i);
		f->scheme = i;
		return err;
	}
	/* feature */
	err = yscalar(d, v, k, &s);
	if (err)
		return err;
	f->feature = feature_parse(s);
	if (f->feature < 0)
		return yerr(d, v, "feature: unknown feature '%s'", s);
	return 0;
}

static int parse_flow(struct ydoc *d, yaml_node_t *n, struct flow *f)
{
	static const char *const required[] = { "to", "from", "proto", "port", "purpose" };
	int err = ymap_check(d, n, "flow", flow_keys);

	if (err)
		return err;
	memset(f, 0, sizeof(*f));
	f->feature = -1;
	f->line = yline(n);
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!ymap_get(d, n, required[i]))
			return yerr(d, n, "flow: missing key '%s'", required[i]);
	ymap_for_each(d, n, p) {
		err = parse_flow_key(d, ystr(ydoc_node(d, p->key)), ydoc_node(d, p->value), f);
		if (err)
			return err;
	}
	if (!f->port_end)
		f->port_end = f->port;
	if (f->port_end < f->port)
		return yerr(d, n, "flow: port_end %u is below port %u", f->port_end, f->port);
	if (f->local_only && f->from)
		return yerr(d, n, "flow: a local-only flow has no sources; from must be []");
	if (!f->local_only && !f->from)
		return yerr(d, n, "flow: from is empty but the flow is not local_only");
	return 0;
}

static int catalog_parse(struct ydoc *d, struct catalog *cat)
{
	static const char *const keys[] = { "catalog", "flows", NULL };
	yaml_node_t *root = ydoc_root(d), *flows;
	size_t cap = 0;
	int err;

	err = ymap_check(d, root, "catalog", keys);
	if (err)
		return err;
	flows = ymap_get(d, root, "flows");
	if (!flows)
		return yerr(d, root, "catalog: missing key 'flows'");
	err = yexpect(d, flows, YAML_SEQUENCE_NODE, "flows");
	if (err)
		return err;
	yseq_for_each(d, flows, it) {
		err = grow((void **)&cat->flows, &cap, cat->nflows, sizeof(*cat->flows));
		if (err)
			return err;
		err = parse_flow(d, ydoc_node(d, *it), &cat->flows[cat->nflows]);
		cat->nflows++;
		if (err)
			return err;
	}
	return 0;
}

int catalog_load(const char *path, struct catalog *cat)
{
	struct ydoc d = { 0 };
	size_t len;
	char *text;
	int err;

	memset(cat, 0, sizeof(*cat));
	err = read_file(path, &text, &len);
	if (err) {
		fprintf(stderr, "%s: error: cannot read catalog: %s\n", path, strerror(-err));
		return err;
	}
	err = ydoc_load(&d, text, len, path);
	if (!err)
		err = catalog_parse(&d, cat);
	ydoc_free(&d);
	free(text);
	cat->path = strdup(path);
	if (err)
		catalog_free(cat);
	return err;
}

void catalog_free(struct catalog *cat)
{
	for (size_t i = 0; i < cat->nflows; i++)
		flow_free(&cat->flows[i]);
	free(cat->flows);
	free(cat->path);
	memset(cat, 0, sizeof(*cat));
}

static bool try_path(const char *path, char *out, size_t len)
{
	char real[PATH_MAX];

	if (access(path, R_OK))
		return false;
	snprintf(out, len, "%s", realpath(path, real) ? real : path);
	return true;
}

int catalog_resolve(const char *name, const char *relative_to, char *out, size_t len)
{
	char buf[PATH_MAX], exe[PATH_MAX - 64];
	const char *env = getenv("VMSGATE_CATALOG_DIR");
	ssize_t n;

	if (strcmp(name, "xprotect")) {
		/* a path: relative to the site file's directory */
		if (name[0] != '/' && relative_to) {
			const char *slash = strrchr(relative_to, '/');

			if (slash) {
				snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - relative_to),
					 relative_to, name);
				name = buf;
			}
		}
		snprintf(out, len, "%s", name);
		return 0;
	}
	if (env) {
		snprintf(buf, sizeof(buf), "%s/xprotect.yaml", env);
		if (try_path(buf, out, len))
			return 0;
	}
	/* a build tree: build/vmsgate next to policies/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, sizeof(buf), "%s/../policies/xprotect.yaml", exe);
			if (try_path(buf, out, len))
				return 0;
			snprintf(buf, sizeof(buf), "%s/../share/vmsgate/xprotect.yaml", exe);
			if (try_path(buf, out, len))
				return 0;
		}
	}
	if (try_path("/usr/local/share/vmsgate/xprotect.yaml", out, len) ||
	    try_path("/usr/share/vmsgate/xprotect.yaml", out, len))
		return 0;
	return -ENOENT;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static void print_flow_json(FILE *f, const struct flow *fl)
{
	static const char *const schemes[] = { NULL, "http", "https" };
	bool first = true;

	fprintf(f, "{\"to\":\"%s\",\"from\":[", role_name(fl->to));
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(fl->from & ROLE_BIT(r)))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ",", role_name(r));
		first = false;
	}
	fprintf(f, "],\"proto\":\"%s\",\"port\":%u,\"port_end\":%u,\"local_only\":%s,",
		proto_name(fl->proto), fl->port, fl->port_end, fl->local_only ? "true" : "false");
	fputs("\"feature\":", f);
	if (fl->feature >= 0)
		json_str(f, feature_name(fl->feature));
	else
		fputs("null", f);
	fprintf(f, ",\"per_instance\":%s,\"configurable\":%s,\"scheme\":",
		fl->per_instance ? "true" : "false", fl->configurable ? "true" : "false");
	if (fl->scheme)
		json_str(f, schemes[fl->scheme]);
	else
		fputs("null", f);
	fputs(",\"versions\":[", f);
	for (int i = 0; i < fl->nversions; i++)
		fprintf(f, "%s{\"until\":\"%s\",\"port\":%u}", i ? "," : "",
			fl->versions[i].until_name, fl->versions[i].port);
	fputs("],\"service\":", f);
	json_str(f, fl->service);
	fputs(",\"purpose\":", f);
	json_str(f, fl->purpose);
	fputs(",\"source\":", f);
	json_str(f, fl->source);
	fputc('}', f);
}

static void flow_flags(const struct flow *fl, char *buf, size_t len)
{
	static const char *const schemes[] = { "", "http", "https" };
	size_t off = 0;

#define FLAG(cond, ...)                                                          \
	do {                                                                     \
		if ((cond) && off < len)                                         \
			off += snprintf(buf + off, len - off, "%s", off ? "," : ""), \
			off += snprintf(buf + off, len - off, __VA_ARGS__);      \
	} while (0)
	buf[0] = '\0';
	FLAG(fl->local_only, "local");
	FLAG(fl->feature >= 0, "feature=%s", feature_name(fl->feature));
	FLAG(fl->per_instance, "per-instance");
	FLAG(fl->configurable, "configurable");
	FLAG(fl->scheme, "%s", schemes[fl->scheme]);
	FLAG(fl->nversions, "versions");
#undef FLAG
	if (!buf[0])
		snprintf(buf, len, "-");
}

void catalog_print(const struct catalog *cat, bool json)
{
	char from[512], ports[16], flags[96];

	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < cat->nflows; i++) {
			fputs(i ? ",\n " : "", stdout);
			print_flow_json(stdout, &cat->flows[i]);
		}
		fputs("]\n", stdout);
		return;
	}
	printf("%-26s %-5s %-11s %-30s %-26s %s\n", "TO", "PROTO", "PORT", "FLAGS", "FROM",
	       "PURPOSE");
	for (size_t i = 0; i < cat->nflows; i++) {
		const struct flow *fl = &cat->flows[i];
		const char *rest, *f;
		size_t n;

		if (fl->port_end != fl->port)
			snprintf(ports, sizeof(ports), "%u-%u", fl->port, fl->port_end);
		else
			snprintf(ports, sizeof(ports), "%u", fl->port);
		flow_flags(fl, flags, sizeof(flags));
		if (fl->from == ROLE_SERVERS_MASK)
			snprintf(from, sizeof(from), "servers");
		else
			role_mask_str(fl->from, from, sizeof(from));
		f = fl->local_only ? "(local only)" : from;
		n = list_head(f, 26, &rest);
		printf("%-26s %-5s %-11s %-30s %-26.*s %s\n", role_name(fl->to),
		       proto_name(fl->proto), ports, flags, (int)n, f, fl->purpose);
		/* a long source list goes on under its column */
		while (*rest) {
			f = rest;
			n = list_head(f, 26, &rest);
			printf("%76s%.*s\n", "", (int)n, f);
		}
	}
	printf("%zu flows from %s\n", cat->nflows, cat->path);
}
