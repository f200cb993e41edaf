/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables: the daemon's table inet vmsgate, kept in step with the compiled
 * policy (DESIGN.md "nftables").
 *
 * The desired state (sets of merged intervals, the forward chain's rules) is
 * computed from a ruleset without touching the kernel, so it can be printed
 * and tested without root. nft_sync_*() then bring the kernel's table to it
 * by difference, in one netlink transaction, and put it back when someone
 * else changes it.
 *
 * The kernel's table is read by netlink dumps, except while nothing at all
 * was committed in the network namespace since our last sync or read (its
 * nf_tables generation is still the one we left): then it is what we left,
 * and apply, check and repair cost one round trip. Reading a set of 10^5
 * intervals takes the kernel about half a second.
 */
#ifndef VMSGATE_NFT_H
#define VMSGATE_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ruleset.h"

struct nlmsghdr;
struct nftnl_rule;

#define NFT_TABLE	"vmsgate"		/* in family inet */
#define NFT_CHAIN	"forward"
#define NFT_NAME_MAX	40			/* "failover_recording_server_v4" fits */
#define NFT_COMMENT_MAX	128			/* bytes nft accepts in a comment */
#define NFT_NO_VERDICT	(-1)			/* count only, then go on */
#define NFT_ELEMS_PER_MSG 1024			/* elements per netlink message */

/* An inclusive range of addresses, network byte order; IPv4 uses 4 bytes. */
struct nft_interval {
	uint8_t lo[16];
	uint8_t hi[16];
};

/* A set of one family: intervals sorted, disjoint and never adjacent. */
struct nft_set_spec {
	char name[NFT_NAME_MAX];	/* "recording_server_v4", "protected_v6" */
	uint8_t family;			/* VMG_FAMILY_V4 or VMG_FAMILY_V6 */
	struct nft_interval *iv;
	size_t niv;
};

/*
 * An element as the kernel stores an interval set: a start key, and an end
 * key (the first address after the interval) flagged as such. An interval
 * that runs to the last address has no end element; its start is "open".
 */
struct nft_elem {
	uint8_t key[16];
	bool end;
	bool open;
};

/* One rule of chain forward; empty names and zeroes are absent matches. */
struct nft_rule_spec {
	bool ct_established;		/* ct state established,related */
	uint8_t family;			/* of saddr and daddr; 0 when neither */
	char saddr[NFT_NAME_MAX];	/* set the source must be in, or "" */
	char daddr[NFT_NAME_MAX];
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP or 0 */
	uint16_t port;
	uint16_t port_end;		/* inclusive; == port for one port */
	bool counter;
	int verdict;			/* NF_ACCEPT, NF_DROP or NFT_NO_VERDICT */
	int32_t rule_id;		/* the compiled rule, or -1 */
	char comment[NFT_COMMENT_MAX + 1];
};

struct nft_desired {
	struct nft_set_spec *sets;	/* roles in enum order, then protected */
	size_t nsets;
	struct nft_rule_spec *rules;	/* in chain order */
	size_t nrules;
};

/*
 * The desired state of rs: a set per role and family with addresses,
 * protected_v4/_v6, and the rules: established and related first, one accept
 * per (compiled rule, source role, family), drops for protected
 * destinations, and a last drop when unlisted destinations are dropped. In
 * monitor mode the drops only count, as the XDP program passes everything.
 */
int nft_desired_build(const struct ruleset *rs, struct nft_desired *d);
void nft_desired_free(struct nft_desired *d);
const struct nft_set_spec *nft_desired_find_set(const struct nft_desired *d,
						const char *name);
/* Prints d as nft would list it (counters without values). */
void nft_desired_print(FILE *f, const struct nft_desired *d);

/* Merges the prefixes of one family into sorted, disjoint, non-adjacent intervals. */
int nft_intervals_merge(const struct prefix *p, size_t n, uint8_t family,
			struct nft_interval **out, size_t *nout);
/* "10.0.0.0/16", "10.0.0.5", "10.0.0.5-10.0.0.9" */
const char *nft_interval_str(const struct nft_interval *iv, uint8_t family, char *buf,
			     size_t len);
/* The kernel elements of a set, sorted by key. */
int nft_set_elems(const struct nft_set_spec *s, struct nft_elem **out, size_t *n);
int nft_elem_cmp(const void *a, const void *b);

/* The rule in nft syntax, as `nft list` prints it without counter values. */
const char *nft_rule_str(const struct nft_rule_spec *r, char *buf, size_t len);
/* The rule as libnftnl expressions, for table inet vmsgate chain forward. NULL: ENOMEM. */
struct nftnl_rule *nft_rule_build(const struct nft_rule_spec *r);
/*
 * A rule's expressions and comment as text, counters without values: two
 * rules match when these are equal. malloc'd; NULL on ENOMEM.
 */
char *nft_rule_canon(const struct nftnl_rule *r);
/* The comment of a rule (NFTNL_UDATA_RULE_COMMENT), or NULL. */
const char *nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t len);

/* Puts n elements (at most NFT_ELEMS_PER_MSG) of set into a SETELEM message. */
void nft_elems_msg_put(struct nlmsghdr *nlh, const char *set, const struct nft_elem *el,
		       size_t n, int keylen);
/* Appends the elements of a SETELEM message to *el (of *n, capacity *cap). */
int nft_elems_msg_parse(const struct nlmsghdr *nlh, struct nft_elem **el, size_t *n,
			size_t *cap);

struct nft_sync;	/* one netlink socket, one event socket, the last desired state */

struct nft_stats {
	unsigned long batches;		/* transactions sent */
	unsigned long elements_added;	/* kernel set elements */
	unsigned long elements_removed;
	unsigned long rules_replaced;	/* rules added by a flush and re-add */
	unsigned long repairs;
	unsigned long errors;
};

int nft_sync_open(struct nft_sync **out);
void nft_sync_close(struct nft_sync *ns);
/*
 * Brings table inet vmsgate to the state rs describes, by difference, in one
 * netlink transaction; an unchanged state sends nothing. *changed says
 * whether anything was sent. 0 or -errno; on error the kernel is unchanged.
 */
int nft_sync_apply(struct nft_sync *ns, const struct ruleset *rs, bool *changed);
/*
 * Records rs as the state the table should be in without sending anything,
 * so that nft_sync_check() and nft_sync_repair() compare against it.
 */
int nft_sync_adopt(struct nft_sync *ns, const struct ruleset *rs);
/* 1 if the kernel's table differs from the last applied state, 0 if in step. */
int nft_sync_check(struct nft_sync *ns);
/*
 * Puts the kernel's table back to the last applied state if someone else
 * changed or deleted it: 1 if repaired, 0 if in step (or nothing applied yet).
 */
int nft_sync_repair(struct nft_sync *ns);
/* A non-blocking netlink socket subscribed to NFNLGRP_NFTABLES, for poll(). */
int nft_sync_event_fd(const struct nft_sync *ns);
/*
 * Reads the pending events: 1 if one concerned table inet vmsgate and was not
 * caused by us (or events were lost), 0 if not, or -errno.
 */
int nft_sync_drain_events(struct nft_sync *ns);
/* Removes table inet vmsgate (fine if absent) and forgets the applied state. */
int nft_sync_delete_table(struct nft_sync *ns);
const struct nft_stats *nft_sync_stats(const struct nft_sync *ns);

#endif /* VMSGATE_NFT_H */
