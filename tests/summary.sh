#!/bin/bash
# Adds up build/test-results and prints the closing line; fails if any failed.
set -u
f=build/test-results
[ -s "$f" ] || { echo "0 passed, 1 failed"; echo "no test results in $f" >&2; exit 1; }
awk '{ p += $3; x += $4; s += $5 }
	$4 != 0 { bad = bad " " $1 "/" $2 }
	END {
		if (bad != "") print "failed suites:" bad
		printf "%d passed, %d failed, %d skipped\n", p, x, s
		exit x != 0
	}' "$f"
