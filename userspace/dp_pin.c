// SPDX-License-Identifier: GPL-2.0-only
/* Pins under VMG_PIN_DIR: links per interface, maps by name, the program. */
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_pin.h"
#include "log.h"

#define LINK_PREFIX "link_"

const char *dp_pin_dir(void)
{
	const char *env = getenv("VMSGATE_PIN_DIR");

	return env && *env ? env : VMG_PIN_DIR;
}

const char *xdp_mode_name(enum dp_xdp_mode mode)
{
	switch (mode) {
	case DP_XDP_NATIVE:
		return "native";
	case DP_XDP_GENERIC:
		return "generic";
	default:
		return "none";
	}
}

static void link_path(const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" LINK_PREFIX "%s", dp_pin_dir(), ifname);
}

int dp_pinned_map(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dp_pin_dir(), name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static enum dp_xdp_mode query_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (ifindex <= 0 || bpf_xdp_query(ifindex, 0, &q))
		return DP_XDP_NONE;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
	case XDP_ATTACHED_HW:
		return DP_XDP_NATIVE;
	case XDP_ATTACHED_SKB:
		return DP_XDP_GENERIC;
	default:
		return DP_XDP_NONE;
	}
}

int dp_link_info(const char *ifname, int *ifindex, enum dp_xdp_mode *mode)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	char path[256];
	int fd, err = 0;

	link_path(ifname, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	close(fd);
	if (err)
		return err;
	*ifindex = (int)info.xdp.ifindex;
	*mode = query_mode(*ifindex);
	return 0;
}

int dp_detach(const char *ifname)
{
	char path[256];
	int fd;

	link_path(ifname, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* detach now, not when the last holder of the link closes it */
	bpf_link_detach(fd);
	close(fd);
	if (unlink(path))
		return -errno;
	return 0;
}

int dp_pinned_links(char names[][16], int max)
{
	DIR *dir = opendir(dp_pin_dir());
	struct dirent *de;
	int n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		if (strncmp(de->d_name, LINK_PREFIX, strlen(LINK_PREFIX)))
			continue;
		snprintf(names[n++], 16, "%s", de->d_name + strlen(LINK_PREFIX));
	}
	closedir(dir);
	return n;
}

int dp_unpin_all(void)
{
	char names[64][16], path[512];
	DIR *dir;
	struct dirent *de;
	int n = dp_pinned_links(names, 64), err = 0;

	for (int i = 0; i < n; i++)
		dp_detach(names[i]);
	dir = opendir(dp_pin_dir());
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp_pin_dir(), de->d_name);
		if (unlink(path))
			err = -errno;
	}
	closedir(dir);
	if (rmdir(dp_pin_dir()) && errno != ENOENT)
		err = -errno;
	return err;
}
