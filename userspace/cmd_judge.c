// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmsgate explain and replay: judge packets with the real program, loaded
 * privately and filled from a site policy, through BPF_PROG_TEST_RUN.
 * Nothing is attached and nothing pinned is touched.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "dataplane.h"
#include "log.h"
#include "packet.h"
#include "roles.h"
#include "util.h"

/* Compiles FILE and loads it into a private copy of the program. */
static int load_policy(const char *config, struct ruleset *rs, struct dp **dp)
{
	int err = compile_file(config, rs, true);

	if (err)
		return err;
	err = dp_open_private(dp);
	if (err) {
		ruleset_free(rs);
		return err;
	}
	if (!dp_has_conntrack(*dp))
		pr_info("note: this kernel has no bpf_xdp_ct_lookup; replies are judged "
			"by return rules only\n");
	err = dp_apply(*dp, rs);
	if (err) {
		dp_close(*dp);
		ruleset_free(rs);
	}
	return err;
}

static void explain_drop(const struct ruleset *rs, const struct pkt_desc *d,
			 const struct dp_verdict *v)
{
	const struct host_entry *dst = ruleset_lookup(rs, &d->dst);
	const struct host_entry *src = ruleset_lookup(rs, &d->src);
	char buf[512];

	if (!dst || v->reason < VMG_R_LOCAL_ONLY)
		return;
	printf("to:      %s\n", role_mask_str(dst->val.roles, buf, sizeof(buf)));
	printf("from:    %s\n", src && src->val.roles ?
	       role_mask_str(src->val.roles, buf, sizeof(buf)) : "no role (not in hosts)");
	for (size_t i = 0; i < rs->nports; i++) {
		const struct port_entry *pe = &rs->ports[i];

		if (pe->key.class_id != dst->val.class_id || pe->key.proto != d->proto ||
		    pe->key.port != d->dport || pe->key.dir != VMG_DIR_FORWARD)
			continue;
		if (pe->val.src_roles)
			printf("open to: %s\n", role_mask_str(pe->val.src_roles, buf,
							     sizeof(buf)));
		if (pe->val.flags & VMG_PF_LOCAL_ONLY)
			printf("note:    the catalog marks this port local-only on this host\n");
	}
}

static void explain_print(const struct ruleset *rs, const struct pkt_desc *d,
			  const struct dp_verdict *v)
{
	char buf[512];

	printf("packet:  %s\n", pkt_desc_str(d, buf, sizeof(buf)));
	printf("verdict: %s (%s)%s\n", v->action == VMG_A_DROP ? "drop" : "pass",
	       reason_name(v->reason),
	       v->action == VMG_A_WOULD_DROP ? ", would drop in enforce mode" : "");
	if (v->rule_id != VMG_RULE_NONE && v->rule_id < rs->nrules) {
		const struct rule *r = &rs->rules[v->rule_id];
		char ports[16];

		if (r->port_end != r->port)
			snprintf(ports, sizeof(ports), "%u-%u", r->port, r->port_end);
		else
			snprintf(ports, sizeof(ports), "%u", r->port);
		printf("rule:    #%u %s %s/%s from %s\n", r->id, role_name(r->to), ports,
		       r->proto == IPPROTO_UDP ? "udp" : "tcp",
		       r->from ? role_mask_str(r->from, buf, sizeof(buf)) : "(local only)");
		printf("purpose: %s%s\n", r->purpose,
		       v->dir == VMG_DIR_RETURN ? " (reply direction)" : "");
	}
	if (v->action != VMG_A_PASS)
		explain_drop(rs, d, v);
}

static int parse_to(const char *s, struct pkt_desc *d, bool *icmp_type_given)
{
	char buf[128];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strrchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	if (!strcmp(slash, "tcp"))
		d->proto = IPPROTO_TCP;
	else if (!strcmp(slash, "udp"))
		d->proto = IPPROTO_UDP;
	else if (!strcmp(slash, "icmp"))
		d->proto = IPPROTO_ICMP;
	else
		return -EINVAL;
	if (d->proto == IPPROTO_ICMP && !strchr(buf, ']') && strchr(buf, ':') &&
	    strchr(buf, ':') == strrchr(buf, ':'))
		*icmp_type_given = true;
	else if (d->proto == IPPROTO_ICMP && strstr(buf, "]:"))
		*icmp_type_given = true;
	return pkt_parse_endpoint(buf, &d->dst, &d->dport, d->proto != IPPROTO_ICMP);
}

int do_explain(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate explain -c FILE --from IP[:PORT] --to IP:PORT/PROTO [--flags S]\n"
		"  Judges one synthesized packet with the real program and says why.\n"
		"  PROTO is tcp, udp or icmp (then PORT is the ICMP type, default echo\n"
		"  request). --flags takes TCP flags as letters S A F R P (default S).\n"
		"  IPv6 addresses with a port are written [fd00::1]:7563.\n"
		"examples:\n"
		"  vmsgate explain -c site.yaml --from 10.30.0.20 --to 10.10.0.11:7563/tcp\n"
		"  vmsgate explain -c site.yaml --from 10.10.0.11:7563 --to 10.30.0.20:40000/tcp "
		"--flags SA\n";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "flags", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct pkt_desc d = { .sport = 40000, .tcp_flags = TH_SYN };
	bool icmp_type_given = false;
	const char *config = DEFAULT_SITE, *from = NULL, *to = NULL;
	struct dp_verdict v;
	struct ruleset rs;
	uint8_t frame[256];
	struct dp *dp;
	int opt, len, flags;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:f:t:F:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'F':
			flags = pkt_parse_tcp_flags(optarg);
			if (flags < 0) {
				fprintf(stderr, "--flags: expected TCP flags as letters of "
					"S A F R P U, found '%s'\n", optarg);
				return EXIT_USAGE;
			}
			d.tcp_flags = (uint8_t)flags;
			break;
		case 'h':
			printf("%s", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (!from || !to) {
		fprintf(stderr, "explain needs --from and --to\n%s", usage);
		return EXIT_USAGE;
	}
	if (parse_to(to, &d, &icmp_type_given)) {
		fprintf(stderr, "--to: expected IP:PORT/tcp, IP:PORT/udp or IP[:TYPE]/icmp "
			"(IPv6 with a port as [fd00::1]:443/tcp), found '%s'\n", to);
		return EXIT_USAGE;
	}
	if (d.proto == IPPROTO_ICMP && !icmp_type_given)
		d.dport = d.dst.family == VMG_FAMILY_V6 ? 128 : 8;	/* echo request */
	if (pkt_parse_endpoint(from, &d.src, &d.sport, false)) {
		fprintf(stderr, "--from: expected IP or IP:PORT (IPv6 with a port as "
			"[fd00::1]:40000), found '%s'\n", from);
		return EXIT_USAGE;
	}
	if (d.src.family != d.dst.family) {
		fprintf(stderr, "--from and --to must be of one family, IPv4 or IPv6\n");
		return EXIT_USAGE;
	}
	len = pkt_build(&d, frame, sizeof(frame));
	if (len < 0 || load_policy(config, &rs, &dp))
		return EXIT_FAIL;
	if (dp_judge(dp, frame, (size_t)len, &v)) {
		fprintf(stderr, "error: the kernel refused to run the program on the packet\n");
		dp_close(dp);
		ruleset_free(&rs);
		return EXIT_FAIL;
	}
	explain_print(&rs, &d, &v);
	dp_close(dp);
	ruleset_free(&rs);
	return EXIT_OK;
}

/*
 * Frames from the capture as Ethernet: cooked (SLL, SLL2) and raw IP
 * captures get an Ethernet header in front so the program parses them.
 */
static int to_ethernet(int linktype, const uint8_t *p, size_t caplen, uint8_t *out,
		       size_t outlen)
{
	size_t skip;
	uint16_t proto;

	switch (linktype) {
	case DLT_EN10MB:
		if (caplen > outlen)
			caplen = outlen;
		memcpy(out, p, caplen);
		return (int)caplen;
	case DLT_LINUX_SLL:
		skip = 16;
		proto = caplen >= 16 ? (uint16_t)(p[14] << 8 | p[15]) : 0;
		break;
	case DLT_LINUX_SLL2:
		skip = 20;
		proto = caplen >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 0;
		break;
	case DLT_RAW:
	case 14: /* DLT_RAW on OpenBSD-derived captures */
	case 228: /* LINKTYPE_IPV4 */
	case 229: /* LINKTYPE_IPV6 */
		skip = 0;
		proto = caplen && (p[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (caplen < skip)
		return -EINVAL;
	caplen -= skip;
	if (caplen + ETH_HLEN > outlen)
		caplen = outlen - ETH_HLEN;
	memset(out, 0, ETH_HLEN);
	out[12] = (uint8_t)(proto >> 8);
	out[13] = (uint8_t)proto;
	memcpy(out + ETH_HLEN, p + skip, caplen);
	return (int)(caplen + ETH_HLEN);
}

static void replay_line(bool json, unsigned long idx, const struct pkt_desc *d,
			const struct dp_verdict *v, const struct ruleset *rs)
{
	const char *verdict = v->action == VMG_A_DROP ? "drop" : "pass";
	char buf[256];

	pkt_desc_str(d, buf, sizeof(buf));
	if (!json) {
		printf("%-7lu %-5s %-17s %-10s %s\n", idx, verdict, reason_name(v->reason),
		       action_name(v->action), buf);
		return;
	}
	printf("{\"index\":%lu,\"verdict\":\"%s\",\"reason\":\"%s\",\"action\":\"%s\","
	       "\"packet\":", idx, verdict, reason_name(v->reason), action_name(v->action));
	json_str(stdout, buf);
	if (v->rule_id != VMG_RULE_NONE && v->rule_id < rs->nrules)
		printf(",\"rule\":%u,\"direction\":\"%s\"", v->rule_id,
		       v->dir == VMG_DIR_RETURN ? "return" : "forward");
	printf("}\n");
}

int do_replay(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate replay -c FILE CAPTURE.pcap [--json]\n"
		"  Judges every packet of a capture with the real program, as the site\n"
		"  policy would, before it is deployed. Ethernet, Linux cooked and raw IP\n"
		"  captures are read.\n"
		"example: vmsgate replay -c site.yaml site-traffic.pcap --json\n";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long counts[VMG_R_COUNT][VMG_A_COUNT] = { { 0 } }, idx = 0;
	const char *config = DEFAULT_SITE, *capture;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const uint8_t *data;
	struct ruleset rs;
	bool json = false;
	struct dp *dp;
	pcap_t *pc;
	int opt, rc, linktype, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("%s", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "replay needs one capture file\n%s", usage);
		return EXIT_USAGE;
	}
	capture = argv[optind];
	pc = pcap_open_offline(capture, errbuf);
	if (!pc) {
		fprintf(stderr, "%s: error: cannot read capture: %s\n", capture, errbuf);
		return EXIT_FAIL;
	}
	linktype = pcap_datalink(pc);
	if (load_policy(config, &rs, &dp)) {
		pcap_close(pc);
		return EXIT_FAIL;
	}
	if (!json)
		printf("%-7s %-5s %-17s %-10s %s\n", "INDEX", "VERDICT", "REASON", "ACTION",
		       "PACKET");
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		uint8_t frame[9216];
		struct pkt_desc d;
		struct dp_verdict v;
		int len = to_ethernet(linktype, data, hdr->caplen, frame, sizeof(frame));

		idx++;
		if (len < 0) {
			fprintf(stderr, "%s: error: link type %s is not supported\n", capture,
				pcap_datalink_val_to_name(linktype) ?: "unknown");
			status = EXIT_FAIL;
			break;
		}
		if (dp_judge(dp, frame, (size_t)len, &v)) {
			fprintf(stderr, "%s: error: packet %lu could not be judged\n", capture,
				idx);
			status = EXIT_FAIL;
			break;
		}
		pkt_summary(frame, (size_t)len, &d);
		replay_line(json, idx, &d, &v, &rs);
		counts[v.reason][v.action]++;
	}
	if (rc == -1) {
		fprintf(stderr, "%s: error: %s after packet %lu\n", capture, pcap_geterr(pc), idx);
		status = EXIT_FAIL;
	}
	if (!json) {
		printf("\n%lu packets\n%-17s %10s %10s %10s\n", idx, "REASON", "PASS", "DROP",
		       "WOULD_DROP");
		for (int r = 0; r < VMG_R_COUNT; r++)
			if (counts[r][0] + counts[r][1] + counts[r][2])
				printf("%-17s %10lu %10lu %10lu\n", reason_name(r), counts[r][0],
				       counts[r][1], counts[r][2]);
	}
	pcap_close(pc);
	dp_close(dp);
	ruleset_free(&rs);
	return status;
}
