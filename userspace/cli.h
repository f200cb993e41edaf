/* SPDX-License-Identifier: GPL-2.0-only */
/* Subcommands: each do_<command>() takes its argv and returns an exit status. */
#ifndef VMSGATE_CLI_H
#define VMSGATE_CLI_H

#define DEFAULT_SITE "/etc/vmsgate/site.yaml"

/* Exit statuses */
#define EXIT_OK 0
#define EXIT_FAIL 1	/* the command failed: bad policy, kernel refused, ... */
#define EXIT_USAGE 2	/* wrong arguments */

int do_check(int argc, char **argv);
int do_compile(int argc, char **argv);
int do_catalog(int argc, char **argv);
int do_explain(int argc, char **argv);
int do_replay(int argc, char **argv);
int do_run(int argc, char **argv);
int do_reload(int argc, char **argv);
int do_status(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_monitor(int argc, char **argv);
int do_detach(int argc, char **argv);

#endif /* VMSGATE_CLI_H */
