/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the benchmark drivers share: the synthetic site of N protected
 * hosts, the packets that take each path through the program, medians, and
 * the rows of build/bench/results.csv.
 *
 * The site: a management server, a recording server and a Smart Client,
 * each with one IPv4 and one IPv6 address, and N - 6 cameras (role
 * devices), three in four IPv4 and one in four IPv6. Camera addresses are
 * every other address (10.20.0.1, 10.20.0.3, ...), so that nftables cannot
 * merge them into ranges and holds one interval per camera.
 */
#ifndef VMSGATE_BENCH_H
#define VMSGATE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_FIXED_HOSTS 6
#define BENCH_MAX_RUNS 64

/* Addresses of the site (IPv4, IPv6). */
#define BENCH_MS4 "10.10.0.5"
#define BENCH_MS6 "fd00:10::5"
#define BENCH_RS4 "10.10.1.2"
#define BENCH_RS6 "fd00:10:1::2"
#define BENCH_SC4 "10.30.0.7"
#define BENCH_SC6 "fd00:30::7"
#define BENCH_OUT4 "192.0.2.1"		/* in no role */
#define BENCH_OUT6 "2001:db8::1"

/* The text of camera i (0-based); *family is 4 or 6. */
void bench_camera_addr(size_t i, int *family, char *buf, size_t len);

/*
 * The site policy of nhosts protected addresses (at least
 * BENCH_FIXED_HOSTS) as YAML, attached to iface. shift moves the cameras
 * by that many places, so that two sites differ in about 2 * shift hosts.
 * malloc'd; NULL on ENOMEM.
 */
char *bench_site_yaml(size_t nhosts, const char *iface, size_t shift);

/* The paths through the program that the per-packet benchmark times. */
enum bench_path {
	BP_ALLOWED_TCP,
	BP_ALLOWED_UDP,
	BP_RETURN,
	BP_LOCAL_ONLY,
	BP_SRC_NOT_ALLOWED,
	BP_PORT_NOT_ALLOWED,
	BP_ICMP,
	BP_FRAGMENT,
	BP_MALFORMED,
	BP_UNPROTECTED,
	BP_COUNT,
};

struct bench_path_info {
	const char *name;	/* the CSV metric: "allowed_tcp", ... */
	const char *what;	/* for people */
	int reason;		/* enum vmg_reason the program must give */
	bool drop;
};

const struct bench_path_info *bench_path(enum bench_path p);
/* The frame of path p for family 4 or 6; returns its length. */
size_t bench_path_frame(enum bench_path p, int family, uint8_t *out);

/* Median, minimum and maximum of n samples (sorts v). */
struct bench_stat {
	double med;
	double min;
	double max;
	int n;
};

void bench_stat(double *v, int n, struct bench_stat *out);
double bench_now_ns(void);
/* Pins the calling thread to one CPU; 0 or -errno. */
int bench_pin_cpu(int cpu);

/*
 * One row of results.csv:
 * section,metric,subject,hosts,family,median,min,max,unit,runs,note
 * hosts < 0 and family NULL leave those cells empty.
 */
void bench_csv(FILE *f, const char *section, const char *metric, const char *subject,
	       long hosts, const char *family, const struct bench_stat *s, const char *unit,
	       const char *note);
/* A single measured value (runs = 1, median = min = max). */
void bench_csv1(FILE *f, const char *section, const char *metric, const char *subject,
		long hosts, const char *family, double v, const char *unit, const char *note);

/* "10,1000" into sizes; returns how many, or -1. */
int bench_parse_sizes(const char *s, size_t *sizes, int max);

#endif /* VMSGATE_BENCH_H */
