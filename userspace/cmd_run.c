// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmsgate run: the daemon.
 *
 * Stages: compile the policy; load the program with the pinned maps (or
 * adopt them); fill the maps; attach to every interface of the site; sync
 * nftables; serve metrics; tell systemd we are ready; then serve until
 * stopped. SIGHUP reloads; SIGTERM leaves enforcement in place.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cli.h"
#include "compile.h"
#include "daemon.h"
#include "dp_pin.h"
#include "log.h"
#include "metrics.h"
#include "nft.h"
#include "roles.h"
#include "util.h"
#include "version.h"

#define WATCH_INTERVAL_SEC 2

struct iface_state {
	char name[IF_NAMESIZE];
	int ifindex;			/* 0 while the device is missing */
	enum dp_xdp_mode mode;
};

struct daemon {
	const char *config;
	const char *metrics_addr;
	uint16_t metrics_port;
	bool use_nft;

	pthread_mutex_t lock;		/* everything below, for the metrics thread */
	struct dp *dp;
	struct nft_sync *nft;
	struct metrics *metrics;
	struct ruleset rs;
	struct iface_state *ifaces;
	size_t nifaces;
	struct daemon_status st;
	uint64_t nft_errors;
	uint64_t nft_repairs;
};

static void set_last(struct daemon *d, bool ok, const char *msg)
{
	snprintf(d->st.last_result, sizeof(d->st.last_result), "%s", ok ? "ok" : "failed");
	snprintf(d->st.last_message, sizeof(d->st.last_message), "%s", msg);
	if (ok) {
		d->st.reloads_ok++;
		d->st.last_success = (uint64_t)time(NULL);
	} else {
		d->st.reloads_failed++;
	}
	if (status_write(&d->st))
		pr_warn("failed to write %s\n", status_path());
}

/* Compiles the policy while keeping the first error line for the status file. */
static int compile_capturing(const char *config, struct ruleset *rs, char *first_error,
			     size_t len)
{
	FILE *tmp = tmpfile();
	char line[1024];
	int saved, err;

	first_error[0] = '\0';
	if (!tmp)
		return compile_file(config, rs, true);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	/* one line for closed flows instead of one each: `vmsgate check` lists them */
	err = compile_file(config, rs, true);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	while (fgets(line, sizeof(line), tmp)) {
		fputs(line, stderr);
		if (!first_error[0] && strstr(line, "error: ")) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(first_error, len, "%.500s", line);
		}
	}
	fclose(tmp);
	if (!err && rs->nclosed)
		pr_info("%s: %zu catalog flows closed for want of hosts "
			"(vmsgate check -c %s lists them)\n", config, rs->nclosed, config);
	return err;
}

static int check_interfaces(const struct ruleset *rs, const char *config)
{
	if (!rs->ninterfaces) {
		pr_err("%s: no interfaces to attach to; list them under 'interfaces'\n", config);
		return -EINVAL;
	}
	for (size_t i = 0; i < rs->ninterfaces; i++) {
		if (!if_nametoindex(rs->interfaces[i])) {
			pr_err("%s: interface %s not found; fix 'interfaces' or bring it up\n",
			       config, rs->interfaces[i]);
			return -ENODEV;
		}
	}
	return 0;
}

static int attach_all(struct daemon *d, const struct ruleset *rs)
{
	struct iface_state *ifs = calloc(rs->ninterfaces, sizeof(*ifs));
	char pinned[64][16];
	int n, err;

	if (!ifs)
		return -ENOMEM;
	for (size_t i = 0; i < rs->ninterfaces; i++) {
		snprintf(ifs[i].name, sizeof(ifs[i].name), "%s", rs->interfaces[i]);
		err = dp_attach(d->dp, ifs[i].name, &ifs[i].mode);
		if (err) {
			free(ifs);
			return err;
		}
		ifs[i].ifindex = (int)if_nametoindex(ifs[i].name);
	}
	/* interfaces the policy no longer names */
	n = dp_pinned_links(pinned, 64);
	for (int i = 0; i < n; i++) {
		bool keep = false;

		for (size_t j = 0; j < rs->ninterfaces; j++)
			keep |= !strcmp(pinned[i], rs->interfaces[j]);
		if (!keep && !dp_detach(pinned[i]))
			pr_info("detached from %s: no longer in the policy\n", pinned[i]);
	}
	free(d->ifaces);
	d->ifaces = ifs;
	d->nifaces = rs->ninterfaces;
	return 0;
}

static int sync_nft(struct daemon *d, const struct ruleset *rs)
{
	bool changed = false;
	int err;

	if (!d->use_nft)
		return 0;
	err = nft_sync_apply(d->nft, rs, &changed);
	if (err) {
		d->nft_errors++;
		return err;
	}
	if (changed)
		pr_debug("nftables table inet vmsgate updated\n");
	return 0;
}

/* Validate, compile, swap the maps, attach, sync: all or nothing for the maps. */
static int apply_policy(struct daemon *d, char *why, size_t len)
{
	struct ruleset rs;
	int err;

	err = compile_capturing(d->config, &rs, why, len);
	if (err)
		return err;
	err = check_interfaces(&rs, d->config);
	if (err) {
		snprintf(why, len, "%s: interface missing", d->config);
		goto fail;
	}
	err = dp_apply(d->dp, &rs);
	if (err) {
		snprintf(why, len, "the data plane refused the policy: %s", strerror(-err));
		goto fail;
	}
	pthread_mutex_lock(&d->lock);
	err = attach_all(d, &rs);
	if (!err) {
		ruleset_free(&d->rs);
		d->rs = rs;
		d->st.generation++;
	}
	pthread_mutex_unlock(&d->lock);
	if (err) {
		snprintf(why, len, "failed to attach: %s", strerror(-err));
		goto fail;
	}
	err = sync_nft(d, &d->rs);
	if (err)
		pr_err("failed to sync nftables: %s; the XDP policy is in force\n",
		       strerror(-err));
	return 0;
fail:
	ruleset_free(&rs);
	return err;
}

static void reload(struct daemon *d)
{
	char why[512];
	int err;

	sd_notify(0, "RELOADING=1\nSTATUS=reloading");
	err = apply_policy(d, why, sizeof(why));
	if (err) {
		pr_err("reload failed, the running policy stays in force: %s\n", why);
		set_last(d, false, why);
	} else {
		snprintf(why, sizeof(why), "generation %u: %zu rules on %zu interfaces",
			 d->st.generation, d->rs.nrules, d->rs.ninterfaces);
		pr_info("reloaded %s: %s\n", d->config, why);
		set_last(d, true, why);
	}
	sd_notifyf(0, "READY=1\nSTATUS=%s", why);
}

/* An interface that vanished and came back has a new ifindex: attach again. */
static void watch_interfaces(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nifaces; i++) {
		struct iface_state *ifs = &d->ifaces[i];
		int now = (int)if_nametoindex(ifs->name), linked = 0;
		enum dp_xdp_mode mode;

		if (!now) {
			if (ifs->ifindex)
				pr_warn("%s vanished; it will be attached when it returns\n",
					ifs->name);
			ifs->ifindex = 0;
			continue;
		}
		if (!dp_link_info(ifs->name, &linked, &mode) && linked == now)
			continue;
		if (dp_attach(d->dp, ifs->name, &ifs->mode)) {
			pr_err("failed to attach to %s again\n", ifs->name);
			continue;
		}
		ifs->ifindex = now;
		pr_info("%s is back (ifindex %d): attached again in %s mode\n", ifs->name, now,
			xdp_mode_name(ifs->mode));
	}
	pthread_mutex_unlock(&d->lock);
}

static void watch_nft(struct daemon *d)
{
	int ret;

	if (!d->use_nft)
		return;
	ret = nft_sync_repair(d->nft);
	if (ret > 0) {
		d->nft_repairs++;
		pr_warn("nftables table inet vmsgate was changed by someone else; put back\n");
	} else if (ret < 0) {
		d->nft_errors++;
	}
}

static void render_counters(FILE *out, struct daemon *d)
{
	static struct vmg_counter reasons[VMG_REASON_SLOTS], roles[VMG_ROLE_SLOTS];
	char labels[512], svc[256];

	if (dp_reason_counters(d->dp, reasons) || dp_role_counters(d->dp, roles))
		return;
	metrics_family(out, "vmsgate_packets_total", "counter",
		       "Packets judged, by reason and action (pass, drop, would_drop).");
	for (int r = 0; r < VMG_R_COUNT; r++)
		for (int a = 0; a < VMG_A_COUNT; a++) {
			snprintf(labels, sizeof(labels), "reason=\"%s\",action=\"%s\"",
				 reason_name(r), action_name(a));
			metrics_sample_u64(out, "vmsgate_packets_total", labels,
					   reasons[VMG_REASON_IDX(r, a)].packets);
		}
	metrics_family(out, "vmsgate_bytes_total", "counter",
		       "Bytes judged, by reason and action.");
	for (int r = 0; r < VMG_R_COUNT; r++)
		for (int a = 0; a < VMG_A_COUNT; a++) {
			snprintf(labels, sizeof(labels), "reason=\"%s\",action=\"%s\"",
				 reason_name(r), action_name(a));
			metrics_sample_u64(out, "vmsgate_bytes_total", labels,
					   reasons[VMG_REASON_IDX(r, a)].bytes);
		}
	metrics_family(out, "vmsgate_role_packets_total", "counter",
		       "Packets to protected hosts, by destination role and reason.");
	for (int role = 0; role < ROLE_COUNT; role++)
		for (int r = 0; r < VMG_R_COUNT; r++) {
			uint64_t v = roles[VMG_ROLE_IDX(role, r)].packets;

			if (!v)
				continue;
			snprintf(labels, sizeof(labels), "role=\"%s\",reason=\"%s\"",
				 role_name(role), reason_name(r));
			metrics_sample_u64(out, "vmsgate_role_packets_total", labels, v);
		}
	metrics_family(out, "vmsgate_rule_packets_total", "counter",
		       "Packets that a compiled rule passed, forward or return.");
	for (size_t i = 0; i < d->rs.nrules; i++) {
		const struct rule *ru = &d->rs.rules[i];
		struct vmg_counter c;
		char port[16];

		if (dp_rule_counter(d->dp, ru->id, &c))
			continue;
		if (ru->port == ru->port_end)
			snprintf(port, sizeof(port), "%u", ru->port);
		else
			snprintf(port, sizeof(port), "%u-%u", ru->port, ru->port_end);
		snprintf(labels, sizeof(labels),
			 "role=\"%s\",proto=\"%s\",port=\"%s\",service=\"%s\"",
			 role_name(ru->to), ru->proto == 17 ? "udp" : "tcp", port,
			 metrics_escape(ru->service, svc, sizeof(svc)));
		metrics_sample_u64(out, "vmsgate_rule_packets_total", labels, c.packets);
	}
}

static void render_state(FILE *out, struct daemon *d)
{
	struct dp_map_usage mu[16];
	char labels[128];
	int n = dp_map_usage(d->dp, mu, 16);

	metrics_family(out, "vmsgate_build_info", "gauge", "Version and ABI of vmsgate.");
	snprintf(labels, sizeof(labels), "version=\"%s\",abi=\"%d\"", VMSGATE_VERSION,
		 VMG_ABI_VERSION);
	metrics_sample(out, "vmsgate_build_info", labels, 1);
	metrics_family(out, "vmsgate_policy_generation", "gauge",
		       "Policies applied since the daemon started.");
	metrics_sample_u64(out, "vmsgate_policy_generation", "", d->st.generation);
	metrics_family(out, "vmsgate_reloads_total", "counter", "Reloads, by result.");
	metrics_sample_u64(out, "vmsgate_reloads_total", "result=\"success\"",
			   d->st.reloads_ok);
	metrics_sample_u64(out, "vmsgate_reloads_total", "result=\"failure\"",
			   d->st.reloads_failed);
	metrics_family(out, "vmsgate_last_reload_success_timestamp_seconds", "gauge",
		       "When a policy was last applied.");
	metrics_sample_u64(out, "vmsgate_last_reload_success_timestamp_seconds", "",
			   d->st.last_success);
	metrics_family(out, "vmsgate_map_entries", "gauge", "Entries in a policy map.");
	for (int i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "map=\"%s\"", mu[i].name);
		metrics_sample_u64(out, "vmsgate_map_entries", labels, mu[i].entries);
	}
	metrics_family(out, "vmsgate_map_capacity", "gauge", "Capacity of a policy map.");
	for (int i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "map=\"%s\"", mu[i].name);
		metrics_sample_u64(out, "vmsgate_map_capacity", labels, mu[i].capacity);
	}
	metrics_family(out, "vmsgate_nft_sync_errors_total", "counter",
		       "nftables syncs that failed.");
	metrics_sample_u64(out, "vmsgate_nft_sync_errors_total", "", d->nft_errors);
	metrics_family(out, "vmsgate_nft_repairs_total", "counter",
		       "Times the nftables table was put back after someone changed it.");
	metrics_sample_u64(out, "vmsgate_nft_repairs_total", "", d->nft_repairs);
	metrics_family(out, "vmsgate_interface_attached", "gauge",
		       "1 for each interface the program is attached to, by XDP mode.");
	for (size_t i = 0; i < d->nifaces; i++) {
		snprintf(labels, sizeof(labels), "interface=\"%s\",mode=\"%s\"",
			 d->ifaces[i].name, xdp_mode_name(d->ifaces[i].mode));
		metrics_sample(out, "vmsgate_interface_attached", labels,
			       d->ifaces[i].ifindex ? 1 : 0);
	}
}

static void render_metrics(FILE *out, void *ctx)
{
	struct daemon *d = ctx;

	pthread_mutex_lock(&d->lock);
	render_state(out, d);
	render_counters(out, d);
	pthread_mutex_unlock(&d->lock);
}

/* The signals the loop reads; blocked in every thread, from the start. */
static void daemon_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
}

static int serve(struct daemon *d)
{
	struct pollfd pfd[3];
	struct itimerspec its = { .it_interval = { WATCH_INTERVAL_SEC, 0 },
				  .it_value = { WATCH_INTERVAL_SEC, 0 } };
	sigset_t mask;
	int sfd, tfd, nfds = 2;

	daemon_signals(&mask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		return -errno;
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	if (d->use_nft) {
		pfd[2] = (struct pollfd){ .fd = nft_sync_event_fd(d->nft), .events = POLLIN };
		nfds = 3;
	}
	for (;;) {
		struct signalfd_siginfo si;
		uint64_t ticks;

		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP)
				reload(d);
			else
				break;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(tfd, &ticks, sizeof(ticks)) < 0)
				continue;
			watch_interfaces(d);
			watch_nft(d);
		}
		if (nfds == 3 && (pfd[2].revents & POLLIN) && nft_sync_drain_events(d->nft) > 0)
			watch_nft(d);
	}
	close(sfd);
	close(tfd);
	return 0;
}

static int parse_metrics_addr(const char *s, struct daemon *d)
{
	static char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	d->metrics_addr = host;
	d->metrics_port = (uint16_t)port;
	return 0;
}

static int parse_run_opts(int argc, char **argv, struct daemon *d)
{
	static const char usage[] =
		"usage: vmsgate run [-c FILE] [--metrics ADDR:PORT] [--no-nftables]\n"
		"  Enforces a site policy until stopped; SIGHUP reloads it.\n"
		"  -c, --config FILE       site policy (default " DEFAULT_SITE ")\n"
		"  -m, --metrics ADDR:PORT Prometheus endpoint (default 127.0.0.1:9740)\n"
		"  -n, --no-nftables       leave nftables alone (XDP only)\n"
		"example: vmsgate run -c /etc/vmsgate/site.yaml\n";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "no-nftables", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:m:nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d->config = optarg;
			break;
		case 'm':
			if (parse_metrics_addr(optarg, d)) {
				fprintf(stderr, "--metrics: expected ADDR:PORT, found '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			d->use_nft = false;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void daemon_close(struct daemon *d)
{
	metrics_stop(d->metrics);
	if (d->nft)
		nft_sync_close(d->nft);
	if (d->dp)
		dp_close(d->dp);
	ruleset_free(&d->rs);
	free(d->ifaces);
}

int do_run(int argc, char **argv)
{
	struct daemon d = {
		.config = DEFAULT_SITE,
		.metrics_addr = METRICS_DEFAULT_ADDR,
		.metrics_port = METRICS_DEFAULT_PORT,
		.use_nft = true,
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	char why[512];
	bool adopted = false;
	sigset_t mask;
	int err = parse_run_opts(argc, argv, &d);

	if (err)
		return err < 0 ? EXIT_OK : err;
	/* before any thread starts, or the metrics thread takes SIGHUP and dies of it */
	daemon_signals(&mask);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	snprintf(d.st.config, sizeof(d.st.config), "%s", d.config);
	d.st.pid = getpid();

	/* Load the program with the pinned maps, or adopt them */
	err = dp_open_pinned(&d.dp, &adopted);
	if (err)
		goto out;
	if (adopted)
		pr_info("adopted the pinned data plane; its policy stays in force until the "
			"new one is in\n");

	/* nftables before the first policy, so the first sync is part of it */
	if (d.use_nft) {
		err = nft_sync_open(&d.nft);
		if (err)
			goto out;
	}

	/* Compile, fill the maps, attach, sync */
	err = apply_policy(&d, why, sizeof(why));
	if (err) {
		pr_err("%s: policy not applied: %s\n", d.config, why[0] ? why : strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < d.nifaces; i++)
		pr_info("attached to %s in %s mode\n", d.ifaces[i].name,
			xdp_mode_name(d.ifaces[i].mode));

	/* Serve metrics */
	err = metrics_start(d.metrics_addr, d.metrics_port, render_metrics, &d, &d.metrics);
	if (err)
		goto out;

	snprintf(why, sizeof(why), "generation %u: %zu rules on %zu interfaces",
		 d.st.generation, d.rs.nrules, d.rs.ninterfaces);
	set_last(&d, true, why);
	d.st.reloads_ok = 0;
	status_write(&d.st);
	pr_info("enforcing %s: %s; metrics at http://%s:%u/metrics\n", d.config, why,
		d.metrics_addr, d.metrics_port);
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", why, (int)getpid());

	err = serve(&d);
	pr_info("stopping; enforcement stays in place (vmsgate detach removes it)\n");
out:
	daemon_close(&d);
	return err ? EXIT_FAIL : EXIT_OK;
}
