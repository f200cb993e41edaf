// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

struct metrics {
	struct MHD_Daemon *mhd;
	metrics_render_fn render;
	void *ctx;
};

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static mhd_result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			size_t len, const char *type)
{
	struct MHD_Response *resp;
	mhd_result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_size, void **req_cls)
{
	struct metrics *m = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), 9,
			     "text/plain");
	if (strcmp(url, "/metrics")) {
		static const char msg[] = "vmsgate: metrics are at /metrics\n";

		return reply(conn, MHD_HTTP_NOT_FOUND, strdup(msg), sizeof(msg) - 1,
			     "text/plain");
	}
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	m->render(out, m->ctx);
	fclose(out);
	return reply(conn, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

int metrics_start(const char *addr, uint16_t port, metrics_render_fn render, void *ctx,
		  struct metrics **out)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct metrics *m;

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		pr_err("metrics address '%s' is not an IPv4 or IPv6 address\n", addr);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->render = render;
	m->ctx = ctx;
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, handle, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 16U,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!m->mhd) {
		pr_err("failed to serve metrics on %s:%u: address in use or not available\n",
		       addr, port);
		free(m);
		return -EADDRINUSE;
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}

void metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(FILE *out, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		fprintf(out, "%s{%s} %.17g\n", name, labels, value);
	else
		fprintf(out, "%s %.17g\n", name, value);
}

void metrics_sample_u64(FILE *out, const char *name, const char *labels, uint64_t value)
{
	if (labels && *labels)
		fprintf(out, "%s{%s} %" PRIu64 "\n", name, labels, value);
	else
		fprintf(out, "%s %" PRIu64 "\n", name, value);
}

const char *metrics_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 2 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}
