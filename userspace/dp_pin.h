/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane as the daemon keeps it: program, maps and per-interface
 * XDP links pinned under VMG_PIN_DIR, so enforcement outlives the daemon
 * and a restarted daemon adopts it without a gap.
 */
#ifndef VMSGATE_DP_PIN_H
#define VMSGATE_DP_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"

#define VMG_PIN_DIR "/sys/fs/bpf/vmsgate"

/* VMG_PIN_DIR, or $VMSGATE_PIN_DIR (tests and side-by-side installs). */
const char *dp_pin_dir(void);

enum dp_xdp_mode { DP_XDP_NONE = 0, DP_XDP_NATIVE, DP_XDP_GENERIC };

/*
 * Loads the program with the maps pinned under VMG_PIN_DIR, creating and
 * pinning them the first time (mounting bpffs if it is missing). Pins of
 * another ABI version are refused. *adopted tells whether a policy was
 * already in force.
 */
int dp_open_pinned(struct dp **out, bool *adopted);

/*
 * Attaches the program to ifname through a pinned bpf_link, native XDP
 * where the driver has it, generic with a warning where not. An existing
 * link is updated to this program atomically. Idempotent.
 */
int dp_attach(struct dp *dp, const char *ifname, enum dp_xdp_mode *mode);
/* What the pinned link of ifname says: its ifindex (0 if the device went away). */
int dp_link_info(const char *ifname, int *ifindex, enum dp_xdp_mode *mode);
/* Detaches ifname and removes its pin; ok if not attached. */
int dp_detach(const char *ifname);
/* Names of interfaces with a pinned link; returns how many (at most max). */
int dp_pinned_links(char names[][16], int max);
/* Removes every pin and VMG_PIN_DIR. */
int dp_unpin_all(void);
/* A pinned map's fd by map name, or -errno. */
int dp_pinned_map(const char *name);

struct dp_map_usage {
	const char *name;
	uint32_t entries;	/* current entries, both generations */
	uint32_t capacity;
};

/* Entries and capacity of the policy maps; returns how many were filled. */
int dp_map_usage(struct dp *dp, struct dp_map_usage *out, int max);

const char *xdp_mode_name(enum dp_xdp_mode mode);

/* Used by dp_open_pinned(): before load, reuse pinned maps; after, pin the rest. */
struct bpf_object;
int dp_pin_reuse(struct bpf_object *obj, bool *adopted);
int dp_pin_object(struct bpf_object *obj, int prog_fd);
int dp_prog_fd(const struct dp *dp);

#endif /* VMSGATE_DP_PIN_H */
