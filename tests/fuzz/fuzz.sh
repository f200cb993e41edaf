#!/bin/bash
# Runs the site-loader fuzzer for FUZZ_SECONDS (default 20) from the examples
# and the stored corpus. A crash, leak or sanitizer report fails the run and
# leaves the input in build/fuzz-artifacts/.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
mkdir -p build/fuzz-corpus build/fuzz-artifacts
export VMSGATE_FUZZ_CATALOG=$PWD/policies/xprotect.yaml
if ./build/fuzz_site -max_total_time="$secs" -max_len=4096 -close_fd_mask=3 \
	-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	-artifact_prefix=build/fuzz-artifacts/ \
	build/fuzz-corpus tests/fuzz/corpus policies/examples >build/fuzz.log 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz.log)
	echo "PASS: fuzz_site ran ${runs:-?} inputs in ${secs}s without a crash"
else
	tail -n 30 build/fuzz.log
	echo "FAIL: fuzz_site found a crashing input (build/fuzz-artifacts/)"
	exit 1
fi
