#!/bin/bash
# make install into a staging root: the files land where the README says,
# and the installed binary finds its catalog without help.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
make --no-print-directory -s install DESTDIR="$root" PREFIX=/usr/local >/dev/null
expect_eq "make install exits 0" 0 "$?"
for f in /usr/local/sbin/vmsgate /usr/local/share/vmsgate/xprotect.yaml \
	/usr/local/share/doc/vmsgate/README.md /etc/systemd/system/vmsgate.service \
	/etc/vmsgate/site.yaml; do
	expect "installed $f" test -s "$root$f"
done
out=$(env -u VMSGATE_CATALOG_DIR "$root/usr/local/sbin/vmsgate" check -q \
	-c "$root/etc/vmsgate/site.yaml" 2>&1)
expect "the installed binary checks the installed example with the installed catalog" \
	grep -q ": ok: " <<<"$out"
echo 'mode: monitor' >"$root/etc/vmsgate/site.yaml"
make --no-print-directory -s install DESTDIR="$root" PREFIX=/usr/local >/dev/null
expect_eq "make install keeps an existing site policy" "mode: monitor" \
	"$(cat "$root/etc/vmsgate/site.yaml")"

e2e_finish
