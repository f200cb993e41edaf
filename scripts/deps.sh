#!/bin/sh
# Installs the Debian packages that building and testing vmsgate need,
# only those missing. Nothing is fetched from anywhere but Debian.
set -eu

PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
libnftnl-dev libmnl-dev libyaml-dev libmicrohttpd-dev libsystemd-dev libpcap-dev
libcmocka-dev libclang-rt-14-dev iproute2 nftables netcat-openbsd socat curl
prometheus python3-scapy python3-matplotlib xdp-tools systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps: done"
