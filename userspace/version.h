/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMSGATE_VERSION_H
#define VMSGATE_VERSION_H

#define VMSGATE_VERSION "0.1.0"

#endif /* VMSGATE_VERSION_H */
