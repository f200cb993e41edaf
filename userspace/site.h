/* SPDX-License-Identifier: GPL-2.0-only */
/* The operator's site policy (YAML), as DESIGN.md "The site policy" gives it. */
#ifndef VMSGATE_SITE_H
#define VMSGATE_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "roles.h"
#include "ruleset.h"

enum encryption { ENCRYPTION_BOTH = 0, ENCRYPTION_ON, ENCRYPTION_OFF };

/* Where a thing was written, for messages. */
struct src_pos {
	int line;
	int col;
};

struct site_addr {
	struct prefix pfx;
	struct src_pos pos;
};

struct override {
	int role;
	uint16_t port;
	uint16_t new_port;
	struct src_pos pos;
};

struct extra_flow {
	struct flow flow;
	struct src_pos pos;
};

struct site {
	char *path;
	char *catalog;			/* "xprotect" or a path */
	char *xprotect_version;		/* NULL: the latest release */
	int version_ordinal;		/* -1 when unset */
	char **interfaces;
	size_t ninterfaces;
	uint8_t mode;			/* enum vmg_mode */
	bool unlisted_drop;
	enum encryption encryption;
	int rs_instances;
	bool features[FEATURE_COUNT];
	uint8_t icmp;			/* enum vmg_icmp */
	bool unknown_frag_drop;
	struct site_addr *hosts[ROLE_COUNT];
	size_t nhosts[ROLE_COUNT];
	struct src_pos role_pos[ROLE_COUNT];
	struct override *overrides;
	size_t noverrides;
	struct extra_flow *extra;
	size_t nextra;
};

/*
 * Parses a site policy. name is used in messages; errors and warnings are
 * printed as "NAME:LINE:COL: error: ...". Returns 0, or -EINVAL after the
 * first error (with *site left empty), or another negative errno.
 */
int site_load(const char *path, struct site *site, bool quiet);
int site_load_string(const char *text, size_t len, const char *name, struct site *site,
		     bool quiet);
void site_free(struct site *site);

/* "10.0.0.0/8", "fd00::1", "any" is not handled here. 0 or -EINVAL. */
int prefix_parse(const char *s, struct prefix *p, bool *host_bits_cleared);
/* Formats "10.0.0.0/8" or "10.0.0.5" (full-length prefixes without a length). */
const char *prefix_str(const struct prefix *p, char *buf, size_t len);
bool prefix_contains(const struct prefix *outer, const struct prefix *inner);

#endif /* VMSGATE_SITE_H */
