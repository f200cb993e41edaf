/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsers of the XDP program. Each helper takes a cursor, checks
 * every byte it reads against the end of the frame (for the verifier) and
 * against the length the IP header declares (for the packet's sake), and
 * reports a malformed packet rather than guessing.
 *
 * The cursor holds an offset, not a pointer: the program hands it from one
 * verifier-checked function to the next (see vmsgate.bpf.c), and only
 * scalars cross that boundary.
 */
#ifndef VMSGATE_PARSE_H
#define VMSGATE_PARSE_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vmsgate_abi.h"

#define ETH_P_IP_	0x0800
#define ETH_P_IPV6_	0x86DD
#define ETH_P_8021Q_	0x8100
#define ETH_P_8021AD_	0x88A8

#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ICMP_		1
#define IPPROTO_TCP_		6
#define IPPROTO_UDP_		17
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_AH_		51
#define IPPROTO_ICMPV6_		58
#define IPPROTO_DSTOPTS_	60

#define IP_MF_		0x2000
#define IP_OFFSET_	0x1fff
#define IP6_MF_		0x0001
#define IP6_OFFSET_	0xfff8

#define TCP_FLAG_SYN_	0x02
#define TCP_FLAG_ACK_	0x10

/*
 * Headers end before this offset or the packet is malformed: 14 + 8 bytes
 * of link layer, 60 of IPv4 or 40 + 8 * 2048 of IPv6 headers fit, and the
 * verifier accepts every pointer below 64 KiB. Limitation: only the first
 * buffer of a multi-buffer frame is parsed; headers beyond it are malformed.
 */
#define PKT_MAX_OFF	0x7fff

enum parse_result {
	PARSE_IP = 0,		/* an IPv4 or IPv6 packet, described by struct pkt */
	PARSE_BYPASS,		/* not IP, or IPv6 neighbour discovery */
	PARSE_MALFORMED,
};

enum pkt_frag {
	PKT_FRAG_NONE = 0,
	PKT_FRAG_FIRST,		/* offset 0, more fragments follow */
	PKT_FRAG_LATER,		/* offset != 0: no transport header here */
};

struct cursor {
	void *data;		/* start of the frame */
	void *end;		/* end of the frame */
	__u32 off;		/* where the next header starts */
	__u32 left;		/* bytes the IP header says remain from off */
};

/* What the verdict needs to know about a packet. */
struct pkt {
	__u8 src[16];		/* IPv4 in the first four bytes, the rest zero */
	__u8 dst[16];
	__u32 frag_id;
	__u16 sport;		/* host byte order; 0 without ports */
	__u16 dport;
	__u8 family;		/* VMG_FAMILY_V4 or VMG_FAMILY_V6 */
	__u8 proto;		/* upper-layer protocol, or the next IPv6 header */
	__u8 frag;		/* enum pkt_frag */
	__u8 frag_proto;	/* what the fragment header says follows it */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 is_icmp;		/* ICMP for IPv4, ICMPv6 for IPv6 */
	__u8 pad;
	/* the cursor between parsing steps */
	__u32 off;
	__u32 left;
};

/* The next len bytes, or NULL when the frame or the datagram is shorter. */
static __always_inline void *cursor_peek(const struct cursor *c, __u32 len)
{
	void *hdr;

	if (c->off > PKT_MAX_OFF || len > c->left)
		return NULL;
	hdr = c->data + c->off;
	if (hdr + len > c->end)
		return NULL;
	return hdr;
}

/* The same, and moves past them. */
static __always_inline void *cursor_pull(struct cursor *c, __u32 len)
{
	void *hdr = cursor_peek(c, len);

	if (hdr) {
		c->off += len;
		c->left -= len;
	}
	return hdr;
}

/* Moves past len bytes, which may be more than the verifier could let us read. */
static __always_inline int cursor_skip(struct cursor *c, __u32 len)
{
	if (c->off > PKT_MAX_OFF || len > c->left || len > PKT_MAX_OFF)
		return -1;
	if (c->data + c->off + len > c->end)
		return -1;
	c->off += len;
	c->left -= len;
	return 0;
}

/* Ethernet and up to VMG_MAX_VLAN tags; a further tag is malformed. */
static __always_inline int parse_eth(struct cursor *c, __u16 *proto)
{
	struct ethhdr *eth;
	struct vlan_hdr *vlan;
	__u16 p;
	int i;

	eth = cursor_pull(c, sizeof(*eth));
	if (!eth)
		return PARSE_MALFORMED;
	p = eth->h_proto;

#pragma unroll
	for (i = 0; i < VMG_MAX_VLAN; i++) {
		if (p != bpf_htons(ETH_P_8021Q_) && p != bpf_htons(ETH_P_8021AD_))
			break;
		vlan = cursor_pull(c, sizeof(*vlan));
		if (!vlan)
			return PARSE_MALFORMED;
		p = vlan->h_vlan_encapsulated_proto;
	}
	if (p == bpf_htons(ETH_P_8021Q_) || p == bpf_htons(ETH_P_8021AD_))
		return PARSE_MALFORMED;

	*proto = p;
	return PARSE_IP;
}

/* IPv4 header with its options; afterwards c->left is the IP payload length. */
static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *ip;
	__u32 hlen, tot_len;
	__u16 frag_off;

	ip = cursor_peek(c, sizeof(*ip));
	if (!ip || ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	hlen = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < hlen || c->data + c->off + tot_len > c->end)
		return PARSE_MALFORMED;
	c->left = tot_len;
	if (cursor_skip(c, hlen))
		return PARSE_MALFORMED;

	p->family = VMG_FAMILY_V4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);

	frag_off = bpf_ntohs(ip->frag_off);
	if (frag_off & IP_OFFSET_)
		p->frag = PKT_FRAG_LATER;
	else if (frag_off & IP_MF_)
		p->frag = PKT_FRAG_FIRST;
	p->frag_id = bpf_ntohs(ip->id);
	p->frag_proto = ip->protocol;
	return PARSE_IP;
}

/* The fixed IPv6 header; p->proto is then the first next header. */
static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6;
	__u32 payload_len;

	ip6 = cursor_pull(c, sizeof(*ip6));
	if (!ip6 || ip6->version != 6)
		return PARSE_MALFORMED;
	/*
	 * Limitation: a jumbogram (payload length 0, RFC 2675) holds no
	 * transport header within its declared length and is malformed here.
	 */
	payload_len = bpf_ntohs(ip6->payload_len);
	if (c->data + c->off + payload_len > c->end)
		return PARSE_MALFORMED;
	c->left = payload_len;

	p->family = VMG_FAMILY_V6;
	p->proto = ip6->nexthdr;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	return PARSE_IP;
}

static __always_inline int ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS_ || nexthdr == IPPROTO_ROUTING_ ||
	       nexthdr == IPPROTO_DSTOPTS_ || nexthdr == IPPROTO_FRAGMENT_ ||
	       nexthdr == IPPROTO_AH_;
}

/*
 * The extension header p->proto names, at the cursor. Afterwards p->proto
 * is the header that follows; a fragment header with an offset makes the
 * packet a later fragment, whose remaining bytes are not headers.
 */
static __always_inline int parse_ipv6_ext(struct cursor *c, struct pkt *p)
{
	struct frag_hdr *fh;
	__u8 *hdr;
	__u32 len;

	/* every extension header is at least 8 bytes */
	hdr = cursor_peek(c, 8);
	if (!hdr)
		return PARSE_MALFORMED;

	switch (p->proto) {
	case IPPROTO_FRAGMENT_:
		fh = (struct frag_hdr *)hdr;
		len = 8;
		p->frag_proto = fh->nexthdr;
		p->frag_id = bpf_ntohl(fh->identification);
		if (bpf_ntohs(fh->frag_off) & IP6_OFFSET_)
			p->frag = PKT_FRAG_LATER;
		else if (bpf_ntohs(fh->frag_off) & IP6_MF_)
			p->frag = PKT_FRAG_FIRST;
		break;
	case IPPROTO_AH_:
		len = (hdr[1] + 2) * 4;		/* RFC 4302: 32-bit words, less 2 */
		break;
	default:
		len = (hdr[1] + 1) * 8;		/* RFC 8200: 8 octets, less 1 */
		break;
	}
	p->proto = hdr[0];
	if (cursor_skip(c, len))
		return PARSE_MALFORMED;
	return PARSE_IP;
}

/* Transport header of a packet that is not a later fragment. */
static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	struct tcphdr *tcp;
	struct udphdr *udp;
	__u8 *icmp;
	__u32 doff;

	if (p->family == VMG_FAMILY_V4 && p->proto == IPPROTO_ICMP_)
		p->is_icmp = 1;
	else if (p->family == VMG_FAMILY_V6 && p->proto == IPPROTO_ICMPV6_)
		p->is_icmp = 1;

	if (p->is_icmp) {
		/* type, code, checksum */
		icmp = cursor_pull(c, 4);
		if (!icmp)
			return PARSE_MALFORMED;
		p->icmp_type = icmp[0];
		return PARSE_IP;
	}

	switch (p->proto) {
	case IPPROTO_TCP_:
		tcp = cursor_peek(c, sizeof(*tcp));
		if (!tcp)
			return PARSE_MALFORMED;
		doff = tcp->doff * 4;
		if (doff < sizeof(*tcp) || cursor_skip(c, doff))
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(tcp->source);
		p->dport = bpf_ntohs(tcp->dest);
		p->tcp_flags = ((__u8 *)tcp)[13];
		break;
	case IPPROTO_UDP_:
		udp = cursor_pull(c, sizeof(*udp));
		if (!udp)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(udp->source);
		p->dport = bpf_ntohs(udp->dest);
		break;
	default:
		/* GRE, SCTP, ESP, ...: no ports the policy knows of */
		break;
	}
	return PARSE_IP;
}

static __always_inline int is_neighbour_discovery(const struct pkt *p)
{
	/* router solicitation (133) to redirect (137) */
	return p->family == VMG_FAMILY_V6 && p->is_icmp &&
	       p->icmp_type >= 133 && p->icmp_type <= 137;
}

#endif /* VMSGATE_PARSE_H */
