// SPDX-License-Identifier: GPL-2.0-only
/* vmsgate reload, status, stats, monitor and detach: the pinned state, read and changed. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "daemon.h"
#include "dataplane.h"
#include "dp_pin.h"
#include "log.h"
#include "nft.h"
#include "roles.h"
#include "util.h"

static int no_args(int argc, char **argv, const char *usage)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("%s", usage);
		return -1;
	}
	if (argc > 1) {
		fprintf(stderr, "unexpected argument '%s'\n%s", argv[1], usage);
		return EXIT_USAGE;
	}
	return 0;
}

int do_reload(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate reload\n"
		"  Asks the running daemon to re-read its policy and waits for the result.\n"
		"  On any error the running policy stays in force; exit status 1.\n";
	struct daemon_status before, after;
	int err = no_args(argc, argv, usage);

	if (err)
		return err < 0 ? EXIT_OK : err;
	if (status_read(&before) || !status_daemon_alive(&before)) {
		fprintf(stderr, "error: vmsgate run is not running (no live pid in %s)\n",
			status_path());
		return EXIT_FAIL;
	}
	if (kill(before.pid, SIGHUP)) {
		fprintf(stderr, "error: failed to signal pid %d: %s\n", (int)before.pid,
			strerror(errno));
		return EXIT_FAIL;
	}
	for (int i = 0; i < 300; i++) {
		usleep(100 * 1000);
		if (status_read(&after))
			continue;
		if (after.reloads_ok + after.reloads_failed !=
		    before.reloads_ok + before.reloads_failed) {
			bool ok = !strcmp(after.last_result, "ok");

			/* a failure's message is the first error line, FILE:LINE:COL first */
			if (ok)
				printf("reloaded: %s\n", after.last_message);
			else
				fprintf(stderr, "%s\n", after.last_message);
			return ok ? EXIT_OK : EXIT_FAIL;
		}
	}
	fprintf(stderr, "error: the daemon did not answer within 30 s\n");
	return EXIT_FAIL;
}

static int read_active(struct vmg_config *cfg, int *gen)
{
	struct vmg_state state;
	__u32 key = 0;
	int sfd = dp_pinned_map("vmg_state"), cfd = dp_pinned_map("vmg_config"), err = 0;

	if (sfd < 0 || cfd < 0) {
		err = sfd < 0 ? sfd : cfd;
		goto out;
	}
	if (bpf_map_lookup_elem(sfd, &key, &state)) {
		err = -errno;
		goto out;
	}
	*gen = (int)state.active;
	key = state.active;
	if (bpf_map_lookup_elem(cfd, &key, cfg))
		err = -errno;
out:
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	return err;
}

int do_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate status\n"
		"  What is attached and which policy is in force, daemon running or not.\n";
	static const char *const icmp[] = { "allow", "errors-only", "deny" };
	struct daemon_status st;
	struct vmg_config cfg;
	char names[64][16];
	int gen = 0, n, err = no_args(argc, argv, usage);

	if (err)
		return err < 0 ? EXIT_OK : err;
	if (!status_read(&st) && status_daemon_alive(&st))
		printf("daemon:      running, pid %d, policy %s\n", (int)st.pid, st.config);
	else
		printf("daemon:      not running\n");
	if (st.pid)
		printf("last reload: %s: %s\n", st.last_result, st.last_message);
	if (read_active(&cfg, &gen)) {
		printf("data plane:  not loaded (nothing pinned under %s)\n", dp_pin_dir());
		return EXIT_OK;
	}
	printf("data plane:  loaded, ABI %u, policy generation %u (slot %d)\n",
	       cfg.abi_version, cfg.generation, gen);
	printf("policy:      mode %s, unlisted %s, icmp %s, unknown fragments %s, "
	       "conntrack %s\n", cfg.mode ? "monitor" : "enforce",
	       cfg.unlisted_drop ? "drop" : "pass", icmp[cfg.icmp % 3],
	       cfg.unknown_frag_drop ? "drop" : "pass", cfg.conntrack ? "on" : "off");
	n = dp_pinned_links(names, 64);
	if (!n)
		printf("interfaces:  none attached\n");
	for (int i = 0; i < n; i++) {
		enum dp_xdp_mode mode = DP_XDP_NONE;
		int ifindex = 0;

		dp_link_info(names[i], &ifindex, &mode);
		if (ifindex)
			printf("interface:   %s (ifindex %d), XDP %s\n", names[i], ifindex,
			       xdp_mode_name(mode));
		else
			printf("interface:   %s: device gone, link defunct\n", names[i]);
	}
	return EXIT_OK;
}

int do_stats(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate stats\n"
		"  Counters from the pinned maps, summed over CPUs; they are there\n"
		"  while the daemon is down too.\n";
	static struct vmg_counter reasons[VMG_REASON_SLOTS], roles[VMG_ROLE_SLOTS];
	int rfd, ofd, err = no_args(argc, argv, usage);

	if (err)
		return err < 0 ? EXIT_OK : err;
	rfd = dp_pinned_map("vmg_reason_cnt");
	ofd = dp_pinned_map("vmg_role_cnt");
	if (rfd < 0 || ofd < 0) {
		fprintf(stderr, "error: no pinned counters under %s: is vmsgate running or was "
			"it ever started?\n", dp_pin_dir());
		return EXIT_FAIL;
	}
	err = dp_counters_read(rfd, 0, VMG_REASON_SLOTS, reasons) ?:
	      dp_counters_read(ofd, 0, VMG_ROLE_SLOTS, roles);
	close(rfd);
	close(ofd);
	if (err) {
		fprintf(stderr, "error: failed to read the counters: %s\n", strerror(-err));
		return EXIT_FAIL;
	}
	printf("%-18s %12s %12s %12s\n", "REASON", "PASS", "DROP", "WOULD_DROP");
	for (int r = 0; r < VMG_R_COUNT; r++) {
		const struct vmg_counter *c = &reasons[VMG_REASON_IDX(r, 0)];

		printf("%-18s %12llu %12llu %12llu\n", reason_name(r), c[VMG_A_PASS].packets,
		       c[VMG_A_DROP].packets, c[VMG_A_WOULD_DROP].packets);
	}
	printf("\n%-26s %-18s %12s\n", "DESTINATION ROLE", "REASON", "PACKETS");
	for (int role = 0; role < ROLE_COUNT; role++)
		for (int r = 0; r < VMG_R_COUNT; r++) {
			__u64 n = roles[VMG_ROLE_IDX(role, r)].packets;

			if (n)
				printf("%-26s %-18s %12llu\n", role_name(role), reason_name(r), n);
		}
	return EXIT_OK;
}

static volatile sig_atomic_t monitor_stop;

static void on_signal(int sig)
{
	monitor_stop = 1;
}

struct monitor_ctx {
	bool json;
	long left;		/* events still to print; <0 without --count */
	int64_t mono_to_real;	/* add to a bpf_ktime_get_ns() stamp for wall time */
};

/* Drop events sent before the monitor started are not "as they happen". */
static int discard_event(void *ctx, void *data, size_t len)
{
	return 0;
}

static int64_t mono_to_real_offset(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
}

static int print_event(void *ctx, void *data, size_t len)
{
	struct monitor_ctx *m = ctx;
	const struct vmg_event *e = data;
	int af = e->family == VMG_FAMILY_V6 ? AF_INET6 : AF_INET;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "?";
	const char *proto = e->proto == 6 ? "tcp" : e->proto == 17 ? "udp" :
			    e->proto == 1 || e->proto == 58 ? "icmp" : "ip";

	char when[32];
	time_t secs;
	struct tm tm;
	int64_t ns;

	if (len < sizeof(*e) || m->left == 0)
		return 1;
	ns = (int64_t)e->ts_ns + m->mono_to_real;
	secs = (time_t)(ns / 1000000000LL);
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03lld",
		 (long long)(ns / 1000000 % 1000));
	inet_ntop(af, e->src, src, sizeof(src));
	inet_ntop(af, e->dst, dst, sizeof(dst));
	if_indextoname(e->ifindex, ifname);
	if (m->json)
		printf("{\"time_ns\":%lld,\"interface\":\"%s\",\"action\":\"%s\","
		       "\"reason\":\"%s\",\"proto\":\"%s\",\"src\":\"%s\",\"sport\":%u,"
		       "\"dst\":\"%s\",\"dport\":%u,\"role\":\"%s\"}\n", (long long)ns,
		       ifname, action_name(e->action),
		       reason_name(e->reason), proto, src, e->sport, dst, e->dport,
		       role_name(e->role));
	else
		printf("%s %-8s %-10s %-17s %-4s %s:%u -> %s:%u (%s)\n", when, ifname,
		       action_name(e->action), reason_name(e->reason), proto, src, e->sport,
		       dst, e->dport, role_name(e->role));
	fflush(stdout);
	if (m->left > 0 && --m->left == 0) {
		monitor_stop = 1;
		return 1;	/* stop in the middle of a batch, too */
	}
	return 0;
}

int do_monitor(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate monitor [--json] [--count N]\n"
		"  Prints drop events as they happen (rate-limited in the kernel).\n"
		"example: vmsgate monitor --json --count 10\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct monitor_ctx m = { .left = -1 };
	struct ring_buffer *rb;
	int fd, opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			m.json = true;
			break;
		case 'n':
			m.left = strtol(optarg, NULL, 10);
			if (m.left <= 0) {
				fprintf(stderr, "--count: expected a positive number\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("%s", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	fd = dp_pinned_map("vmg_events");
	if (fd < 0) {
		fprintf(stderr, "error: no pinned event ring under %s: is vmsgate running?\n",
			dp_pin_dir());
		return EXIT_FAIL;
	}
	rb = ring_buffer__new(fd, discard_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "error: failed to open the event ring: %s\n", strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	m.mono_to_real = mono_to_real_offset();
	rb = ring_buffer__new(fd, print_event, &m, NULL);
	if (!rb) {
		fprintf(stderr, "error: failed to open the event ring: %s\n", strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!monitor_stop) {
		int n = ring_buffer__poll(rb, 200);

		if (n < 0 && n != -EINTR)
			break;
	}
	ring_buffer__free(rb);
	close(fd);
	return EXIT_OK;
}

int do_detach(int argc, char **argv)
{
	static const char usage[] =
		"usage: vmsgate detach\n"
		"  Removes the XDP program from every interface, the pins and the nftables\n"
		"  table: the site is then unenforced. Stop the daemon first.\n";
	struct daemon_status st;
	struct nft_sync *ns;
	bool had_pins;
	int err = no_args(argc, argv, usage);

	if (err)
		return err < 0 ? EXIT_OK : err;
	if (!status_read(&st) && status_daemon_alive(&st)) {
		fprintf(stderr, "error: vmsgate run is running (pid %d); stop it first "
			"(systemctl stop vmsgate)\n", (int)st.pid);
		return EXIT_FAIL;
	}
	had_pins = access(dp_pin_dir(), F_OK) == 0;
	err = dp_unpin_all();
	if (err)
		fprintf(stderr, "error: failed to remove pins under %s: %s\n", dp_pin_dir(),
			strerror(-err));
	if (!nft_sync_open(&ns)) {
		if (nft_sync_delete_table(ns)) {
			fprintf(stderr, "error: failed to delete nftables table inet vmsgate\n");
			err = -EIO;
		}
		nft_sync_close(ns);
	}
	unlink(status_path());
	if (err)
		return EXIT_FAIL;
	if (had_pins)
		printf("detached: program, pins under %s and nftables table inet vmsgate "
		       "removed\n", dp_pin_dir());
	else
		printf("nothing was attached (no pins under %s); nftables table inet vmsgate "
		       "removed if it was there\n", dp_pin_dir());
	return EXIT_OK;
}
