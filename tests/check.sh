#!/bin/bash
# make check: build, then every group of tests; the closing line adds them up.
set -u
cd "$(dirname "$0")/.."
rm -f build/test-results
status=0
make --no-print-directory all || exit 1
for target in test-unit test-bpf test-e2e fuzz-short; do
	make --no-print-directory "$target" || status=1
done
./tests/summary.sh || status=1
exit $status
