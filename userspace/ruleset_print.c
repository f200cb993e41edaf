// SPDX-License-Identifier: GPL-2.0-only
/* Printing a compiled ruleset: a table for people, JSON for programs. */
#include <netinet/in.h>
#include <stdio.h>

#include "compile.h"
#include "roles.h"
#include "util.h"

static const char *proto_str(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static void ports_str(const struct rule *r, char *buf, size_t len)
{
	if (r->port == r->port_end)
		snprintf(buf, len, "%u", r->port);
	else
		snprintf(buf, len, "%u-%u", r->port, r->port_end);
}

static void print_roles_json(FILE *f, uint64_t mask)
{
	bool first = true;

	fputc('[', f);
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(mask & ROLE_BIT(r)))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ",", role_name(r));
		first = false;
	}
	fputc(']', f);
}

static void print_hosts_json(FILE *f, const struct host_entry *h, size_t n, bool *first)
{
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n  {\"address\":\"%s\",\"roles\":", *first ? "" : ",",
			prefix_str(&h[i].pfx, buf, sizeof(buf)));
		print_roles_json(f, h[i].val.roles);
		fprintf(f, ",\"protected\":%s,\"class\":%u}",
			h[i].val.protected_ ? "true" : "false", h[i].val.class_id);
		*first = false;
	}
}

static void print_json(const struct ruleset *rs)
{
	static const char *const modes[] = { "enforce", "monitor" };
	static const char *const icmp[] = { "allow", "errors-only", "deny" };
	bool first = true;

	printf("{\"mode\":\"%s\",\"unlisted_destinations\":\"%s\",\"icmp\":\"%s\","
	       "\"unknown_fragments\":\"%s\",\n\"rules\":[", modes[rs->config.mode],
	       rs->config.unlisted_drop ? "drop" : "pass", icmp[rs->config.icmp],
	       rs->config.unknown_frag_drop ? "drop" : "pass");
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		printf("%s\n  {\"id\":%u,\"to\":\"%s\",\"from\":", i ? "," : "", r->id,
		       role_name(r->to));
		print_roles_json(stdout, r->from);
		printf(",\"proto\":\"%s\",\"port\":%u,\"port_end\":%u,\"local_only\":%s,"
		       "\"extra\":%s,\"service\":", proto_str(r->proto), r->port, r->port_end,
		       r->local_only ? "true" : "false", r->extra ? "true" : "false");
		json_str(stdout, r->service);
		fputs(",\"purpose\":", stdout);
		json_str(stdout, r->purpose);
		fputc('}', stdout);
	}
	fputs("],\n\"addresses\":[", stdout);
	print_hosts_json(stdout, rs->hosts, rs->nhosts, &first);
	print_hosts_json(stdout, rs->prefixes, rs->nprefixes, &first);
	printf("],\n\"classes\":%zu,\"port_entries\":%zu}\n", rs->nclasses - (rs->nclasses > 0),
	       rs->nports);
}

static void print_table(const struct ruleset *rs)
{
	char from[512], ports[16];

	printf("%-4s %-26s %-5s %-11s %-5s %-40s %s\n", "ID", "TO", "PROTO", "PORT", "LOCAL",
	       "FROM", "PURPOSE");
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		ports_str(r, ports, sizeof(ports));
		role_mask_str(r->from, from, sizeof(from));
		const char *rest, *f = from[0] ? from : "-";
		size_t n = list_head(f, 40, &rest);

		printf("%-4u %-26s %-5s %-11s %-5s %-40.*s %s\n", r->id, role_name(r->to),
		       proto_str(r->proto), ports, r->local_only ? "yes" : "-", (int)n, f,
		       r->purpose);
		/* a long source list goes on under its column */
		while (*rest) {
			f = rest;
			n = list_head(f, 40, &rest);
			printf("%56s%.*s\n", "", (int)n, f);
		}
	}
	printf("\n%zu rules; %zu exact addresses, %zu prefixes, %zu classes, "
	       "%zu port entries\n", rs->nrules, rs->nhosts, rs->nprefixes,
	       rs->nclasses ? rs->nclasses - 1 : 0, rs->nports);
}

void compile_print(const struct ruleset *rs, bool json)
{
	if (json)
		print_json(rs);
	else
		print_table(rs);
}
