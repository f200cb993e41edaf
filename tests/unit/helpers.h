/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the unit tests: stderr capture and ruleset queries. */
#ifndef VMSGATE_TEST_HELPERS_H
#define VMSGATE_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ruleset.h"

struct capture {
	int saved;
	FILE *tmp;
	char text[8192];
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(STDERR_FILENO);
	dup2(fileno(c->tmp), STDERR_FILENO);
}

static inline const char *capture_end(struct capture *c)
{
	size_t n;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
	return c->text;
}

static inline const struct rule *find_rule(const struct ruleset *rs, int to, int proto,
					   int port)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->to == to && r->proto == proto && r->port == port)
			return r;
	}
	return NULL;
}

static inline const struct port_entry *find_port(const struct ruleset *rs, int cls, int proto,
						 int port, int dir)
{
	for (size_t i = 0; i < rs->nports; i++) {
		const struct vmg_port_key *k = &rs->ports[i].key;

		if (k->class_id == cls && k->proto == proto && k->port == port && k->dir == dir)
			return &rs->ports[i];
	}
	return NULL;
}

static inline size_t count_ports(const struct ruleset *rs, int proto, int lo, int hi, int dir)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nports; i++) {
		const struct vmg_port_key *k = &rs->ports[i].key;

		n += k->proto == proto && k->port >= lo && k->port <= hi && k->dir == dir;
	}
	return n;
}

#endif /* VMSGATE_TEST_HELPERS_H */
