// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cuckoo hashing into the data plane's bucket tables. A key may sit in
 * either of the two buckets its hash names; when both are full, a random
 * slot's occupant makes room and moves to its own other bucket, and so on.
 * With the tables at most 80% full this ends after a few moves; if it runs
 * long the whole generation is placed again with another seed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dp_table.h"
#include "log.h"

#define MAX_MOVES 2000		/* per key, before giving up on a seed */
#define MAX_SEEDS 8
#define SLOT_MAX 32

struct cuckoo {
	char *buckets;
	size_t slot_size;
	uint32_t nbuckets;
	uint32_t seed;
	uint32_t rng;
	uint64_t (*hash)(const void *slot, uint32_t seed);
	bool (*empty)(const void *slot);
};

static uint32_t next_rand(struct cuckoo *c)
{
	/* xorshift32: any cheap sequence will do, it only breaks cycles */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 17;
	c->rng ^= c->rng << 5;
	return c->rng;
}

static void *slot_at(const struct cuckoo *c, uint32_t b, uint32_t i)
{
	return c->buckets + ((size_t)b * VMG_BUCKET_SLOTS + i) * c->slot_size;
}

static bool place(struct cuckoo *c, uint32_t b, const void *item)
{
	for (uint32_t i = 0; i < VMG_BUCKET_SLOTS; i++) {
		void *s = slot_at(c, b, i);

		if (c->empty(s)) {
			memcpy(s, item, c->slot_size);
			return true;
		}
	}
	return false;
}

/* Places item; -ENOSPC when a key is left without a slot (the table is then spoilt). */
static int cuckoo_insert(struct cuckoo *c, const void *item)
{
	char cur[SLOT_MAX], tmp[SLOT_MAX];
	uint32_t from = UINT32_MAX;

	memcpy(cur, item, c->slot_size);
	for (int move = 0; move < MAX_MOVES; move++) {
		uint64_t h = c->hash(cur, c->seed);
		uint32_t b0 = vmg_bucket(h, 0, c->nbuckets), b1 = vmg_bucket(h, 1, c->nbuckets);
		uint32_t victim, j;

		/* the first bucket first: the program looks there first */
		if (place(c, b0, cur) || place(c, b1, cur))
			return 0;
		/* both full: evict from the one the key did not just leave */
		if (b0 == from)
			victim = b1;
		else if (b1 == from)
			victim = b0;
		else
			victim = next_rand(c) & 1 ? b1 : b0;
		j = next_rand(c) % VMG_BUCKET_SLOTS;
		memcpy(tmp, slot_at(c, victim, j), c->slot_size);
		memcpy(slot_at(c, victim, j), cur, c->slot_size);
		memcpy(cur, tmp, c->slot_size);
		from = victim;
	}
	return -ENOSPC;
}

/* ---- the two tables ------------------------------------------------------- */

static uint64_t host_slot_hash(const void *slot, uint32_t seed)
{
	const struct vmg_host_slot *s = slot;

	return vmg_host_hash(s->addr, s->family, seed);
}

static bool host_slot_empty(const void *slot)
{
	return !((const struct vmg_host_slot *)slot)->family;
}

static uint64_t port_slot_hash(const void *slot, uint32_t seed)
{
	return vmg_port_hash(((const struct vmg_port_slot *)slot)->key, seed);
}

static bool port_slot_empty(const void *slot)
{
	return !((const struct vmg_port_slot *)slot)->key;
}

static void host_slot_of(const struct prefix *p, uint16_t kind, struct vmg_host_slot *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, p->addr, p->family == VMG_FAMILY_V4 ? 4 : 16);
	s->kind = kind;
	s->family = p->family;
}

/* ---- kinds: the distinct values of the exact addresses ----------------------- */

struct kind_ref {
	struct vmg_host_val val;
	size_t host;
};

static int cmp_kind_ref(const void *a, const void *b)
{
	const struct kind_ref *x = a, *y = b;
	int c = memcmp(&x->val, &y->val, sizeof(x->val));

	if (c)
		return c;
	return x->host < y->host ? -1 : x->host > y->host;
}

/* kind[i] for host i, and t->kinds; values compared with their padding cleared. */
static int build_kinds(const struct ruleset *rs, struct dp_tables *t, uint32_t *kind)
{
	struct kind_ref *refs = calloc(rs->nhosts + 1, sizeof(*refs));
	size_t n = 0;

	t->kinds = calloc(rs->nhosts + 1, sizeof(*t->kinds));
	if (!refs || !t->kinds) {
		free(refs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->nhosts; i++) {
		refs[i].val = rs->hosts[i].val;
		refs[i].val.pad = 0;
		refs[i].host = i;
	}
	qsort(refs, rs->nhosts, sizeof(*refs), cmp_kind_ref);
	for (size_t i = 0; i < rs->nhosts; i++) {
		if (!n || memcmp(&refs[i].val, &t->kinds[n - 1], sizeof(refs[i].val)))
			t->kinds[n++] = refs[i].val;
		kind[refs[i].host] = (uint32_t)(n - 1);
	}
	free(refs);
	t->nkinds = n;
	if (n > VMG_MAX_KINDS) {
		pr_err("policy does not fit map vmg_kinds: %zu entries, capacity %d\n", n,
		       VMG_MAX_KINDS);
		return -E2BIG;
	}
	return 0;
}

/* Every exact address and every port rule with one seed: 0 or -ENOSPC. */
static int place_all(const struct ruleset *rs, const uint32_t *kind, struct dp_tables *t)
{
	struct cuckoo hc = {
		.buckets = (char *)t->hosts,
		.slot_size = sizeof(struct vmg_host_slot),
		.nbuckets = VMG_HOST_BUCKETS,
		.seed = t->seed,
		.rng = t->seed | 1,
		.hash = host_slot_hash,
		.empty = host_slot_empty,
	};
	struct cuckoo pc = {
		.buckets = (char *)t->ports,
		.slot_size = sizeof(struct vmg_port_slot),
		.nbuckets = VMG_PORT_BUCKETS,
		.seed = t->seed,
		.rng = t->seed | 1,
		.hash = port_slot_hash,
		.empty = port_slot_empty,
	};
	int err = 0;

	memset(t->hosts, 0, VMG_HOST_BUCKETS * sizeof(*t->hosts));
	memset(t->ports, 0, VMG_PORT_BUCKETS * sizeof(*t->ports));
	for (size_t i = 0; i < rs->nhosts && !err; i++) {
		struct vmg_host_slot s;

		host_slot_of(&rs->hosts[i].pfx, (uint16_t)kind[i], &s);
		err = cuckoo_insert(&hc, &s);
	}
	for (size_t i = 0; i < rs->nports && !err; i++) {
		const struct port_entry *pe = &rs->ports[i];
		struct vmg_port_slot s = {
			.key = vmg_port_key_pack(pe->key.class_id, pe->key.port, pe->key.proto,
						 pe->key.dir),
			.val = pe->val,
		};

		err = cuckoo_insert(&pc, &s);
	}
	return err;
}

int dp_tables_build(const struct ruleset *rs, struct dp_tables *t)
{
	uint32_t *kind;
	int err;

	memset(t, 0, sizeof(*t));
	kind = calloc(rs->nhosts + 1, sizeof(*kind));
	t->hosts = malloc(VMG_HOST_BUCKETS * sizeof(*t->hosts));
	t->ports = malloc(VMG_PORT_BUCKETS * sizeof(*t->ports));
	if (!kind || !t->hosts || !t->ports) {
		err = -ENOMEM;
		goto out;
	}
	err = build_kinds(rs, t, kind);
	if (err)
		goto out;
	t->nhosts = rs->nhosts;
	t->nports = rs->nports;
	for (int i = 0; i < MAX_SEEDS; i++) {
		t->seed = (uint32_t)i * 0x9e3779b9u;
		err = place_all(rs, kind, t);
		if (!err)
			goto out;
	}
	pr_err("policy does not fit maps vmg_hosts and vmg_ports: %zu addresses and %zu port "
	       "rules could not all be placed\n", rs->nhosts, rs->nports);
	err = -E2BIG;
out:
	free(kind);
	if (err)
		dp_tables_free(t);
	return err;
}

void dp_tables_free(struct dp_tables *t)
{
	free(t->hosts);
	free(t->ports);
	free(t->kinds);
	memset(t, 0, sizeof(*t));
}

/* ---- lookups, as the program makes them ------------------------------------ */

const struct vmg_host_val *dp_tables_host(const struct dp_tables *t, const struct prefix *addr)
{
	struct vmg_host_slot key;
	uint64_t h;

	host_slot_of(addr, 0, &key);
	h = vmg_host_hash(key.addr, key.family, t->seed);
	for (int i = 0; i < 2; i++) {
		const struct vmg_host_bucket *b = &t->hosts[vmg_bucket(h, i, VMG_HOST_BUCKETS)];

		for (int j = 0; j < VMG_BUCKET_SLOTS; j++) {
			const struct vmg_host_slot *s = &b->slot[j];

			if (s->family == key.family && !memcmp(s->addr, key.addr, sizeof(s->addr)))
				return s->kind < t->nkinds ? &t->kinds[s->kind] : NULL;
		}
	}
	return NULL;
}

const struct vmg_port_val *dp_tables_port(const struct dp_tables *t, uint16_t class_id,
					  uint16_t port, uint8_t proto, uint8_t dir)
{
	uint64_t key = vmg_port_key_pack(class_id, port, proto, dir);
	uint64_t h = vmg_port_hash(key, t->seed);

	for (int i = 0; i < 2; i++) {
		const struct vmg_port_bucket *b = &t->ports[vmg_bucket(h, i, VMG_PORT_BUCKETS)];

		for (int j = 0; j < VMG_BUCKET_SLOTS; j++) {
			if (b->slot[j].key == key)
				return &b->slot[j].val;
		}
	}
	return NULL;
}

int dp_host_bucket_used(const struct vmg_host_bucket *b)
{
	int n = 0;

	for (int i = 0; i < VMG_BUCKET_SLOTS; i++)
		n += b->slot[i].family != 0;
	return n;
}

int dp_port_bucket_used(const struct vmg_port_bucket *b)
{
	int n = 0;

	for (int i = 0; i < VMG_BUCKET_SLOTS; i++)
		n += b->slot[i].key != 0;
	return n;
}
