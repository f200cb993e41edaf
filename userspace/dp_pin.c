// SPDX-License-Identifier: GPL-2.0-only
/* Pins under VMG_PIN_DIR: links per interface, maps by name, the program. */
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

/*
 * The pin directory must sit on a bpffs: /sys/fs/bpf is mounted if it is
 * missing; any other parent must be one already.
 */
static int ensure_pin_dir(void)
{
	char parent[256], *slash;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", dp_pin_dir());
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &fs) || fs.f_type != BPF_FS_MAGIC) {
		if (strcmp(parent, "/sys/fs/bpf")) {
			pr_err("%s is not on a bpffs; mount one there first "
			       "(mount -t bpf bpf %s)\n", dp_pin_dir(), parent);
			return -ENOTDIR;
		}
		if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
			pr_err("failed to mount bpffs on %s: %s\n", parent, strerror(errno));
			return -errno;
		}
		pr_info("mounted bpffs on %s\n", parent);
	}
	if (mkdir(dp_pin_dir(), 0700) && errno != EEXIST) {
		pr_err("failed to create %s: %s\n", dp_pin_dir(), strerror(errno));
		return -errno;
	}
	return 0;
}

static int refuse_abi(const char *what)
{
	pr_err("the pins under %s are of another vmsgate version (%s); run "
	       "'vmsgate detach' with that version, or remove %s, then start again\n",
	       dp_pin_dir(), what, dp_pin_dir());
	return -EPROTO;
}

/* A pinned map can be reused only if it is the map this program expects. */
static int check_compat(struct bpf_map *map, int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char what[128];

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map))
		return 0;
	snprintf(what, sizeof(what), "map %s has another layout", bpf_map__name(map));
	return refuse_abi(what);
}

static int check_pinned_config(void)
{
	int sfd = dp_pinned_map("vmg_state"), cfd = dp_pinned_map("vmg_config"), err = 0;
	struct vmg_config cfg = { 0 };
	struct vmg_state st = { 0 };
	__u32 key = 0;

	if (sfd >= 0 && cfd >= 0 && !bpf_map_lookup_elem(sfd, &key, &st)) {
		key = st.active & 1;
		if (!bpf_map_lookup_elem(cfd, &key, &cfg) && cfg.abi_version &&
		    cfg.abi_version != VMG_ABI_VERSION) {
			char what[64];

			snprintf(what, sizeof(what), "ABI %u, this one speaks %u",
				 cfg.abi_version, VMG_ABI_VERSION);
			err = refuse_abi(what);
		}
	}
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	return err;
}

int dp_pin_reuse(struct bpf_object *obj, bool *adopted)
{
	struct bpf_map *map;
	int err = ensure_pin_dir();

	*adopted = false;
	if (err)
		return err;
	err = check_pinned_config();
	if (err)
		return err;
	bpf_object__for_each_map(map, obj) {
		int fd;

		if (bpf_map__is_internal(map))
			continue;
		fd = dp_pinned_map(bpf_map__name(map));
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			pr_err("failed to open pinned map %s: %s\n", bpf_map__name(map),
			       strerror(-fd));
			return fd;
		}
		err = check_compat(map, fd);
		if (!err)
			err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
		*adopted = true;
	}
	return 0;
}

int dp_pin_object(struct bpf_object *obj, int prog_fd)
{
	struct bpf_map *map;
	char path[256];

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp_pin_dir(), bpf_map__name(map));
		if (!access(path, F_OK))
			continue;
		if (bpf_obj_pin(bpf_map__fd(map), path)) {
			pr_err("failed to pin map %s at %s: %s\n", bpf_map__name(map), path,
			       strerror(errno));
			return -errno;
		}
	}
	/* the program pin names what is loaded now; links keep their own reference */
	snprintf(path, sizeof(path), "%s/prog", dp_pin_dir());
	unlink(path);
	if (bpf_obj_pin(prog_fd, path)) {
		pr_err("failed to pin the program at %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int link_create(int prog_fd, int ifindex, const char *ifname, enum dp_xdp_mode *mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_DRV_MODE);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	*mode = DP_XDP_NATIVE;
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) {
		opts.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
		if (fd >= 0)
			pr_warn("%s: the driver has no native XDP; attached in generic mode, "
				"which is slower\n", ifname);
		*mode = DP_XDP_GENERIC;
	}
	if (fd < 0 && (errno == EBUSY || errno == EEXIST)) {
		pr_err("failed to attach to %s: another XDP program is attached; remove it "
		       "with 'ip link set dev %s xdp off'\n", ifname, ifname);
		return -EBUSY;
	}
	if (fd < 0) {
		pr_err("failed to attach to %s: %s\n", ifname, strerror(errno));
		return -errno;
	}
	return fd;
}

int dp_attach(struct dp *dp, const char *ifname, enum dp_xdp_mode *mode)
{
	int ifindex = (int)if_nametoindex(ifname), pinned_ifindex = 0, fd, err = 0;
	enum dp_xdp_mode pinned_mode;
	char path[256];

	if (!ifindex) {
		pr_err("failed to attach to %s: no such device\n", ifname);
		return -ENODEV;
	}
	link_path(ifname, path, sizeof(path));
	if (!dp_link_info(ifname, &pinned_ifindex, &pinned_mode)) {
		if (pinned_ifindex == ifindex) {
			/* the same device: swap the program in place, no gap */
			fd = bpf_obj_get(path);
			if (fd < 0)
				return -errno;
			if (bpf_link_update(fd, dp_prog_fd(dp), NULL))
				err = -errno;
			close(fd);
			if (err) {
				pr_err("failed to update the program on %s: %s\n", ifname,
				       strerror(-err));
				return err;
			}
			*mode = query_mode(ifindex);
			return 0;
		}
		/* the device went away and came back: the old link is defunct */
		unlink(path);
	}
	fd = link_create(dp_prog_fd(dp), ifindex, ifname, mode);
	if (fd < 0)
		return fd;
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		pr_err("failed to pin the link of %s at %s: %s\n", ifname, path,
		       strerror(-err));
	}
	close(fd);
	return err;
}

int dp_map_usage(struct dp *dp, struct dp_map_usage *out, int max)
{
	struct dp_entries e;
	int gen = dp_active_gen(dp), n = 0;

	if (gen < 0 || max < 4 || dp_gen_entries(dp, gen, &e))
		return 0;
	out[n++] = (struct dp_map_usage){ "vmg_hosts", (uint32_t)e.hosts, VMG_MAX_HOSTS };
	out[n++] = (struct dp_map_usage){ "vmg_pfx_v4", (uint32_t)e.prefixes_v4,
					  VMG_MAX_PREFIXES };
	out[n++] = (struct dp_map_usage){ "vmg_pfx_v6", (uint32_t)e.prefixes_v6,
					  VMG_MAX_PREFIXES };
	out[n++] = (struct dp_map_usage){ "vmg_ports", (uint32_t)e.ports, VMG_MAX_PORT_RULES };
	return n;
}
