/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI shared by the XDP program and the vmsgate binary: map keys and
 * values, reason codes, limits. Both sides include this file and nothing
 * else defines these structures.
 *
 * Every policy map holds two generations (0 and 1): the trie keys carry
 * theirs, the hash tables keep each in its own half. The program reads the
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
#define VMG_ABI_VERSION 2

#define VMG_MAX_HOSTS		(1 << 18)	/* exact addresses, per generation */
#define VMG_MAX_PREFIXES	(1 << 16)	/* prefixes per family, per generation */
#define VMG_MAX_PORT_RULES	(1 << 18)	/* (class, proto, port, dir) entries */
#define VMG_MAX_RULES		4096		/* compiled rules, per generation */
#define VMG_MAX_ROLES		64
#define VMG_MAX_FRAGS		16384		/* first fragments remembered */
#define VMG_MAX_VLAN		2
#define VMG_MAX_EXTHDR		8		/* IPv6 extension headers walked */
#define VMG_MAX_KINDS		65536		/* distinct host values, per generation */
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
	__u32 seed;			/* of this generation's hash tables */
};

/* Index 0 of the state array: which generation packets are judged by. */
struct vmg_state {
	__u32 active;			/* 0 or 1 */
	__u32 pad;
};

#define VMG_FAMILY_V4 4
#define VMG_FAMILY_V6 6

/*
 * Exact addresses and port rules live in hash tables that userspace builds
 * and the program probes inline, without a helper call: ARRAY maps of
 * buckets of VMG_BUCKET_SLOTS slots, generation g in buckets
 * [g * N, (g + 1) * N). A key sits in one of the two buckets its hash names
 * (cuckoo hashing), so a lookup reads two buckets at most. The tables have
 * room for a quarter more keys than the limits above, which keeps placing
 * every key quick; userspace picks another seed in the rare case it cannot.
 * Limitation: the tables are preallocated for the limits, some 30 MiB for
 * the two generations whatever the policy's size.
 */
#define VMG_BUCKET_SLOTS	4
#define VMG_HOST_BUCKETS	(VMG_MAX_HOSTS / VMG_BUCKET_SLOTS / 4 * 5)
#define VMG_PORT_BUCKETS	(VMG_MAX_PORT_RULES / VMG_BUCKET_SLOTS / 4 * 5)

/* An exact address; family 0 marks a free slot. */
struct vmg_host_slot {
	__u32 addr[4];			/* as on the wire; IPv4 in addr[0], the rest 0 */
	__u16 kind;			/* what the address is: index into vmg_kinds */
	__u8 family;			/* VMG_FAMILY_V4 or VMG_FAMILY_V6 */
	__u8 pad;
};

struct vmg_host_bucket {
	struct vmg_host_slot slot[VMG_BUCKET_SLOTS];
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

/* A port rule's key in the compiled ruleset; see vmg_port_key_pack(). */
struct vmg_port_key {
	__u32 gen;			/* unused */
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

/* key 0 marks a free slot: a packed key always holds a protocol */
struct vmg_port_slot {
	__u64 key;			/* vmg_port_key_pack() */
	struct vmg_port_val val;
};

struct vmg_port_bucket {
	struct vmg_port_slot slot[VMG_BUCKET_SLOTS];
};

static inline __u64 vmg_port_key_pack(__u16 class_id, __u16 port, __u8 proto, __u8 dir)
{
	return (__u64)class_id | (__u64)port << 16 | (__u64)proto << 32 | (__u64)dir << 40;
}

/*
 * The hash of the tables, the same on both sides. Each bucket choice is the
 * high half of a sum of products of the key's halves with odd constants:
 * the best-mixed bits of a multiplication, and four multiplications that
 * do not wait for one another, as the program computes them per packet.
 * It only has to spread keys: a seed that places them badly is replaced.
 */
#define VMG_HASH_MUL1 0x9e3779b97f4a7c15ULL
#define VMG_HASH_MUL2 0xd6e8feb86659fd93ULL
#define VMG_HASH_MUL3 0xa0761d6478bd642fULL
#define VMG_HASH_MUL4 0xe7037ed1a0b428dbULL

static inline __u64 vmg_hash2(__u64 lo, __u64 hi)
{
	__u64 h0, h1;

	/* bits that vary only near the top would reach few product bits */
	hi ^= hi >> 29;
	h0 = lo * VMG_HASH_MUL1 + hi * VMG_HASH_MUL2;
	h1 = lo * VMG_HASH_MUL3 + hi * VMG_HASH_MUL4;
	return (h1 & 0xffffffff00000000ULL) | h0 >> 32;
}

static inline __u64 vmg_host_hash(const __u32 addr[4], __u8 family, __u32 seed)
{
	__u64 lo = (__u64)addr[1] << 32 | addr[0], hi = (__u64)addr[3] << 32 | addr[2];

	return vmg_hash2(lo ^ seed, hi ^ family);
}

static inline __u64 vmg_port_hash(__u64 key, __u32 seed)
{
	return vmg_hash2(key ^ seed, key >> 32);
}

/* The two buckets of a hash: its low and its high 32 bits, scaled to n. */
static inline __u32 vmg_bucket(__u64 hash, int second, __u32 n)
{
	__u32 h = second ? (__u32)(hash >> 32) : (__u32)hash;

	return (__u32)(((__u64)h * n) >> 32);
}

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
