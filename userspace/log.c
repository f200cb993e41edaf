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

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl;

	/* libbpf is chatty: its warnings are our debug output unless asked for */
	switch (level) {
	case LIBBPF_WARN:
		lvl = LOG_LVL_INFO;
		break;
	case LIBBPF_INFO:
		lvl = LOG_LVL_DEBUG;
		break;
	default:
		return 0;
	}
	if (lvl > log_level || log_level < LOG_LVL_DEBUG)
		return 0;
	log_vmsg(lvl, fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
