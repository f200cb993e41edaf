/* SPDX-License-Identifier: GPL-2.0-only */
/* The XProtect catalog: the vendor's port table as flows between roles. */
#ifndef VMSGATE_CATALOG_H
#define VMSGATE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOW_MAX_VERSIONS 4

enum scheme { SCHEME_NONE = 0, SCHEME_HTTP, SCHEME_HTTPS };

/* A port that older XProtect releases used: up to and including `until`. */
struct version_port {
	int until;		/* release ordinal, see catalog_version_ordinal() */
	char until_name[16];
	uint16_t port;
};

struct flow {
	int to;				/* role index */
	uint64_t from;			/* role mask; 0 for local-only */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	uint16_t port_end;		/* inclusive; == port for one port */
	bool local_only;
	int feature;			/* enum feature, or -1 */
	bool per_instance;
	bool configurable;
	enum scheme scheme;
	struct version_port versions[FLOW_MAX_VERSIONS];
	int nversions;
	char *service;
	char *purpose;
	char *source;			/* which table(s) of the vendor's the row came from */
	int line;			/* line in the file it was read from */
};

struct catalog {
	char *path;
	struct flow *flows;
	size_t nflows;
};

/*
 * Loads a catalog file. On error prints "FILE:LINE:COL: error: ..." and
 * returns a negative errno; *cat is left empty.
 */
int catalog_load(const char *path, struct catalog *cat);
/* "xprotect" or a path: the installed or source-tree catalog, or the file. */
int catalog_resolve(const char *name, const char *relative_to, char *out, size_t len);
void catalog_free(struct catalog *cat);
/* "2023 R3" -> ordinal; a bare year counts as its last release. -1 if invalid. */
int catalog_version_ordinal(const char *v);
/* The port of flow f in release ordinal v (latest when v < 0). */
uint16_t flow_port_for_version(const struct flow *f, int v);
void catalog_print(const struct catalog *cat, bool json);



struct ydoc;
struct yaml_node_s;
/* Shared by the catalog and the site's extra flows. */
int flow_parse_from(struct ydoc *d, struct yaml_node_s *n, uint64_t *mask);
int flow_parse_to(struct ydoc *d, struct yaml_node_s *n, int *role);
int flow_parse_proto(struct ydoc *d, struct yaml_node_s *n, uint8_t *proto);
void flow_free(struct flow *f);
#endif /* VMSGATE_CATALOG_H */
