// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "site.h"

static const uint8_t dst_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t src_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

static size_t l4_len(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return sizeof(struct tcphdr);
	case IPPROTO_UDP:
		return sizeof(struct udphdr);
	default:
		return 8;	/* ICMP echo header */
	}
}

static void build_l4(const struct pkt_desc *d, uint8_t *p, bool v6)
{
	if (d->proto == IPPROTO_TCP) {
		struct tcphdr *th = (struct tcphdr *)p;

		th->source = htons(d->sport);
		th->dest = htons(d->dport);
		th->doff = 5;
		th->th_flags = d->tcp_flags;
		th->window = htons(64240);
	} else if (d->proto == IPPROTO_UDP) {
		struct udphdr *uh = (struct udphdr *)p;

		uh->source = htons(d->sport);
		uh->dest = htons(d->dport);
		uh->len = htons(sizeof(*uh));
	} else {
		p[0] = (uint8_t)d->dport;	/* type */
	}
	(void)v6;
}

int pkt_build(const struct pkt_desc *d, uint8_t *buf, size_t len)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	bool v6 = d->dst.family == VMG_FAMILY_V6;
	size_t l3 = v6 ? sizeof(struct ip6_hdr) : sizeof(struct iphdr);
	size_t total = sizeof(*eth) + l3 + l4_len(d->proto);
	uint8_t *ip = buf + sizeof(*eth);

	if (d->src.family != d->dst.family)
		return -EINVAL;
	if (len < total)
		return -ENOSPC;
	memset(buf, 0, total);
	memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	memcpy(eth->h_source, src_mac, ETH_ALEN);
	if (v6) {
		struct ip6_hdr *h = (struct ip6_hdr *)ip;

		eth->h_proto = htons(ETH_P_IPV6);
		h->ip6_flow = htonl(6u << 28);
		h->ip6_plen = htons((uint16_t)l4_len(d->proto));
		h->ip6_nxt = d->proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : d->proto;
		h->ip6_hlim = 64;
		memcpy(&h->ip6_src, d->src.addr, 16);
		memcpy(&h->ip6_dst, d->dst.addr, 16);
	} else {
		struct iphdr *h = (struct iphdr *)ip;

		eth->h_proto = htons(ETH_P_IP);
		h->version = 4;
		h->ihl = 5;
		h->tot_len = htons((uint16_t)(l3 + l4_len(d->proto)));
		h->ttl = 64;
		h->protocol = d->proto;
		memcpy(&h->saddr, d->src.addr, 4);
		memcpy(&h->daddr, d->dst.addr, 4);
	}
	build_l4(d, ip + l3, v6);
	return (int)total;
}

int pkt_parse_tcp_flags(const char *s)
{
	int flags = 0;

	for (; *s; s++) {
		switch (*s) {
		case 'S':
			flags |= TH_SYN;
			break;
		case 'A':
			flags |= TH_ACK;
			break;
		case 'F':
			flags |= TH_FIN;
			break;
		case 'R':
			flags |= TH_RST;
			break;
		case 'P':
			flags |= TH_PUSH;
			break;
		case 'U':
			flags |= TH_URG;
			break;
		default:
			return -1;
		}
	}
	return flags;
}

int pkt_parse_endpoint(const char *s, struct prefix *addr, uint16_t *port, bool need_port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_s = NULL;
	bool cleared;
	size_t hl;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (end[1] == ':')
			port_s = end + 2;
		else if (end[1])
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		/* a bare IPv6 address has several colons and no port */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (colon)
			port_s = colon + 1;
	}
	if (prefix_parse(host, addr, &cleared) || addr->len != (addr->family == 4 ? 32 : 128))
		return -EINVAL;
	if (port_s) {
		char *end;
		long p = strtol(port_s, &end, 10);

		if (*end || p < 0 || p > 65535 || end == port_s)
			return -EINVAL;
		*port = (uint16_t)p;
	} else if (need_port) {
		return -EINVAL;
	}
	return 0;
}

static int parse_l4(const uint8_t *p, size_t left, struct pkt_desc *d)
{
	if (d->proto == IPPROTO_TCP && left >= sizeof(struct tcphdr)) {
		const struct tcphdr *th = (const struct tcphdr *)p;

		d->sport = ntohs(th->source);
		d->dport = ntohs(th->dest);
		d->tcp_flags = th->th_flags;
	} else if (d->proto == IPPROTO_UDP && left >= sizeof(struct udphdr)) {
		const struct udphdr *uh = (const struct udphdr *)p;

		d->sport = ntohs(uh->source);
		d->dport = ntohs(uh->dest);
	} else if ((d->proto == IPPROTO_ICMP || d->proto == IPPROTO_ICMPV6) && left >= 1) {
		d->dport = p[0];
	}
	return 0;
}

/* IPv6 extension headers up to the upper-layer protocol, for naming only. */
static void skip_ext_headers(const uint8_t *frame, size_t len, size_t *off,
			     struct pkt_desc *d)
{
	for (int i = 0; i < 8 && *off + 8 <= len; i++) {
		const uint8_t *e = frame + *off;

		switch (d->proto) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			d->proto = e[0];
			*off += (e[1] + 1u) * 8;
			break;
		case IPPROTO_AH:
			d->proto = e[0];
			*off += (e[1] + 2u) * 4;
			break;
		case IPPROTO_FRAGMENT:
			d->proto = e[0];
			d->frag = (e[2] << 8 | e[3]) & 0xfff8 ? PKT_LATER_FRAG :
				  (e[3] & 1) ? PKT_FIRST_FRAG : PKT_NOT_FRAG;
			*off += 8;
			break;
		default:
			return;
		}
	}
}

/* Enough of a parse to name a packet; the verdict comes from the kernel. */
int pkt_summary(const uint8_t *frame, size_t len, struct pkt_desc *d)
{
	size_t off = sizeof(struct ethhdr);
	uint16_t proto;

	memset(d, 0, sizeof(*d));
	if (len < off)
		return -EINVAL;
	proto = (uint16_t)(frame[12] << 8 | frame[13]);
	for (int i = 0; i < 2 && (proto == ETH_P_8021Q || proto == ETH_P_8021AD); i++) {
		if (len < off + 4)
			return -EINVAL;
		proto = (uint16_t)(frame[off + 2] << 8 | frame[off + 3]);
		off += 4;
	}
	if (proto == ETH_P_IP && len >= off + sizeof(struct iphdr)) {
		const struct iphdr *h = (const struct iphdr *)(frame + off);
		size_t ihl = h->ihl * 4u;

		d->src.family = d->dst.family = VMG_FAMILY_V4;
		d->src.len = d->dst.len = 32;
		memcpy(d->src.addr, &h->saddr, 4);
		memcpy(d->dst.addr, &h->daddr, 4);
		d->proto = h->protocol;
		if (ntohs(h->frag_off) & IP_OFFMASK)
			d->frag = PKT_LATER_FRAG;
		else if (ntohs(h->frag_off) & IP_MF)
			d->frag = PKT_FIRST_FRAG;
		if (ihl >= 20 && len >= off + ihl && d->frag != PKT_LATER_FRAG)
			parse_l4(frame + off + ihl, len - off - ihl, d);
		return 0;
	}
	if (proto == ETH_P_IPV6 && len >= off + sizeof(struct ip6_hdr)) {
		const struct ip6_hdr *h = (const struct ip6_hdr *)(frame + off);

		d->src.family = d->dst.family = VMG_FAMILY_V6;
		d->src.len = d->dst.len = 128;
		memcpy(d->src.addr, &h->ip6_src, 16);
		memcpy(d->dst.addr, &h->ip6_dst, 16);
		d->proto = h->ip6_nxt;
		off += sizeof(*h);
		skip_ext_headers(frame, len, &off, d);
		if (off <= len && d->frag != PKT_LATER_FRAG)
			parse_l4(frame + off, len - off, d);
		return 0;
	}
	return -EPROTONOSUPPORT;
}

static const char *proto_label(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return "icmp";
	default:
		return NULL;
	}
}

const char *pkt_desc_str(const struct pkt_desc *d, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN], flags[8] = "";
	int af = d->src.family == VMG_FAMILY_V6 ? AF_INET6 : AF_INET;
	const char *p = proto_label(d->proto);
	bool v6 = af == AF_INET6;
	int n = 0;

	if (!d->src.family) {
		snprintf(buf, len, "not IP");
		return buf;
	}
	inet_ntop(af, d->src.addr, s, sizeof(s));
	inet_ntop(af, d->dst.addr, t, sizeof(t));
	if (d->proto == IPPROTO_TCP) {
		static const struct { uint8_t bit; char c; } fl[] = {
			{ TH_SYN, 'S' }, { TH_ACK, 'A' }, { TH_FIN, 'F' },
			{ TH_RST, 'R' }, { TH_PUSH, 'P' },
		};

		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
			if (d->tcp_flags & fl[i].bit)
				flags[n++] = fl[i].c;
		flags[n] = '\0';
	}
	if (d->frag == PKT_LATER_FRAG)
		snprintf(buf, len, "%s %s > %s fragment", p ? p : "ip", s, t);
	else if (d->proto == IPPROTO_TCP || d->proto == IPPROTO_UDP)
		snprintf(buf, len, "%s %s%s%s:%u > %s%s%s:%u%s%s%s", p, v6 ? "[" : "", s,
			 v6 ? "]" : "", d->sport, v6 ? "[" : "", t, v6 ? "]" : "", d->dport,
			 n ? " [" : "", flags, n ? "]" : "");
	else if (p)
		snprintf(buf, len, "%s %s > %s type %u", p, s, t, d->dport);
	else
		snprintf(buf, len, "proto %u %s > %s", d->proto, s, t);
	return buf;
}

const struct host_entry *ruleset_lookup(const struct ruleset *rs, const struct prefix *addr)
{
	const struct host_entry *best = NULL;

	for (size_t i = 0; i < rs->nhosts; i++)
		if (!memcmp(&rs->hosts[i].pfx, addr, sizeof(*addr)))
			return &rs->hosts[i];
	for (size_t i = 0; i < rs->nprefixes; i++) {
		const struct host_entry *h = &rs->prefixes[i];

		if (prefix_contains(&h->pfx, addr) && (!best || h->pfx.len > best->pfx.len))
			best = h;
	}
	return best;
}
