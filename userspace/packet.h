/* SPDX-License-Identifier: GPL-2.0-only */
/* Frames for explain, and a summary of frames for replay's output. */
#ifndef VMSGATE_PACKET_H
#define VMSGATE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

struct pkt_desc {
	struct prefix src;		/* full-length */
	struct prefix dst;
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _ICMP (ICMPv6 for v6) */
	uint16_t sport;
	uint16_t dport;			/* for ICMP: the type */
	uint8_t tcp_flags;		/* TH_SYN ... */
	uint8_t frag;			/* PKT_NOT_FRAG, PKT_FIRST_FRAG, PKT_LATER_FRAG */
};

enum { PKT_NOT_FRAG = 0, PKT_FIRST_FRAG, PKT_LATER_FRAG };

/* Builds an Ethernet frame; returns its length or -errno. */
int pkt_build(const struct pkt_desc *d, uint8_t *buf, size_t len);
/* Parses "S", "SA", "PA", "F", "R" into TCP flag bits; -1 if invalid. */
int pkt_parse_tcp_flags(const char *s);
/* "10.0.0.1", "10.0.0.1:40000", "[fd00::1]:7563"; port may be required. */
int pkt_parse_endpoint(const char *s, struct prefix *addr, uint16_t *port, bool need_port);

/* What a frame is, for people: "tcp 10.0.0.1:40000 > 10.0.0.2:7563 [S]". */
int pkt_summary(const uint8_t *frame, size_t len, struct pkt_desc *d);
const char *pkt_desc_str(const struct pkt_desc *d, char *buf, size_t len);

/* The destination's entry in a ruleset (exact first, then longest prefix). */
const struct host_entry *ruleset_lookup(const struct ruleset *rs, const struct prefix *addr);

#endif /* VMSGATE_PACKET_H */
