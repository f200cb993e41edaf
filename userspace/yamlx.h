/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A thin layer over libyaml's document API: load a document, walk its
 * nodes, and report errors at the node's line and column.
 */
#ifndef VMSGATE_YAMLX_H
#define VMSGATE_YAMLX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct ydoc {
	yaml_document_t doc;
	const char *name;	/* the file, in messages */
	bool loaded;
	bool quiet;		/* no warnings */
};

/* Loads one YAML document. An empty text or a syntax error is an error. */
int ydoc_load(struct ydoc *d, const char *text, size_t len, const char *name);
void ydoc_free(struct ydoc *d);
yaml_node_t *ydoc_root(struct ydoc *d);
yaml_node_t *ydoc_node(struct ydoc *d, int index);

/* Prints "NAME:LINE:COL: error: ..." at the node and returns -EINVAL. */
int yerr(struct ydoc *d, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ywarn(struct ydoc *d, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int yline(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static inline int ycol(const yaml_node_t *n)
{
	return (int)n->start_mark.column + 1;
}

/* The scalar's text, or NULL if n is not a scalar. */
const char *ystr(const yaml_node_t *n);
/* Typed readers: each reports its own error naming `what`. */
int yscalar(struct ydoc *d, const yaml_node_t *n, const char *what, const char **out);
int ybool(struct ydoc *d, const yaml_node_t *n, const char *what, bool *out);
int yint(struct ydoc *d, const yaml_node_t *n, const char *what, long min, long max,
	 long *out);
int ychoice(struct ydoc *d, const yaml_node_t *n, const char *what,
	    const char *const *choices, int *out);
int yport(struct ydoc *d, const yaml_node_t *n, const char *what, uint16_t *out);
/* "80", 80 or "40001-40099": an inclusive range, lo <= hi. */
int yport_range(struct ydoc *d, const yaml_node_t *n, const char *what, uint16_t *lo,
		uint16_t *hi);
int yexpect(struct ydoc *d, const yaml_node_t *n, yaml_node_type_t type, const char *what);

/*
 * Checks a mapping: every key a plain scalar, none repeated, each one of
 * `known` (NULL-terminated; NULL known accepts any key). what names the
 * mapping in messages.
 */
int ymap_check(struct ydoc *d, const yaml_node_t *map, const char *what,
	       const char *const *known);
/* The value of key in map, or NULL. */
yaml_node_t *ymap_get(struct ydoc *d, const yaml_node_t *map, const char *key);

#define ymap_for_each(d, map, pair)                                      \
	for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;   \
	     pair < (map)->data.mapping.pairs.top; pair++)

#define yseq_for_each(d, seq, item)                                      \
	for (yaml_node_item_t *item = (seq)->data.sequence.items.start;  \
	     item < (seq)->data.sequence.items.top; item++)

#endif /* VMSGATE_YAMLX_H */
