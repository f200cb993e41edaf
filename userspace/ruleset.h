/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The compiled policy: what the compiler produces from a catalog and a site,
 * and what the data plane, nftables sync and the printers consume. Nothing
 * here refers back to YAML; a ruleset stands alone.
 */
#ifndef VMSGATE_RULESET_H
#define VMSGATE_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmsgate_abi.h"

/* An address or prefix; IPv4 uses addr[0..3]. */
struct prefix {
	uint8_t family;		/* VMG_FAMILY_V4 or VMG_FAMILY_V6 */
	uint8_t len;		/* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* A compiled rule: flows merged by (to, proto, port range). */
struct rule {
	uint32_t id;		/* index in ruleset.rules, also the counter slot */
	int to;			/* role index */
	uint64_t from;		/* role mask; 0 for a local-only port */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	uint16_t port_end;	/* inclusive */
	bool local_only;
	bool extra;		/* from the site's extra flows */
	char *service;		/* e.g. "Recording Server service" */
	char *purpose;		/* purposes of merged flows, joined with "; " */
};

/* An address or prefix of the policy with every role that covers it. */
struct host_entry {
	struct prefix pfx;
	struct vmg_host_val val;
};

struct port_entry {
	struct vmg_port_key key;	/* gen is filled by the data plane */
	struct vmg_port_val val;
};

struct ruleset {
	struct vmg_config config;	/* generation is filled by the data plane */

	struct rule *rules;
	size_t nrules;

	/* exact addresses (/32, /128) go to the hash map, the rest to the tries */
	struct host_entry *hosts;
	size_t nhosts;
	struct host_entry *prefixes;
	size_t nprefixes;

	struct port_entry *ports;
	size_t nports;

	uint64_t *classes;		/* role mask of each class; classes[0] unused */
	bool *class_source_only;	/* a class of `any` addresses: return entries only */
	size_t nclasses;

	/* per role, its addresses as the site lists them (canonical) */
	struct prefix *role_addrs[VMG_MAX_ROLES];
	size_t role_naddrs[VMG_MAX_ROLES];

	char **interfaces;
	size_t ninterfaces;

	size_t nclosed;			/* flows closed for want of hosts */
};

void ruleset_free(struct ruleset *rs);

#endif /* VMSGATE_RULESET_H */
