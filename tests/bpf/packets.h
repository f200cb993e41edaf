/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frames for the verdict tests, written byte by byte: Ethernet with 0 to 3
 * VLAN tags, ARP, IPv4 with options and fragments, IPv6 with extension
 * headers, TCP, UDP, ICMP and ICMPv6. Lengths are right unless a test says
 * otherwise; checksums are left zero (XDP does not look at them).
 *
 * A test describes a frame with struct frame_spec and build_frame() writes
 * it; the put_* helpers are the pieces.
 */
#ifndef VMSGATE_TEST_PACKETS_H
#define VMSGATE_TEST_PACKETS_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FRAME_MAX 3072	/* BPF_PROG_TEST_RUN takes a little more than 3 KiB */
#define SPEC_MAX_EXT 12

#define ETH_IP 0x0800
#define ETH_IPV6 0x86dd
#define ETH_ARP 0x0806
#define ETH_LLDP 0x88cc
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8

#define P_HOPOPTS 0
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ROUTING 43
#define P_FRAGMENT 44
#define P_GRE 47
#define P_AH 51
#define P_ICMPV6 58
#define P_NONE 59
#define P_DSTOPTS 60
#define P_SCTP 132

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct frame {
	uint8_t buf[FRAME_MAX];
	size_t len;
};

static inline void put8(struct frame *f, uint8_t v)
{
	if (f->len < FRAME_MAX)
		f->buf[f->len++] = v;
}

static inline void put16(struct frame *f, uint16_t v)
{
	put8(f, v >> 8);
	put8(f, v & 0xff);
}

static inline void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static inline void put_bytes(struct frame *f, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, ((const uint8_t *)p)[i]);
}

static inline void put_zeros(struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, 0);
}

static inline void set16(struct frame *f, size_t off, uint16_t v)
{
	if (off + 2 <= f->len) {
		f->buf[off] = v >> 8;
		f->buf[off + 1] = v & 0xff;
	}
}

/* Destination and source MAC, tags (outer first, 802.1ad then 802.1Q), EtherType. */
static inline void put_eth(struct frame *f, int vlans, uint16_t ethertype)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	put_bytes(f, dst, 6);
	put_bytes(f, src, 6);
	for (int i = 0; i < vlans; i++) {
		put16(f, i == 0 && vlans > 1 ? ETH_QINQ : ETH_VLAN);
		put16(f, 100 + i);	/* TCI: VLAN 100, 101, ... */
	}
	put16(f, ethertype);
}

/* An ARP request, who-has 10.0.0.1 tell 10.0.0.2. */
static inline void put_arp(struct frame *f)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	put16(f, 1);		/* Ethernet */
	put16(f, ETH_IP);
	put8(f, 6);
	put8(f, 4);
	put16(f, 1);		/* request */
	put_bytes(f, mac, 6);
	put32(f, 0x0a000002);
	put_zeros(f, 6);
	put32(f, 0x0a000001);
}

/* An IPv4 header with opt_len bytes of options (NOPs, then EOL); length patched later. */
static inline size_t put_ipv4(struct frame *f, const uint8_t src[4], const uint8_t dst[4],
			      uint8_t proto, size_t opt_len, uint16_t frag_field, uint16_t id)
{
	size_t at = f->len;

	put8(f, 0x40 | ((20 + opt_len) / 4));
	put8(f, 0);
	put16(f, 0);		/* total length, see finish_lengths() */
	put16(f, id);
	put16(f, frag_field);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put_bytes(f, src, 4);
	put_bytes(f, dst, 4);
	for (size_t i = 0; i < opt_len; i++)
		put8(f, i + 1 < opt_len ? 1 : 0);
	return at;
}

static inline size_t put_ipv6(struct frame *f, const uint8_t src[16], const uint8_t dst[16],
			      uint8_t nexthdr)
{
	size_t at = f->len;

	put32(f, 0x60000000);
	put16(f, 0);		/* payload length, see finish_lengths() */
	put8(f, nexthdr);
	put8(f, 64);
	put_bytes(f, src, 16);
	put_bytes(f, dst, 16);
	return at;
}

/* Hop-by-hop, routing or destination options: (hdrlen + 1) * 8 bytes. */
static inline void put_ipv6_opts(struct frame *f, uint8_t type, uint8_t nexthdr,
				 uint8_t hdrlen)
{
	size_t len = (hdrlen + 1) * 8;

	put8(f, nexthdr);
	put8(f, hdrlen);
	if (type == P_ROUTING) {
		put8(f, 4);	/* segment routing */
		put8(f, 0);	/* segments left */
		put_zeros(f, len - 4);
	} else {
		put_zeros(f, len - 2);	/* Pad1 options */
	}
}

/* Authentication header: (hdrlen + 2) * 4 bytes. */
static inline void put_ipv6_ah(struct frame *f, uint8_t nexthdr, uint8_t hdrlen)
{
	put8(f, nexthdr);
	put8(f, hdrlen);
	put16(f, 0);
	put32(f, 0x1000);	/* SPI */
	put32(f, 1);		/* sequence */
	put_zeros(f, (hdrlen + 2) * 4 - 12);
}

static inline void put_ipv6_frag(struct frame *f, uint8_t nexthdr, uint16_t offset, bool more,
				 uint32_t id)
{
	put8(f, nexthdr);
	put8(f, 0);
	put16(f, (offset & 0xfff8) | (more ? 1 : 0));
	put32(f, id);
}

static inline void put_tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t flags,
			   uint8_t doff)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);
	put32(f, flags & F_ACK ? 2000 : 0);
	put8(f, doff << 4);
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	/* options: NOPs */
	for (int i = 20; i < doff * 4; i++)
		put8(f, 1);
}

static inline void put_udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + payload);
	put16(f, 0);
}

/* ICMP and ICMPv6 share the first 8 bytes' shape: type, code, checksum, rest. */
static inline void put_icmp(struct frame *f, uint8_t type, uint8_t code)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put32(f, 0);
}

/* ---- frames from a description ------------------------------------------ */

struct frame_spec {
	int vlans;			/* 0 to 3 tags */
	uint16_t ethertype;		/* 0: from family */
	int family;			/* 4, 6, or 0 for a non-IP frame */
	const char *src, *dst;		/* addresses as text */
	uint8_t proto;			/* upper-layer protocol */
	uint16_t sport, dport;
	uint8_t flags;			/* TCP */
	uint8_t icmp_type;
	size_t ip_opts;			/* IPv4 option bytes, a multiple of 4 */
	/* IPv6 extension headers in order (P_FRAGMENT uses the frag fields) */
	uint8_t ext[SPEC_MAX_EXT];
	uint8_t ext_len[SPEC_MAX_EXT];	/* their hdrlen bytes */
	int next;
	/* fragments: a fragment header (IPv6 with P_FRAGMENT in ext) or IPv4 fields */
	bool frag;
	uint16_t frag_off;		/* bytes, a multiple of 8 */
	bool more;
	uint32_t frag_id;
	size_t payload;			/* bytes after the transport header */
	/* mischief */
	int ihl;			/* IPv4 IHL instead of the right one */
	int ip_len;			/* total/payload length instead of the right one */
	int doff;			/* TCP data offset instead of 5 */
	size_t pad;			/* Ethernet padding after the datagram */
	size_t cut;			/* the frame ends after this many bytes */
	bool cut_lengths;		/* and the IP header says so */
};

static inline void parse_addr(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	if (s)
		inet_pton(family == 6 ? AF_INET6 : AF_INET, s, out);
}

/* The transport header and payload, or only payload in a later fragment. */
static inline void put_l4(struct frame *f, const struct frame_spec *s, bool later)
{
	if (!later) {
		switch (s->proto) {
		case P_TCP:
			put_tcp(f, s->sport, s->dport, s->flags, s->doff ? s->doff : 5);
			break;
		case P_UDP:
			put_udp(f, s->sport, s->dport, s->payload);
			break;
		case P_ICMP:
		case P_ICMPV6:
			put_icmp(f, s->icmp_type, 0);
			break;
		case P_SCTP:
			/* common header: ports, tag, checksum */
			put16(f, s->sport);
			put16(f, s->dport);
			put32(f, 0);
			put32(f, 0);
			break;
		case P_GRE:
			put16(f, 0);
			put16(f, ETH_IP);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < s->payload; i++)
		put8(f, 0xa5);
}

static inline void put_ipv6_exts(struct frame *f, const struct frame_spec *s, bool *later)
{
	for (int i = 0; i < s->next; i++) {
		uint8_t nh = i + 1 < s->next ? s->ext[i + 1] : s->proto;

		switch (s->ext[i]) {
		case P_FRAGMENT:
			put_ipv6_frag(f, nh, s->frag_off, s->more, s->frag_id);
			if (s->frag_off) {
				*later = true;
				return;
			}
			break;
		case P_AH:
			put_ipv6_ah(f, nh, s->ext_len[i] ? s->ext_len[i] : 4);
			break;
		default:
			put_ipv6_opts(f, s->ext[i], nh, s->ext_len[i]);
			break;
		}
	}
}

/* IPv4 total length or IPv6 payload length for a datagram ending at end. */
static inline void set_ip_length(struct frame *f, const struct frame_spec *s, size_t l3,
				 size_t end)
{
	if (s->family == 4)
		set16(f, l3 + 2, s->ip_len ? (size_t)s->ip_len : end - l3);
	else
		set16(f, l3 + 4, s->ip_len ? (size_t)s->ip_len : end - l3 - 40);
}

static inline size_t build_frame(const struct frame_spec *s, uint8_t *out)
{
	static struct frame f;
	uint8_t src[16], dst[16];
	bool later = false;
	uint16_t ethertype;
	size_t l3 = 0;

	memset(&f, 0, sizeof(f));
	ethertype = s->ethertype ? s->ethertype :
		    s->family == 4 ? ETH_IP : s->family == 6 ? ETH_IPV6 : ETH_ARP;
	put_eth(&f, s->vlans, ethertype);
	parse_addr(s->family, s->src, src);
	parse_addr(s->family, s->dst, dst);

	if (s->family == 4) {
		uint16_t frag = s->frag ? (s->frag_off >> 3) | (s->more ? 0x2000 : 0) : 0;

		l3 = put_ipv4(&f, src, dst, s->proto, s->ip_opts, frag, s->frag_id);
		if (s->ihl)
			f.buf[l3] = 0x40 | s->ihl;
		later = s->frag && s->frag_off;
		put_l4(&f, s, later);
	} else if (s->family == 6) {
		l3 = put_ipv6(&f, src, dst, s->next ? s->ext[0] : s->proto);
		put_ipv6_exts(&f, s, &later);
		put_l4(&f, s, later);
	} else if (ethertype == ETH_ARP) {
		put_arp(&f);
	} else {
		put_zeros(&f, 46);
	}

	if (s->family)
		set_ip_length(&f, s, l3, f.len);
	if (s->cut && s->cut < f.len) {
		f.len = s->cut;
		if (s->family && s->cut_lengths)
			set_ip_length(&f, s, l3, f.len);
	}
	put_zeros(&f, s->pad);

	memcpy(out, f.buf, f.len);
	return f.len;
}

#endif /* VMSGATE_TEST_PACKETS_H */
