/* SPDX-License-Identifier: GPL-2.0-only */
/* The roles of an XProtect site, as DESIGN.md names them. */
#ifndef VMSGATE_ROLES_H
#define VMSGATE_ROLES_H

#include <stdbool.h>
#include <stdint.h>

enum role {
	/* server roles */
	ROLE_MANAGEMENT_SERVER = 0,
	ROLE_SQL_SERVER,
	ROLE_EVENT_SERVER,
	ROLE_RECORDING_SERVER,
	ROLE_FAILOVER_RECORDING_SERVER,
	ROLE_LOG_SERVER,
	ROLE_MOBILE_SERVER,
	ROLE_LPR_SERVER,
	ROLE_OPEN_NETWORK_BRIDGE,
	ROLE_DLNA_SERVER,
	ROLE_SCREEN_RECORDER,
	ROLE_INCIDENT_MANAGER,
	ROLE_API_GATEWAY,
	/* client roles */
	ROLE_SMART_CLIENT,
	ROLE_MANAGEMENT_CLIENT,
	ROLE_MOBILE_CLIENT,
	ROLE_WEB_CLIENT,
	/* devices and outside parties */
	ROLE_DEVICES,
	ROLE_ONVIF_CLIENT,
	ROLE_DLNA_DEVICE,
	ROLE_MIP_PLUGIN,
	ROLE_EVENT_SOURCE,
	ROLE_ANALYTICS_SOURCE,
	ROLE_INTERCONNECTED_SITE,
	ROLE_SNMP_SERVICE,
	ROLE_LICENSE_SERVER,
	ROLE_CUSTOMER_DASHBOARD,
	ROLE_HELP_SITE,
	ROLE_COUNT,
};

#define ROLE_BIT(r) (1ULL << (r))
/* every server role: the Data Collector and "servers" in the catalog */
#define ROLE_SERVERS_MASK (ROLE_BIT(ROLE_API_GATEWAY + 1) - 1)

enum feature {
	FEATURE_SMTP = 0,
	FEATURE_DEVICE_EVENTS,
	FEATURE_GENERIC_EVENTS,
	FEATURE_ANALYTICS_EVENTS,
	FEATURE_MOBILE_VIDEO_PUSH,
	FEATURE_COUNT,
};

/* Role name ("recording-server") to index, or -1. */
int role_parse(const char *name);
const char *role_name(int role);
/* The role name nearest to a misspelt one, or NULL when none is near. */
const char *role_suggest(const char *name);
/* "recording-server" -> "recording_server", for nftables set names and labels */
const char *role_ident(int role);
int feature_parse(const char *name);
const char *feature_name(int feature);
/* Formats a role mask as "a, b, c" into buf. */
const char *role_mask_str(uint64_t mask, char *buf, size_t len);

#endif /* VMSGATE_ROLES_H */
