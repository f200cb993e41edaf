/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane: the XDP program and its maps, seen from userspace.
 * dp_open_private() loads a private copy (explain, replay, tests);
 * the daemon's pinned and attached copy uses the same fill and swap code.
 */
#ifndef VMSGATE_DATAPLANE_H
#define VMSGATE_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"
#include "vmsgate_abi.h"

struct dp;

/* The outcome of one packet judged through BPF_PROG_TEST_RUN. */
struct dp_verdict {
	int xdp_action;			/* XDP_PASS or XDP_DROP */
	enum vmg_reason reason;
	enum vmg_action action;
	uint32_t rule_id;		/* VMG_RULE_NONE when no rule decided */
	uint8_t dir;			/* VMG_DIR_FORWARD or VMG_DIR_RETURN */
};

/* Loads the program and maps privately: nothing pinned, nothing attached. */
int dp_open_private(struct dp **out);
/*
 * The same, but the program does not record verdicts for dp_judge(): it
 * then runs exactly as the daemon's pinned copy does (benchmarks).
 */
int dp_open_private_unrecorded(struct dp **out);
void dp_close(struct dp *dp);
/* True when the program was loaded with its conntrack lookup. */
bool dp_has_conntrack(const struct dp *dp);

/*
 * Makes rs the policy in force: checks that it fits the maps (refusing with
 * a message naming the map and the sizes before anything changes), fills
 * the idle generation, flips the active one, waits for programs in flight,
 * then removes the old generation's entries. A policy equal to the one this
 * process last put in force, and still in force, changes nothing.
 */
int dp_apply(struct dp *dp, const struct ruleset *rs);
/* source, when given, names the policy file in the one error line. */
int dp_check_fits(const struct ruleset *rs, const char *source);
/* The generation packets are judged by now (0 or 1). */
int dp_active_gen(const struct dp *dp);

/* How many entries generation gen holds in each policy map. */
struct dp_entries {
	size_t hosts;
	size_t prefixes_v4;
	size_t prefixes_v6;
	size_t ports;
};

int dp_gen_entries(struct dp *dp, int gen, struct dp_entries *out);

/* Judges one Ethernet frame with the loaded program. */
int dp_judge(struct dp *dp, const void *frame, size_t len, struct dp_verdict *v);

/*
 * Drop and would-drop events, as the program sends them: at most
 * VMG_EVENTS_PER_SEC per CPU and second. fn returns 0 to go on.
 */
typedef int (*dp_event_fn)(void *ctx, const struct vmg_event *e);
int dp_events_subscribe(struct dp *dp, dp_event_fn fn, void *ctx);
/* Hands waiting events to the subscriber, waiting up to timeout_ms for one. */
int dp_events_poll(struct dp *dp, int timeout_ms);
/* Events held back by the rate limit or a full ring, summed over CPUs. */
int dp_events_suppressed(struct dp *dp, uint64_t *out);

/* Counters summed over CPUs. */
/* n slots from first of a per-CPU vmg_counter array, by fd (pinned maps too). */
int dp_counters_read(int fd, uint32_t first, uint32_t n, struct vmg_counter *out);
int dp_reason_counters(struct dp *dp, struct vmg_counter out[VMG_REASON_SLOTS]);
int dp_rule_counter(struct dp *dp, uint32_t rule_id, struct vmg_counter *out);
int dp_role_counters(struct dp *dp, struct vmg_counter out[VMG_ROLE_SLOTS]);
int dp_reset_counters(struct dp *dp);

const char *reason_name(enum vmg_reason r);
const char *action_name(enum vmg_action a);

#endif /* VMSGATE_DATAPLANE_H */
