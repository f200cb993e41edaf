// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "roles.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_MANAGEMENT_SERVER] = "management-server",
	[ROLE_SQL_SERVER] = "sql-server",
	[ROLE_EVENT_SERVER] = "event-server",
	[ROLE_RECORDING_SERVER] = "recording-server",
	[ROLE_FAILOVER_RECORDING_SERVER] = "failover-recording-server",
	[ROLE_LOG_SERVER] = "log-server",
	[ROLE_MOBILE_SERVER] = "mobile-server",
	[ROLE_LPR_SERVER] = "lpr-server",
	[ROLE_OPEN_NETWORK_BRIDGE] = "open-network-bridge",
	[ROLE_DLNA_SERVER] = "dlna-server",
	[ROLE_SCREEN_RECORDER] = "screen-recorder",
	[ROLE_INCIDENT_MANAGER] = "incident-manager",
	[ROLE_API_GATEWAY] = "api-gateway",
	[ROLE_SMART_CLIENT] = "smart-client",
	[ROLE_MANAGEMENT_CLIENT] = "management-client",
	[ROLE_MOBILE_CLIENT] = "mobile-client",
	[ROLE_WEB_CLIENT] = "web-client",
	[ROLE_DEVICES] = "devices",
	[ROLE_ONVIF_CLIENT] = "onvif-client",
	[ROLE_DLNA_DEVICE] = "dlna-device",
	[ROLE_MIP_PLUGIN] = "mip-plugin",
	[ROLE_EVENT_SOURCE] = "event-source",
	[ROLE_ANALYTICS_SOURCE] = "analytics-source",
	[ROLE_INTERCONNECTED_SITE] = "interconnected-site",
	[ROLE_SNMP_SERVICE] = "snmp-service",
	[ROLE_LICENSE_SERVER] = "license-server",
	[ROLE_CUSTOMER_DASHBOARD] = "customer-dashboard",
	[ROLE_HELP_SITE] = "help-site",
};

static char role_idents[ROLE_COUNT][32];

static const char *const feature_names[FEATURE_COUNT] = {
	[FEATURE_SMTP] = "smtp",
	[FEATURE_DEVICE_EVENTS] = "device-events",
	[FEATURE_GENERIC_EVENTS] = "generic-events",
	[FEATURE_ANALYTICS_EVENTS] = "analytics-events",
	[FEATURE_MOBILE_VIDEO_PUSH] = "mobile-video-push",
};

int role_parse(const char *name)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (!strcmp(name, role_names[i]))
			return i;
	return -1;
}

/* Edit distance, case-insensitive, '_' and ' ' counted as '-'; short names only. */
static int distance(const char *a, const char *b)
{
	int row[40], la = (int)strlen(a), lb = (int)strlen(b);

	if (la >= 40 || lb >= 40)
		return 99;
	for (int j = 0; j <= lb; j++)
		row[j] = j;
	for (int i = 1; i <= la; i++) {
		int diag = row[0], ca = tolower((unsigned char)a[i - 1]);

		ca = ca == '_' || ca == ' ' ? '-' : ca;
		row[0] = i;
		for (int j = 1; j <= lb; j++) {
			int up = row[j], cost = ca != b[j - 1];
			int best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *role_suggest(const char *name)
{
	const char *best = NULL;
	int best_d = 4;

	for (int i = 0; i < ROLE_COUNT; i++) {
		int d = distance(name, role_names[i]);

		if (d < best_d) {
			best_d = d;
			best = role_names[i];
		}
	}
	return best;
}

const char *role_name(int role)
{
	if (role < 0 || role >= ROLE_COUNT)
		return "?";
	return role_names[role];
}

const char *role_ident(int role)
{
	char *id;

	if (role < 0 || role >= ROLE_COUNT)
		return "unknown";
	id = role_idents[role];
	if (!id[0]) {
		snprintf(id, sizeof(role_idents[0]), "%s", role_names[role]);
		for (char *p = id; *p; p++)
			if (*p == '-')
				*p = '_';
	}
	return id;
}

int feature_parse(const char *name)
{
	for (int i = 0; i < FEATURE_COUNT; i++)
		if (!strcmp(name, feature_names[i]))
			return i;
	return -1;
}

const char *feature_name(int feature)
{
	if (feature < 0 || feature >= FEATURE_COUNT)
		return NULL;
	return feature_names[feature];
}

const char *role_mask_str(uint64_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if ((mask & ROLE_SERVERS_MASK) == ROLE_SERVERS_MASK) {
		off += snprintf(buf, len, "servers");
		mask &= ~ROLE_SERVERS_MASK;
	}
	for (int i = 0; i < ROLE_COUNT && off < len; i++) {
		if (!(mask & ROLE_BIT(i)))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
				role_names[i]);
	}
	return buf;
}
