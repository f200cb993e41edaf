// SPDX-License-Identifier: GPL-2.0-only
/* The synthetic site, the packets of each path, medians and CSV rows. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "packets.h"
#include "vmsgate_abi.h"

/* ---- the site ------------------------------------------------------------ */

void bench_camera_addr(size_t i, int *family, char *buf, size_t len)
{
	uint32_t v;

	if (i % 4 == 3) {
		/* the j-th IPv6 camera: fd00:20::(2j + 1) */
		v = 2 * (uint32_t)(i / 4) + 1;
		*family = 6;
		snprintf(buf, len, "fd00:20::%x:%x", v >> 16, v & 0xffff);
		return;
	}
	/* the k-th IPv4 camera: 10.20.0.0 + 2k + 1 */
	v = 2 * (uint32_t)((i / 4) * 3 + i % 4) + 1;
	*family = 4;
	snprintf(buf, len, "10.%u.%u.%u", 20 + (v >> 16), (v >> 8) & 0xff, v & 0xff);
}

char *bench_site_yaml(size_t nhosts, const char *iface, size_t shift)
{
	size_t ncam = nhosts > BENCH_FIXED_HOSTS ? nhosts - BENCH_FIXED_HOSTS : 0;
	char *text = NULL, addr[64];
	size_t len = 0;
	int family;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "catalog: xprotect\n"
		"interfaces: [%s]\n"
		"mode: enforce\n"
		"unlisted_destinations: pass\n"
		"icmp: errors-only\n"
		"unknown_fragments: drop\n"
		"hosts:\n"
		"  management-server: [%s, \"%s\"]\n"
		"  recording-server: [%s, \"%s\"]\n"
		"  smart-client: [%s, \"%s\"]\n"
		"  devices:\n", iface, BENCH_MS4, BENCH_MS6, BENCH_RS4, BENCH_RS6, BENCH_SC4,
		BENCH_SC6);
	for (size_t i = 0; i < ncam; i++) {
		bench_camera_addr(i + shift, &family, addr, sizeof(addr));
		fprintf(f, "    - \"%s\"\n", addr);
	}
	fprintf(f, "extra:\n"
		"  - { from: [devices], to: recording-server, proto: udp,\n"
		"      ports: \"50000-50099\", purpose: \"RTP from cameras\" }\n");
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- the packets ----------------------------------------------------------- */

static const struct bench_path_info paths[BP_COUNT] = {
	[BP_ALLOWED_TCP] = { "allowed_tcp", "Smart Client to recording server 7563/tcp, SYN",
			     VMG_R_ALLOWED, false },
	[BP_ALLOWED_UDP] = { "allowed_udp", "camera to recording server 50000/udp (extra flow)",
			     VMG_R_ALLOWED, false },
	[BP_RETURN] = { "return", "recording server 7563/tcp back to the Smart Client, ACK",
			VMG_R_RETURN, false },
	[BP_LOCAL_ONLY] = { "local_only", "Smart Client to recording server 8966/tcp",
			    VMG_R_LOCAL_ONLY, true },
	[BP_SRC_NOT_ALLOWED] = { "src_not_allowed", "camera to recording server 7563/tcp",
				 VMG_R_SRC_NOT_ALLOWED, true },
	[BP_PORT_NOT_ALLOWED] = { "port_not_allowed",
				  "Smart Client to recording server 9999/tcp",
				  VMG_R_PORT_NOT_ALLOWED, true },
	[BP_ICMP] = { "icmp", "echo request to the recording server (icmp: errors-only)",
		      VMG_R_ICMP, true },
	[BP_FRAGMENT] = { "fragment", "a later fragment whose first was never seen",
			  VMG_R_FRAGMENT, true },
	[BP_MALFORMED] = { "malformed", "TCP data offset 4", VMG_R_MALFORMED, true },
	[BP_UNPROTECTED] = { "unprotected", "Smart Client to an address in no role, 443/tcp",
			     VMG_R_UNLISTED, false },
};

const struct bench_path_info *bench_path(enum bench_path p)
{
	return &paths[p];
}

size_t bench_path_frame(enum bench_path p, int family, uint8_t *out)
{
	bool v6 = family == 6;
	const char *sc = v6 ? BENCH_SC6 : BENCH_SC4, *rs = v6 ? BENCH_RS6 : BENCH_RS4;
	struct frame_spec s = {
		.family = family,
		.src = sc,
		.dst = rs,
		.proto = P_TCP,
		.sport = 40000,
		.flags = F_SYN,
	};
	char cam[64];
	int fam;

	bench_camera_addr(v6 ? 3 : 0, &fam, cam, sizeof(cam));
	switch (p) {
	case BP_ALLOWED_TCP:
		s.dport = 7563;
		break;
	case BP_ALLOWED_UDP:
		s.src = cam;
		s.proto = P_UDP;
		s.dport = 50000;
		s.payload = 12;
		break;
	case BP_RETURN:
		s.src = rs;
		s.dst = sc;
		s.sport = 7563;
		s.dport = 40000;
		s.flags = F_ACK;
		break;
	case BP_LOCAL_ONLY:
		s.dport = 8966;
		break;
	case BP_SRC_NOT_ALLOWED:
		s.src = cam;
		s.dport = 7563;
		break;
	case BP_PORT_NOT_ALLOWED:
		s.dport = 9999;
		break;
	case BP_ICMP:
		s.proto = v6 ? P_ICMPV6 : P_ICMP;
		s.icmp_type = v6 ? 128 : 8;
		break;
	case BP_FRAGMENT:
		s.proto = P_UDP;
		s.frag = true;
		s.frag_off = 8;
		s.frag_id = 7;
		s.payload = 16;
		if (v6) {
			s.ext[0] = P_FRAGMENT;
			s.next = 1;
		}
		break;
	case BP_MALFORMED:
		s.dport = 7563;
		s.doff = 4;
		break;
	case BP_UNPROTECTED:
		s.dst = v6 ? BENCH_OUT6 : BENCH_OUT4;
		s.dport = 443;
		break;
	default:
		return 0;
	}
	return build_frame(&s, out);
}

/* ---- numbers ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_stat(double *v, int n, struct bench_stat *out)
{
	*out = (struct bench_stat){ .n = n };
	if (n <= 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	out->min = v[0];
	out->max = v[n - 1];
	out->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

void bench_csv(FILE *f, const char *section, const char *metric, const char *subject,
	       long hosts, const char *family, const struct bench_stat *s, const char *unit,
	       const char *note)
{
	char h[32] = "";

	if (hosts >= 0)
		snprintf(h, sizeof(h), "%ld", hosts);
	fprintf(f, "%s,%s,%s,%s,%s,%.6g,%.6g,%.6g,%s,%d,%s\n", section, metric, subject, h,
		family ? family : "", s->med, s->min, s->max, unit, s->n, note ? note : "");
	fflush(f);
}

void bench_csv1(FILE *f, const char *section, const char *metric, const char *subject,
		long hosts, const char *family, double v, const char *unit, const char *note)
{
	struct bench_stat s = { .med = v, .min = v, .max = v, .n = 1 };

	bench_csv(f, section, metric, subject, hosts, family, &s, unit, note);
}

int bench_parse_sizes(const char *s, size_t *sizes, int max)
{
	int n = 0;
	char *end;

	while (*s && n < max) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v < BENCH_FIXED_HOSTS)
			return -1;
		sizes[n++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}
