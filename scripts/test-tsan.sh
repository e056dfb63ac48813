#!/usr/bin/env bash
# Runs the tests of a ThreadSanitizer build (-DROUTEMQ_TSAN=ON) and fails on any report, from the
# test processes or from the processes they start (routemq, the test apps, their workers): every
# instrumented process writes its reports to <build>/tsan-reports/tsan.<pid>, which an
# integration test's exit status would not show. Usage: test-tsan.sh <build dir> [ctest args...]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
shift
reports=$build/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"

# halt_on_error=0: a process goes on after a report, so one run shows every race it meets; it
# then exits with `exitcode` (a test process's failure) and its report file stays (a child's).
# second_deadlock_stack: both stacks of a lock-order inversion. handle_segv=0: the reliability
# test's app crashes a worker on purpose (raise(SIGSEGV)), which must die by the signal as in
# production, not be turned into a TSan "SEGV" report and exit 66 (an unplanned crash still
# fails its test by what it breaks; the ASan build gives its stack).
export TSAN_OPTIONS="log_path=$reports/tsan:exitcode=66:halt_on_error=0:second_deadlock_stack=1:handle_segv=0:suppressions=$root/tests/tsan/suppressions.txt${TSAN_EXTRA_OPTIONS:+:$TSAN_EXTRA_OPTIONS}"
echo "TSAN_OPTIONS=$TSAN_OPTIONS"

ctest --test-dir "$build" --output-on-failure "$@"
status=$?

shopt -s nullglob
found=("$reports"/tsan.*)
if [ ${#found[@]} -gt 0 ]; then
  for f in "${found[@]}"; do
    echo "===== $f"
    cat "$f"
  done
  echo "ThreadSanitizer: ${#found[@]} process(es) reported (above; kept in $reports)" >&2
  status=1
else
  echo "ThreadSanitizer: no reports"
fi
exit $status
