/* SPDX-License-Identifier: GPL-2.0-only */
/* One logging module: levels, lowercase messages, libbpf routed in. */
#ifndef VMSGATE_LOG_H
#define VMSGATE_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Routes libbpf's output into this module, at debug level. */
void log_setup_libbpf(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* VMSGATE_LOG_H */
