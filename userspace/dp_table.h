/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane's hash tables, built in memory: one generation's exact
 * addresses and port rules placed by cuckoo hashing into the buckets the
 * XDP program probes (vmsgate_abi.h). Nothing here talks to the kernel, so
 * the placement is tested without root.
 */
#ifndef VMSGATE_DP_TABLE_H
#define VMSGATE_DP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"
#include "vmsgate_abi.h"

struct dp_tables {
	struct vmg_host_bucket *hosts;	/* VMG_HOST_BUCKETS */
	struct vmg_port_bucket *ports;	/* VMG_PORT_BUCKETS */
	struct vmg_host_val *kinds;	/* what each distinct kind of address is */
	size_t nkinds;
	size_t nhosts;
	size_t nports;
	uint32_t seed;			/* the hash seed every key was placed with */
};

/*
 * Builds the tables of rs's exact addresses and port rules. Returns 0,
 * -E2BIG when they do not fit (saying which map), or -ENOMEM.
 */
int dp_tables_build(const struct ruleset *rs, struct dp_tables *t);
void dp_tables_free(struct dp_tables *t);

/* The program's lookups, in C: NULL when the key is not in the tables. */
const struct vmg_host_val *dp_tables_host(const struct dp_tables *t, const struct prefix *addr);
const struct vmg_port_val *dp_tables_port(const struct dp_tables *t, uint16_t class_id,
					  uint16_t port, uint8_t proto, uint8_t dir);

/* Free slots are all zero: a bucket with none in use is skipped when filling. */
int dp_host_bucket_used(const struct vmg_host_bucket *b);
int dp_port_bucket_used(const struct vmg_port_bucket *b);

#endif /* VMSGATE_DP_TABLE_H */
