/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI shared by the XDP program and the vmsgate binary: map keys and
 * values, reason codes, limits. Both sides include this file and nothing
 * else defines these structures.
 *
 * Every policy map key carries a generation (0 or 1). The program reads the
 * active generation once per packet and uses it for every lookup, so a packet
 * is judged wholly by one policy. Userspace fills the idle generation, flips
 * the active one, waits for in-flight programs to finish and then clears the
 * old generation.
 */
#ifndef VMSGATE_ABI_H
#define VMSGATE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bumped whenever a map layout below changes; pins of another version are refused. */
#define VMG_ABI_VERSION 1

#define VMG_MAX_HOSTS		(1 << 18)	/* exact addresses, per generation */
#define VMG_MAX_PREFIXES	(1 << 16)	/* prefixes per family, per generation */
#define VMG_MAX_PORT_RULES	(1 << 18)	/* (class, proto, port, dir) entries */
#define VMG_MAX_RULES		4096		/* compiled rules, per generation */
#define VMG_MAX_ROLES		64
#define VMG_MAX_FRAGS		16384		/* first fragments remembered */
#define VMG_MAX_VLAN		2
#define VMG_MAX_EXTHDR		8		/* IPv6 extension headers walked */
#define VMG_RINGBUF_SIZE	(256 * 1024)
#define VMG_EVENTS_PER_SEC	1000		/* per CPU */

enum vmg_reason {
	VMG_R_BYPASS = 0,	/* not IP, or IPv6 neighbour discovery */
	VMG_R_MALFORMED,
	VMG_R_UNLISTED,		/* destination is not protected */
	VMG_R_ICMP,
	VMG_R_FRAGMENT,		/* non-first fragment */
	VMG_R_ALLOWED,		/* forward rule */
	VMG_R_RETURN,		/* return rule */
	VMG_R_ESTABLISHED,	/* conntrack reply */
	VMG_R_LOCAL_ONLY,
	VMG_R_SRC_NOT_ALLOWED,
	VMG_R_PORT_NOT_ALLOWED,
	VMG_R_COUNT,
};

enum vmg_action {
	VMG_A_PASS = 0,
	VMG_A_DROP,
	VMG_A_WOULD_DROP,	/* monitor mode */
	VMG_A_COUNT,
};

enum vmg_mode { VMG_MODE_ENFORCE = 0, VMG_MODE_MONITOR = 1 };
enum vmg_icmp { VMG_ICMP_ALLOW = 0, VMG_ICMP_ERRORS_ONLY, VMG_ICMP_DENY };

/* Per-generation settings, index = generation in the config array. */
struct vmg_config {
	__u32 abi_version;
	__u8 mode;			/* enum vmg_mode */
	__u8 unlisted_drop;		/* 1: drop traffic to unprotected addresses */
	__u8 icmp;			/* enum vmg_icmp */
	__u8 unknown_frag_drop;		/* 1: drop unmatched non-first fragments */
	__u8 has_prefix_v4;		/* skip a trie that holds nothing */
	__u8 has_prefix_v6;
	__u8 conntrack;			/* 1: look up replies in conntrack */
	__u8 pad;
	__u32 generation;		/* policy generation number, for metrics */
	__u32 pad2;
};

/* Index 0 of the state array: which generation packets are judged by. */
struct vmg_state {
	__u32 active;			/* 0 or 1 */
	__u32 pad;
};

#define VMG_FAMILY_V4 4
#define VMG_FAMILY_V6 6

/* An exact address. IPv4 addresses use the first four bytes of addr. */
struct vmg_host_key {
	__u32 gen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* Longest-prefix-match key; prefixlen counts the 32 bits of gen. */
struct vmg_lpm_v4_key {
	__u32 prefixlen;
	__u32 gen;			/* network byte order */
	__u8 addr[4];
};

struct vmg_lpm_v6_key {
	__u32 prefixlen;
	__u32 gen;			/* network byte order */
	__u8 addr[16];
};

#define VMG_LPM_GEN_BITS 32

/*
 * What an address is: the set of roles it belongs to (every prefix that
 * contains it, merged by the compiler) and the class of that set, which
 * keys the port rules. role is the role counters are kept under.
 */
struct vmg_host_val {
	__u64 roles;			/* bit per role index */
	__u16 class_id;			/* 0: not protected (a source-only address) */
	__u8 role;			/* primary role, for per-role counters */
	__u8 protected_;		/* 1 if a destination of the policy */
	__u32 pad;
};

#define VMG_DIR_FORWARD 0
#define VMG_DIR_RETURN 1

struct vmg_port_key {
	__u32 gen;
	__u16 class_id;
	__u16 port;			/* host byte order */
	__u8 proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 dir;			/* VMG_DIR_* */
	__u8 pad[2];
};

#define VMG_PF_LOCAL_ONLY 0x1

struct vmg_port_val {
	__u64 src_roles;		/* roles a source must hold one of */
	__u32 rule_id;			/* index into the rule counters */
	__u32 flags;			/* VMG_PF_* */
};

struct vmg_counter {
	__u64 packets;
	__u64 bytes;
};

/* Index helpers for the per-CPU counter arrays. */
#define VMG_REASON_IDX(reason, action) ((reason) * VMG_A_COUNT + (action))
#define VMG_REASON_SLOTS (VMG_R_COUNT * VMG_A_COUNT)
#define VMG_ROLE_IDX(role, reason) ((role) * VMG_R_COUNT + (reason))
#define VMG_ROLE_SLOTS (VMG_MAX_ROLES * VMG_R_COUNT)
#define VMG_RULE_IDX(gen, rule) ((gen) * VMG_MAX_RULES + (rule))
#define VMG_RULE_SLOTS (2 * VMG_MAX_RULES)

struct vmg_frag_key {
	__u8 family;
	__u8 proto;
	__u16 pad;
	__u32 id;
	__u8 src[16];
	__u8 dst[16];
};

/*
 * What the first fragment of a datagram was judged. Its rule counts the
 * later fragments only while gen is still the active generation.
 */
struct vmg_frag_val {
	__u32 rule_id;
	__u8 reason;
	__u8 gen;
	__u8 pad[2];
};

/* A drop (or would-drop) event sent to userspace through the ring buffer. */
struct vmg_event {
	__u64 ts_ns;
	__u8 src[16];
	__u8 dst[16];
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u8 reason;
	__u8 action;
	__u8 role;			/* VMG_ROLE_NONE: not a protected host */
	__u8 pad[7];
};

#define VMG_ROLE_NONE 0xff

/* Per-CPU token bucket for events. */
struct vmg_ratelimit {
	__u64 window_start_ns;
	__u32 sent;
	__u32 suppressed;
};

/*
 * Result of the last packet judged on this CPU; read back by explain and
 * replay after BPF_PROG_TEST_RUN, never used by the data path itself.
 */
struct vmg_last {
	/*
	 * The rule that let the packet through, or for local_only and
	 * src_not_allowed the rule whose port it hit; VMG_RULE_NONE otherwise.
	 */
	__u32 rule_id;
	__u8 reason;
	__u8 action;
	__u8 dir;
	__u8 valid;
};

#define VMG_RULE_NONE 0xffffffffu

#endif /* VMSGATE_ABI_H */
