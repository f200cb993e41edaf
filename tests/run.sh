#!/bin/bash
# Runs one group of tests (unit, bpf, e2e, fuzz) and records, per suite, how
# many cases passed, failed and were skipped in build/test-results.
# cmocka suites report through their own summary lines; shell suites print
# "PASS: ...", "FAIL: ..." and "SKIP: ... (why)" lines.
set -u
group=$1
shift
results=build/test-results
mkdir -p build/test-logs
status=0

count() { grep -cE "$1" "$2" || true; }

for t in "$@"; do
	name=$(basename "$t")
	log=build/test-logs/$group-$name.log
	echo "== $group: $name"
	case "$t" in
	*.sh) bash "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	if grep -q '^\[==========\]' "$log"; then
		pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
		fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
		skip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	else
		pass=$(count '^PASS: ' "$log")
		fail=$(count '^FAIL: ' "$log")
		skip=$(count '^SKIP: ' "$log")
	fi
	pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
	# a crash or a non-zero exit with no failed case still fails the suite
	if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
		fail=1
		echo "FAIL: $name exited with status $rc" >>"$log"
	fi
	[ "$fail" != 0 ] && status=1
	grep -E '^(FAIL|SKIP): |\[  (FAILED|ERROR)|^ERROR|ERROR: |runtime error|Sanitizer' "$log" |
		head -n 40
	echo "   $pass passed, $fail failed, $skip skipped"
	echo "$group $name $pass $fail $skip" >>"$results"
done
exit $status
