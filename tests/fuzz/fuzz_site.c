// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: any bytes through the site loader and the compiler. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "compile.h"
#include "site.h"

static struct catalog cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("VMSGATE_FUZZ_CATALOG");

	if (!path || catalog_load(path, &cat))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset rs;
	struct site site;

	if (site_load_string((const char *)data, size, "fuzz.yaml", &site, true))
		return 0;
	if (!compile(&cat, &site, &rs, true))
		ruleset_free(&rs);
	site_free(&site);
	return 0;
}
