// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level log_get_level(void)
{
	return log_level;
}

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[LOG_LVL_ERROR] = "error: ",
		[LOG_LVL_WARN] = "warning: ",
		[LOG_LVL_INFO] = "",
		[LOG_LVL_DEBUG] = "debug: ",
	};

	if (lvl > log_level)
		return;
	fputs(prefix[lvl], stderr);
	vfprintf(stderr, fmt, ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

/* libbpf is chatty: all of it is debug output, shown with -v only */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_level < LOG_LVL_DEBUG)
		return 0;
	fputs(level == LIBBPF_WARN ? "libbpf: warning: " : "libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
