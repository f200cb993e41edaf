/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state file: what `vmsgate reload` and `status` read. */
#ifndef VMSGATE_DAEMON_H
#define VMSGATE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VMG_RUN_DIR "/run/vmsgate"

/* VMG_RUN_DIR, or $VMSGATE_RUN_DIR (tests and side-by-side installs). */
const char *status_dir(void);
/* <run dir>/status */
const char *status_path(void);

struct daemon_status {
	pid_t pid;
	char config[512];
	uint32_t generation;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t last_success;		/* unix time */
	char last_result[16];		/* "ok" or "failed" */
	char last_message[512];
};

int status_write(const struct daemon_status *st);
/* 0, -ENOENT when no daemon wrote one, or another -errno. */
int status_read(struct daemon_status *st);
/* The daemon named in the status file is alive. */
bool status_daemon_alive(const struct daemon_status *st);

#endif /* VMSGATE_DAEMON_H */
