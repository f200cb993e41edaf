// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of the per-packet benchmark: an XDP program that drops every
 * frame and does nothing else. What BPF_PROG_TEST_RUN charges for running
 * it is the cost of running any program at all.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

SEC("xdp")
int floor_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
