// SPDX-License-Identifier: GPL-2.0-only
/*
 * On the wire: a flood sent over a veth into a gateway namespace, dropped
 * there by vmsgate's XDP program or by nftables holding the same policy.
 * tests/bench/wire.sh builds the namespaces; this program does the rest.
 *
 * bench_wire gro IFNAME      (inside the namespace of IFNAME) turns GRO on,
 *                            so that the veth polls with NAPI even without
 *                            an XDP program: it then takes XDP frames, and
 *                            its NAPI can run in a thread of its own
 * bench_wire run OPTIONS     the measurement:
 *   --gw NS --tx NS          the gateway's and the sender's namespaces
 *   --rx-if IF --tx-if IF    the veth's ends, in the gateway and the sender
 *   --out-if IF              the gateway's way to the protected hosts
 *   --napi-pid PID           the thread that runs the receiving veth's NAPI
 *   --site FILE              the policy, for both contenders
 *   --family 4|6 --seconds S --runs N --tx-cpu C --xmit OBJ --csv FILE
 *
 * The sender runs xmit.bpf.o with BPF_F_TEST_XDP_LIVE_FRAMES: every frame
 * is a TCP SYN from an address in no role to a camera's RTSP port, which
 * the policy opens to recording servers only. vmsgate drops it as
 * src_not_allowed; nftables drops it in chain forward, after conntrack has
 * seen it. The receiver's cost is the CPU time of the NAPI thread
 * (/proc/PID/schedstat), which does all of the receiving, from the veth's
 * ring through XDP or the whole forward path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "compile.h"
#include "dataplane.h"
#include "dp_pin.h"
#include "log.h"
#include "nft.h"
#include "packets.h"

#define CHUNK (1u << 21)		/* frames per BPF_PROG_TEST_RUN call */
#define FLOOD_SRC4 "192.0.2.10"
#define FLOOD_SRC6 "2001:db8::10"
#define RTSP 554

struct opts {
	const char *gw, *tx;
	const char *rx_if, *tx_if, *out_if;
	int napi_pid;
	const char *site;
	int family;
	double seconds;
	int runs;
	int tx_cpu;
	const char *xmit;
	const char *csv;
};

/* ---- namespaces and interfaces --------------------------------------------- */

static int netns_fd(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "bench_wire: no namespace %s: %s\n", name, strerror(errno));
	return fd;
}

static int enter(int fd)
{
	if (setns(fd, CLONE_NEWNET)) {
		perror("bench_wire: setns");
		return -errno;
	}
	return 0;
}

static int if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return err;
}

static int do_gro(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = 1 };
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(s, SIOCETHTOOL, &ifr)) {
		fprintf(stderr, "bench_wire: failed to turn GRO on for %s: %s\n", ifname,
			strerror(errno));
		err = 1;
	}
	close(s);
	return err;
}

/* ---- counters -------------------------------------------------------------- */

/* rx and tx packets of ifname from an open /proc/net/dev of the gateway. */
static int dev_packets(int fd, const char *ifname, uint64_t *rx, uint64_t *tx)
{
	char buf[16384], *line, *save;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t len = strlen(ifname);

	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v[16];

		while (*line == ' ')
			line++;
		if (strncmp(line, ifname, len) || line[len] != ':')
			continue;
		if (sscanf(line + len + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
			   &v[9]) != 10)
			return -EINVAL;
		*rx = v[1];
		*tx = v[9];
		return 0;
	}
	return -ENOENT;
}

/* Nanoseconds the thread pid has run, from /proc/PID/schedstat. */
static int thread_ns(int pid, uint64_t *ns)
{
	char path[64];
	unsigned long long v;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*ns = v;
	return 0;
}

struct snapshot {
	uint64_t rx, fwd, cpu_ns;
	double t;
};

static int snap(int devfd, const struct opts *o, struct snapshot *s)
{
	uint64_t dummy;
	int err;

	s->t = bench_now_ns();
	err = dev_packets(devfd, o->rx_if, &s->rx, &dummy);
	if (!err)
		err = dev_packets(devfd, o->out_if, &dummy, &s->fwd);
	if (!err)
		err = thread_ns(o->napi_pid, &s->cpu_ns);
	return err;
}

/* ---- the flood --------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold16(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* A SYN with right checksums: conntrack would mark anything else invalid. */
static size_t flood_frame(int family, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			  uint8_t *out)
{
	char cam[64];
	int fam;
	struct frame_spec s = {
		.family = family,
		.src = family == 6 ? FLOOD_SRC6 : FLOOD_SRC4,
		.dst = cam,
		.proto = P_TCP,
		.sport = 40000,
		.dport = RTSP,
		.flags = F_SYN,
	};
	size_t len, l3 = 14, l4, ulen;
	uint32_t acc;
	uint16_t c;

	bench_camera_addr(family == 6 ? 3 : 0, &fam, cam, sizeof(cam));
	len = build_frame(&s, out);
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, src_mac, 6);
	if (family == 4) {
		l4 = l3 + (out[l3] & 0xf) * 4;
		c = fold16(sum16(out + l3, l4 - l3, 0));
		out[l3 + 10] = c >> 8;
		out[l3 + 11] = c & 0xff;
		acc = sum16(out + l3 + 12, 8, 0) + P_TCP;
	} else {
		l4 = l3 + 40;
		acc = sum16(out + l3 + 8, 32, 0) + P_TCP;
	}
	ulen = len - l4;
	acc += (uint32_t)ulen;
	acc = sum16(out + l4, ulen, acc);
	c = fold16(acc);
	out[l4 + 16] = c >> 8;
	out[l4 + 17] = c & 0xff;
	return len;
}

struct sender {
	int prog_fd;
	int ifindex;
	uint8_t frame[FRAME_MAX];
	size_t len;
};

/* Sends for about seconds; returns the frames handed to the veth, or -errno. */
static long long flood(const struct sender *snd, double seconds)
{
	/* the kernel wants the context to describe the frame exactly */
	struct xdp_md ctx = {
		.data_end = (__u32)snd->len,
		.ingress_ifindex = (__u32)snd->ifindex,
	};
	double t0 = bench_now_ns();
	long long sent = 0;

	while (bench_now_ns() - t0 < seconds * 1e9) {
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			.data_in = snd->frame,
			.data_size_in = snd->len,
			.ctx_in = &ctx,
			.ctx_size_in = sizeof(ctx),
			.repeat = CHUNK,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		);

		if (bpf_prog_test_run_opts(snd->prog_fd, &opts))
			return -errno;
		sent += CHUNK;
	}
	return sent;
}

static int open_sender(const struct opts *o, const uint8_t dst_mac[6], struct sender *snd)
{
	struct bpf_object *obj = bpf_object__open_file(o->xmit, NULL);
	uint8_t src_mac[6];
	int err;

	if (!obj)
		return -errno;
	err = bpf_object__load(obj);
	if (err)
		return err;
	snd->prog_fd = bpf_program__fd(bpf_object__next_program(obj, NULL));
	snd->ifindex = (int)if_nametoindex(o->tx_if);
	if (!snd->ifindex)
		return -ENODEV;
	err = if_mac(o->tx_if, src_mac);
	if (err)
		return err;
	snd->len = flood_frame(o->family, dst_mac, src_mac, snd->frame);
	return 0;
}

/* ---- the two contenders ------------------------------------------------------ */

enum contender { C_VMSGATE, C_NFTABLES, C_COUNT };

static const char *const contender_names[C_COUNT] = { "vmsgate", "nftables" };

struct gateway {
	int rx_ifindex;
	struct dp *dp;
	struct nft_sync *ns;
	struct ruleset rs;
};

/* Puts contender c in front of the gateway, the other out of the way. */
static int arm(struct gateway *gw, enum contender c)
{
	bool changed;
	int err;

	bpf_xdp_detach(gw->rx_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	err = nft_sync_delete_table(gw->ns);
	if (err)
		return err;
	if (c == C_VMSGATE) {
		err = bpf_xdp_attach(gw->rx_ifindex, dp_prog_fd(gw->dp), XDP_FLAGS_DRV_MODE,
				     NULL);
		if (err)
			fprintf(stderr, "bench_wire: failed to attach in native mode: %s\n",
				strerror(-err));
		return err;
	}
	return nft_sync_apply(gw->ns, &gw->rs, &changed);
}

struct results {
	double rx_pps[BENCH_MAX_RUNS];
	double sent_pps[BENCH_MAX_RUNS];
	double drops_per_cpu_s[BENCH_MAX_RUNS];
	double ns_per_pkt[BENCH_MAX_RUNS];
	double cpu_share[BENCH_MAX_RUNS];
	uint64_t forwarded;
};

static int measure(const struct opts *o, int devfd, int txns, int gwns,
		   const struct sender *snd, struct results *res)
{
	struct snapshot a, b;
	long long sent;
	int err;

	err = enter(txns);
	/* warm up: caches, conntrack, rings */
	sent = err ? 0 : flood(snd, 0.3);
	if (sent < 0) {
		fprintf(stderr, "bench_wire: failed to send on %s: %s\n", o->tx_if,
			strerror((int)-sent));
		err = (int)sent;
	}
	for (int r = 0; r < o->runs && !err; r++) {
		double secs, dropped, cpu;

		err = snap(devfd, o, &a);
		if (err)
			break;
		sent = flood(snd, o->seconds);
		if (sent < 0) {
			err = (int)sent;
			break;
		}
		usleep(50 * 1000);	/* let the receiver empty its ring */
		err = snap(devfd, o, &b);
		secs = (b.t - a.t) / 1e9;
		dropped = (double)(b.rx - a.rx) - (double)(b.fwd - a.fwd);
		cpu = (double)(b.cpu_ns - a.cpu_ns);
		res->forwarded += b.fwd - a.fwd;
		res->rx_pps[r] = (double)(b.rx - a.rx) / secs;
		res->sent_pps[r] = (double)sent / secs;
		res->drops_per_cpu_s[r] = cpu > 0 ? dropped / (cpu / 1e9) : 0;
		res->ns_per_pkt[r] = dropped > 0 ? cpu / dropped : 0;
		res->cpu_share[r] = cpu / (b.t - a.t);
	}
	if (enter(gwns) && !err)
		err = -EIO;
	return err;
}

static void report(FILE *csv, const struct opts *o, enum contender c, struct results *res)
{
	const char *fam = o->family == 6 ? "ipv6" : "ipv4";
	const char *who = contender_names[c];
	struct bench_stat st;
	char note[64];

	snprintf(note, sizeof(note), "%llu forwarded", (unsigned long long)res->forwarded);
	bench_stat(res->drops_per_cpu_s, o->runs, &st);
	bench_csv(csv, "wire", "drops_per_cpu_second", who, -1, fam, &st, "pps", note);
	bench_stat(res->ns_per_pkt, o->runs, &st);
	bench_csv(csv, "wire", "cpu_per_packet", who, -1, fam, &st, "ns", NULL);
	bench_stat(res->rx_pps, o->runs, &st);
	bench_csv(csv, "wire", "received_pps", who, -1, fam, &st, "pps", NULL);
	bench_stat(res->cpu_share, o->runs, &st);
	bench_csv(csv, "wire", "receiver_cpu_busy", who, -1, fam, &st, "share", NULL);
	bench_stat(res->sent_pps, o->runs, &st);
	bench_csv(csv, "wire", "offered_pps", who, -1, fam, &st, "pps", NULL);
}

static int do_run(const struct opts *o)
{
	struct gateway gw = {};
	struct sender snd = {};
	uint8_t rx_mac[6];
	int gwns, txns, devfd = -1, err;
	FILE *csv = stdout;

	gwns = netns_fd(o->gw);
	txns = netns_fd(o->tx);
	if (gwns < 0 || txns < 0)
		return 1;
	if (o->csv && !(csv = fopen(o->csv, "a")))
		return 1;

	/* The gateway: its counters, the program with the policy, nftables */
	err = enter(gwns);
	if (err)
		return 1;
	devfd = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
	gw.rx_ifindex = (int)if_nametoindex(o->rx_if);
	if (devfd < 0 || !gw.rx_ifindex || if_mac(o->rx_if, rx_mac)) {
		fprintf(stderr, "bench_wire: cannot read %s in %s\n", o->rx_if, o->gw);
		return 1;
	}
	err = compile_file(o->site, &gw.rs, true);
	if (!err)
		err = dp_open_private_unrecorded(&gw.dp);
	if (!err)
		err = dp_apply(gw.dp, &gw.rs);
	if (!err)
		err = nft_sync_open(&gw.ns);
	if (err) {
		fprintf(stderr, "bench_wire: failed to set up the gateway: %s\n", strerror(-err));
		return 1;
	}

	/* The sender, on its own CPU */
	err = enter(txns);
	if (!err)
		err = open_sender(o, rx_mac, &snd);
	if (!err && bench_pin_cpu(o->tx_cpu))
		pr_warn("failed to pin the sender to CPU %d\n", o->tx_cpu);
	if (!err)
		err = enter(gwns);
	if (err) {
		fprintf(stderr, "bench_wire: failed to set up the sender: %s\n", strerror(-err));
		return 1;
	}

	for (int c = 0; c < C_COUNT && !err; c++) {
		struct results res = {};

		err = arm(&gw, c);
		if (!err)
			err = measure(o, devfd, txns, gwns, &snd, &res);
		if (!err)
			report(csv, o, c, &res);
	}

	bpf_xdp_detach(gw.rx_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	nft_sync_delete_table(gw.ns);
	nft_sync_close(gw.ns);
	dp_close(gw.dp);
	ruleset_free(&gw.rs);
	if (csv != stdout)
		fclose(csv);
	if (err)
		fprintf(stderr, "bench_wire: %s\n", strerror(-err));
	return err ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "gw", required_argument, NULL, 'g' },
		{ "tx", required_argument, NULL, 't' },
		{ "rx-if", required_argument, NULL, 'r' },
		{ "tx-if", required_argument, NULL, 'i' },
		{ "out-if", required_argument, NULL, 'u' },
		{ "napi-pid", required_argument, NULL, 'p' },
		{ "site", required_argument, NULL, 's' },
		{ "family", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "runs", required_argument, NULL, 'n' },
		{ "tx-cpu", required_argument, NULL, 'c' },
		{ "xmit", required_argument, NULL, 'x' },
		{ "csv", required_argument, NULL, 'o' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			o->gw = optarg;
			break;
		case 't':
			o->tx = optarg;
			break;
		case 'r':
			o->rx_if = optarg;
			break;
		case 'i':
			o->tx_if = optarg;
			break;
		case 'u':
			o->out_if = optarg;
			break;
		case 'p':
			o->napi_pid = atoi(optarg);
			break;
		case 's':
			o->site = optarg;
			break;
		case 'f':
			o->family = atoi(optarg);
			break;
		case 'S':
			o->seconds = atof(optarg);
			break;
		case 'n':
			o->runs = atoi(optarg);
			break;
		case 'c':
			o->tx_cpu = atoi(optarg);
			break;
		case 'x':
			o->xmit = optarg;
			break;
		case 'o':
			o->csv = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!o->gw || !o->tx || !o->rx_if || !o->tx_if || !o->out_if || o->napi_pid <= 0 ||
	    !o->site || (o->family != 4 && o->family != 6) || o->seconds <= 0 ||
	    o->runs < 1 || o->runs > BENCH_MAX_RUNS)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.family = 4,
		.seconds = 2,
		.runs = 5,
		.xmit = "build/bench/xmit.bpf.o",
	};

	log_set_level(LOG_LVL_WARN);
	log_setup_libbpf();
	if (argc == 3 && !strcmp(argv[1], "gro"))
		return do_gro(argv[2]);
	if (argc < 2 || strcmp(argv[1], "run") || parse_opts(argc - 1, argv + 1, &o)) {
		fprintf(stderr, "usage: bench_wire gro IFNAME\n"
			"       bench_wire run --gw NS --tx NS --rx-if IF --tx-if IF --out-if IF "
			"--napi-pid PID --site FILE [--family 4|6] [--seconds S] [--runs N] "
			"[--tx-cpu C] [--xmit OBJ] [--csv FILE]\n");
		return 2;
	}
	return do_run(&o);
}
