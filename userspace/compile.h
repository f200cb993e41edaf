/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy compiler: catalog + site -> ruleset. */
#ifndef VMSGATE_COMPILE_H
#define VMSGATE_COMPILE_H

#include <stdbool.h>

#include "catalog.h"
#include "ruleset.h"
#include "site.h"

/*
 * Compiles a site against its catalog. Warnings (a role with no hosts
 * closing a flow, host bits cleared) go to stderr as FILE:LINE:COL lines
 * unless quiet. Returns 0 or a negative errno.
 */
int compile(const struct catalog *cat, const struct site *site, struct ruleset *rs,
	    bool quiet);

/* Loads the site at path and the catalog it names, then compiles. */
int compile_file(const char *site_path, struct ruleset *rs, bool quiet);

/*
 * The same from YAML text (tests, fuzzing): name stands for the file in
 * messages; the catalog is resolved relative to the source tree.
 */
int compile_string(const char *yaml, const char *name, struct ruleset *rs, bool quiet);

void compile_print(const struct ruleset *rs, bool json);

#endif /* VMSGATE_COMPILE_H */
