/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMSGATE_UTIL_H
#define VMSGATE_UTIL_H

#include <stddef.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Reads a whole file; *len excludes the terminating NUL that is added. */
int read_file(const char *path, char **out, size_t *len);
/* Grows *arr (of *cap elements of size sz) to hold n + 1. 0 or -ENOMEM. */
int grow(void **arr, size_t *cap, size_t n, size_t sz);
char *xstrdup(const char *s);
/*
 * The length of the head of a ", "-separated list that fits in width
 * (at least one item); *next is where the rest starts, "" at the end.
 */
size_t list_head(const char *s, size_t width, const char **next);
/* Writes s as a JSON string literal, quotes included. */
void json_str(FILE *f, const char *s);

#endif /* VMSGATE_UTIL_H */
