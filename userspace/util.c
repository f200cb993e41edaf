// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int read_file(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	struct stat st;
	FILE *f;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		free(buf);
		return -errno;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		free(buf);
		return -EISDIR;
	}
	for (;;) {
		size_t got;

		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	na = realloc(*arr, ncap * sz);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

size_t list_head(const char *s, size_t width, const char **next)
{
	size_t len = strlen(s), fit = 0;
	const char *sep = s;

	if (len <= width) {
		*next = s + len;
		return len;
	}
	while ((sep = strstr(sep, ", ")) && (size_t)(sep - s) <= width) {
		fit = (size_t)(sep - s) + 1;	/* keep the comma */
		sep += 2;
	}
	if (!fit) {
		sep = strstr(s, ", ");
		fit = sep ? (size_t)(sep - s) + 1 : len;
	}
	*next = s + fit + (s[fit] == ' ');
	return fit;
}
