// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"

const char *status_dir(void)
{
	const char *env = getenv("VMSGATE_RUN_DIR");

	return env && *env ? env : VMG_RUN_DIR;
}

const char *status_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/status", status_dir());
	return path;
}

int status_write(const struct daemon_status *st)
{
	char tmp[600];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", status_path());
	if (mkdir(status_dir(), 0755) && errno != EEXIST)
		return -errno;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "pid=%d\nconfig=%s\ngeneration=%u\nreloads_ok=%" PRIu64 "\n"
		"reloads_failed=%" PRIu64 "\nlast_success=%" PRIu64 "\nlast_result=%s\n"
		"last_message=%s\n", (int)st->pid, st->config, st->generation, st->reloads_ok,
		st->reloads_failed, st->last_success, st->last_result, st->last_message);
	if (fclose(f))
		return -errno;
	/* rename is atomic: a reader sees the old file or the new one */
	if (rename(tmp, status_path()))
		return -errno;
	return 0;
}

static void copy_value(char *dst, size_t len, const char *v)
{
	snprintf(dst, len, "%s", v);
	dst[strcspn(dst, "\n")] = '\0';
}

int status_read(struct daemon_status *st)
{
	char line[1024];
	FILE *f = fopen(status_path(), "re");

	memset(st, 0, sizeof(*st));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "pid"))
			st->pid = (pid_t)atoi(v);
		else if (!strcmp(line, "config"))
			copy_value(st->config, sizeof(st->config), v);
		else if (!strcmp(line, "generation"))
			st->generation = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "reloads_ok"))
			st->reloads_ok = strtoull(v, NULL, 10);
		else if (!strcmp(line, "reloads_failed"))
			st->reloads_failed = strtoull(v, NULL, 10);
		else if (!strcmp(line, "last_success"))
			st->last_success = strtoull(v, NULL, 10);
		else if (!strcmp(line, "last_result"))
			copy_value(st->last_result, sizeof(st->last_result), v);
		else if (!strcmp(line, "last_message"))
			copy_value(st->last_message, sizeof(st->last_message), v);
	}
	fclose(f);
	return 0;
}

bool status_daemon_alive(const struct daemon_status *st)
{
	return st->pid > 0 && (kill(st->pid, 0) == 0 || errno == EPERM);
}
