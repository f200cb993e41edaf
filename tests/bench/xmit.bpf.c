// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The wire benchmark's traffic source: run with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX sends each frame out of the interface
 * named as the ingress one, that is into the veth towards the gateway.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

SEC("xdp")
int xmit_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
