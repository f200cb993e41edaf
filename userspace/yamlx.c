// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlx.h"

static void yreport(struct ydoc *d, int line, int col, const char *kind, const char *fmt,
		    va_list ap)
{
	fprintf(stderr, "%s:%d:%d: %s: ", d->name, line, col, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int yerr(struct ydoc *d, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yreport(d, n ? yline(n) : 1, n ? ycol(n) : 1, "error", fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void ywarn(struct ydoc *d, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	if (d->quiet)
		return;
	va_start(ap, fmt);
	yreport(d, n ? yline(n) : 1, n ? ycol(n) : 1, "warning", fmt, ap);
	va_end(ap);
}

/* The character at a 0-based line and column, or NULL. */
static const char *text_at(const char *text, size_t len, size_t line, size_t col)
{
	size_t i = 0;

	for (size_t l = 0; l < line && i < len; i++)
		if (text[i] == '\n')
			l++;
	return i + col < len ? text + i + col : NULL;
}

static bool text_is_blank(const char *text, size_t len)
{
	bool comment = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '\n') {
			comment = false;
			continue;
		}
		if (comment || c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == '#') {
			comment = true;
			continue;
		}
		return false;
	}
	return true;
}

/* A second document would be silently ignored; one policy is one document. */
static int ydoc_refuse_more(yaml_parser_t *parser, const char *name)
{
	yaml_document_t next;
	int err = 0;

	if (!yaml_parser_load(parser, &next)) {
		fprintf(stderr, "%s:%zu:%zu: error: not valid YAML: %s\n", name,
			parser->problem_mark.line + 1, parser->problem_mark.column + 1,
			parser->problem ? parser->problem : "syntax error");
		return -EINVAL;
	}
	if (yaml_document_get_root_node(&next)) {
		fprintf(stderr, "%s:%zu:%zu: error: a second YAML document; a policy is one "
			"document (remove the '---' line)\n", name,
			next.start_mark.line + 1, next.start_mark.column + 1);
		err = -EINVAL;
	}
	yaml_document_delete(&next);
	return err;
}

int ydoc_load(struct ydoc *d, const char *text, size_t len, const char *name)
{
	yaml_parser_t parser;
	int err = 0;

	d->name = name;
	d->loaded = false;
	if (text_is_blank(text, len)) {
		fprintf(stderr, "%s:1:1: error: the file is empty; expected a YAML mapping\n",
			name);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		const char *at = text_at(text, len, parser.problem_mark.line,
					 parser.problem_mark.column);

		fprintf(stderr, "%s:%zu:%zu: error: not valid YAML: %s%s%s%s\n", name,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "syntax error",
			parser.context ? " " : "", parser.context ? parser.context : "",
			at && *at == '\t' ? " (a tab: YAML indents with spaces only)" : "");
		err = -EINVAL;
		goto out;
	}
	d->loaded = true;
	if (!yaml_document_get_root_node(&d->doc)) {
		fprintf(stderr, "%s:1:1: error: the file is empty; expected a YAML mapping\n",
			name);
		err = -EINVAL;
		goto out;
	}
	err = ydoc_refuse_more(&parser, name);
out:
	yaml_parser_delete(&parser);
	return err;
}

void ydoc_free(struct ydoc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = false;
}

yaml_node_t *ydoc_root(struct ydoc *d)
{
	return yaml_document_get_root_node(&d->doc);
}

yaml_node_t *ydoc_node(struct ydoc *d, int index)
{
	return yaml_document_get_node(&d->doc, index);
}

const char *ystr(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static const char *ytype_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

int yexpect(struct ydoc *d, const yaml_node_t *n, yaml_node_type_t type, const char *what)
{
	static const char *const want[] = {
		[YAML_SCALAR_NODE] = "a scalar",
		[YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type == type)
		return 0;
	if (n->type == YAML_SCALAR_NODE && !n->data.scalar.length &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return yerr(d, n, "%s: expected %s, found nothing", what, want[type]);
	return yerr(d, n, "%s: expected %s, found %s", what, want[type], ytype_name(n));
}

int yscalar(struct ydoc *d, const yaml_node_t *n, const char *what, const char **out)
{
	int err = yexpect(d, n, YAML_SCALAR_NODE, what);

	if (err)
		return err;
	*out = ystr(n);
	return 0;
}

int ybool(struct ydoc *d, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s;
	int err = yscalar(d, n, what, &s);

	if (err)
		return err;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
			*out = false;
			return 0;
		}
	}
	return yerr(d, n, "%s: expected true or false, found '%s'", what, s);
}

static int parse_long(const char *s, long *out)
{
	char *end;

	if (!*s || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int yint(struct ydoc *d, const yaml_node_t *n, const char *what, long min, long max,
	 long *out)
{
	const char *s;
	int err = yscalar(d, n, what, &s);

	if (err)
		return err;
	if (parse_long(s, out))
		return yerr(d, n, "%s: expected a whole number, found '%s'", what, s);
	if (*out < min || *out > max)
		return yerr(d, n, "%s: %ld is out of range %ld-%ld", what, *out, min, max);
	return 0;
}

int ychoice(struct ydoc *d, const yaml_node_t *n, const char *what,
	    const char *const *choices, int *out)
{
	char list[256] = "";
	size_t off = 0;
	const char *s;
	int err = yscalar(d, n, what, &s);

	if (err)
		return err;
	for (int i = 0; choices[i]; i++) {
		if (!strcmp(s, choices[i])) {
			*out = i;
			return 0;
		}
		off += snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
				choices[i]);
		if (off >= sizeof(list))
			off = sizeof(list) - 1;
	}
	return yerr(d, n, "%s: expected one of %s, found '%s'", what, list, s);
}

int yport(struct ydoc *d, const yaml_node_t *n, const char *what, uint16_t *out)
{
	long v;
	int err = yint(d, n, what, 1, 65535, &v);

	if (!err)
		*out = (uint16_t)v;
	return err;
}

int yport_range(struct ydoc *d, const yaml_node_t *n, const char *what, uint16_t *lo,
		uint16_t *hi)
{
	char buf[32];
	const char *s;
	char *dash;
	long a, b;
	int err = yscalar(d, n, what, &s);

	if (err)
		return err;
	if (strlen(s) >= sizeof(buf))
		return yerr(d, n, "%s: expected a port or a range like 50000-50999, "
			    "found '%.20s...'", what, s);
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_long(buf, &a) || (dash && parse_long(dash + 1, &b)))
		return yerr(d, n, "%s: expected a port or a range like 50000-50999, found '%s'",
			    what, s);
	if (!dash)
		b = a;
	if (a < 1 || a > 65535 || b < 1 || b > 65535)
		return yerr(d, n, "%s: port %ld is out of range 1-65535", what,
			    (a < 1 || a > 65535) ? a : b);
	if (b < a)
		return yerr(d, n, "%s: range %ld-%ld is reversed", what, a, b);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

int ymap_check(struct ydoc *d, const yaml_node_t *map, const char *what,
	       const char *const *known)
{
	int err = yexpect(d, map, YAML_MAPPING_NODE, what);

	if (err)
		return err;
	ymap_for_each(d, map, p) {
		yaml_node_t *k = ydoc_node(d, p->key);
		const char *ks = ystr(k);
		bool ok = !known;

		if (!ks)
			return yerr(d, k, "%s: keys must be plain names", what);
		for (int i = 0; known && known[i]; i++)
			if (!strcmp(ks, known[i]))
				ok = true;
		if (!ok)
			return yerr(d, k, "%s: unknown key '%s'", what, ks);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *qs = ystr(ydoc_node(d, q->key));

			if (qs && !strcmp(qs, ks)) {
				yaml_node_t *first = ydoc_node(d, q->key);

				return yerr(d, k, "%s: duplicate key '%s' (first at line %d)",
					    what, ks, yline(first));
			}
		}
	}
	return 0;
}

yaml_node_t *ymap_get(struct ydoc *d, const yaml_node_t *map, const char *key)
{
	ymap_for_each(d, map, p) {
		const char *ks = ystr(ydoc_node(d, p->key));

		if (ks && !strcmp(ks, key))
			return ydoc_node(d, p->value);
	}
	return NULL;
}
