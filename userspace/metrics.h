/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus endpoint: libmicrohttpd serving a page rendered on demand. */
#ifndef VMSGATE_METRICS_H
#define VMSGATE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_DEFAULT_ADDR "127.0.0.1"
#define METRICS_DEFAULT_PORT 9740

struct metrics;

/* Writes the whole page; called from the server's thread for each scrape. */
typedef void (*metrics_render_fn)(FILE *out, void *ctx);

/* Listens on addr:port (IPv4 or IPv6 literal). 0 or -errno. */
int metrics_start(const char *addr, uint16_t port, metrics_render_fn render, void *ctx,
		  struct metrics **out);
void metrics_stop(struct metrics *m);

/* Text-format helpers: HELP and TYPE lines, then samples. */
void metrics_family(FILE *out, const char *name, const char *type, const char *help);
/* labels is a preformatted list without braces, e.g. reason="allowed"; may be "" */
void metrics_sample(FILE *out, const char *name, const char *labels, double value);
void metrics_sample_u64(FILE *out, const char *name, const char *labels, uint64_t value);
/* Escapes a label value for the text format into buf. */
const char *metrics_escape(const char *s, char *buf, size_t len);

#endif /* VMSGATE_METRICS_H */
