/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What policies/xprotect.yaml must hold, written by hand from the vendor's port
 * table (seeds/000_94ee2505fe278d1f.txt beside DESIGN.md), not generated from
 * the YAML. A flow that is in both an inbound (接続元) and an outbound (接続先)
 * table is listed once. Data Collector 7609: one row to the management server,
 * one row to every other server role.
 */
#ifndef VMSGATE_CATALOG_EXPECTED_H
#define VMSGATE_CATALOG_EXPECTED_H

#include <stddef.h>

/* One row per flow of policies/xprotect.yaml, as the seed's tables give them. */
struct expected_flow {
	const char *to;
	const char *proto;
	int port;
	int port_end;
	int local_only;
	const char *feature;
};

static const struct expected_flow expected_flows[] = {
	/* Management Server service and related processes */
	{ "management-server", "tcp", 80, 80, 0, NULL },
	{ "management-server", "tcp", 443, 443, 0, NULL },
	{ "management-server", "tcp", 6473, 6473, 1, NULL },
	{ "management-server", "tcp", 7609, 7609, 0, NULL },		/* Data Collector */
	{ "management-server", "tcp", 8080, 8080, 1, NULL },
	{ "management-server", "tcp", 9000, 9000, 0, NULL },
	{ "management-server", "tcp", 12345, 12345, 0, NULL },
	{ "management-server", "tcp", 12974, 12974, 0, NULL },		/* SNMP */

	/* SQL Server service: one row per client */
	{ "sql-server", "tcp", 1433, 1433, 0, NULL },			/* management srv */
	{ "sql-server", "tcp", 1433, 1433, 0, NULL },			/* event server */
	{ "sql-server", "tcp", 1433, 1433, 0, NULL },			/* log server */
	{ "sql-server", "tcp", 7609, 7609, 0, NULL },

	/* Event Server service */
	{ "event-server", "tcp", 1234, 1234, 0, "generic-events" },
	{ "event-server", "udp", 1234, 1234, 0, "generic-events" },
	{ "event-server", "tcp", 1235, 1235, 0, "generic-events" },
	{ "event-server", "tcp", 7609, 7609, 0, NULL },
	{ "event-server", "tcp", 9090, 9090, 0, "analytics-events" },
	{ "event-server", "tcp", 22331, 22331, 0, NULL },
	{ "event-server", "tcp", 22332, 22332, 0, NULL },
	{ "event-server", "tcp", 22333, 22333, 0, NULL },

	/* Recording Server service */
	{ "recording-server", "tcp", 25, 25, 0, "smtp" },
	{ "recording-server", "tcp", 5210, 5210, 0, NULL },
	{ "recording-server", "tcp", 5432, 5432, 0, "device-events" },
	{ "recording-server", "tcp", 7563, 7563, 0, NULL },
	{ "recording-server", "tcp", 7609, 7609, 0, NULL },
	{ "recording-server", "tcp", 8966, 8966, 1, NULL },
	{ "recording-server", "tcp", 9001, 9001, 0, NULL },		/* per instance */
	{ "recording-server", "tcp", 11000, 11000, 0, NULL },
	{ "recording-server", "tcp", 12975, 12975, 0, NULL },		/* SNMP */
	{ "recording-server", "udp", 65101, 65101, 1, NULL },

	/* Failover Server and Failover Recording Server services */
	{ "failover-recording-server", "tcp", 25, 25, 0, "smtp" },
	{ "failover-recording-server", "tcp", 5210, 5210, 0, NULL },
	{ "failover-recording-server", "tcp", 5432, 5432, 0, "device-events" },
	{ "failover-recording-server", "tcp", 7474, 7474, 0, NULL },
	{ "failover-recording-server", "tcp", 7563, 7563, 0, NULL },
	{ "failover-recording-server", "tcp", 7609, 7609, 0, NULL },
	{ "failover-recording-server", "udp", 8844, 8844, 0, NULL },
	{ "failover-recording-server", "tcp", 8966, 8966, 1, NULL },
	{ "failover-recording-server", "tcp", 8967, 8967, 1, NULL },
	{ "failover-recording-server", "tcp", 8990, 8990, 0, NULL },
	{ "failover-recording-server", "tcp", 9001, 9001, 0, NULL },
	/* 11000 from the recording server (its outbound table) */
	{ "failover-recording-server", "tcp", 11000, 11000, 0, NULL },

	/* Log Server service */
	{ "log-server", "tcp", 443, 443, 0, NULL },
	{ "log-server", "tcp", 7609, 7609, 0, NULL },
	{ "log-server", "tcp", 22337, 22337, 0, NULL },
	{ "log-server", "tcp", 22337, 22337, 0, NULL },			/* from devices */

	/* Mobile Server service */
	{ "mobile-server", "tcp", 7609, 7609, 0, NULL },
	{ "mobile-server", "tcp", 8000, 8000, 1, NULL },
	{ "mobile-server", "tcp", 8081, 8081, 0, NULL },
	{ "mobile-server", "tcp", 8082, 8082, 0, NULL },
	{ "mobile-server", "tcp", 40001, 40099, 0, "mobile-video-push" },

	/* LPR Server service */
	{ "lpr-server", "tcp", 7609, 7609, 0, NULL },
	{ "lpr-server", "tcp", 22334, 22334, 0, NULL },
	{ "lpr-server", "tcp", 22334, 22334, 1, NULL },			/* tray icon */

	/* Milestone Open Network Bridge service */
	{ "open-network-bridge", "tcp", 554, 554, 0, NULL },
	{ "open-network-bridge", "tcp", 580, 580, 0, NULL },
	{ "open-network-bridge", "tcp", 7609, 7609, 0, NULL },

	/* XProtect DLNA Server service */
	{ "dlna-server", "tcp", 7609, 7609, 0, NULL },
	{ "dlna-server", "tcp", 9100, 9100, 0, NULL },
	{ "dlna-server", "tcp", 9200, 9200, 0, NULL },

	/* XProtect Screen Recorder service */
	{ "screen-recorder", "tcp", 7609, 7609, 0, NULL },
	{ "screen-recorder", "tcp", 52111, 52111, 0, NULL },

	/* XProtect Incident Manager service */
	{ "incident-manager", "tcp", 80, 80, 0, NULL },
	{ "incident-manager", "tcp", 443, 443, 0, NULL },
	{ "incident-manager", "tcp", 7609, 7609, 0, NULL },

	/* API Gateway: only in the outbound tables, and the Data Collector */
	{ "api-gateway", "tcp", 80, 80, 0, NULL },
	{ "api-gateway", "tcp", 443, 443, 0, NULL },
	{ "api-gateway", "tcp", 7609, 7609, 0, NULL },

	/* API Gateway outbound, literally to the Management Client */
	{ "management-client", "tcp", 22332, 22332, 0, NULL },

	/* Devices (the unnamed inbound table), merged with recording server outbound */
	{ "devices", "tcp", 80, 80, 0, NULL },
	{ "devices", "tcp", 443, 443, 0, NULL },
	{ "devices", "tcp", 554, 554, 0, NULL },

	/* Recording Server service outbound to interconnected sites */
	{ "interconnected-site", "tcp", 80, 80, 0, NULL },
	{ "interconnected-site", "tcp", 7563, 7563, 0, NULL },

	/* Management Server service outbound: licence activation */
	{ "license-server", "tcp", 443, 443, 0, NULL },

	/* Event Server service outbound */
	{ "customer-dashboard", "tcp", 443, 443, 0, NULL },

	/* Smart Client and Management Client outbound: online help check */
	{ "help-site", "tcp", 443, 443, 0, NULL },
};

#define EXPECTED_NFLOWS (sizeof(expected_flows) / sizeof(expected_flows[0]))

#endif /* VMSGATE_CATALOG_EXPECTED_H */
