#!/usr/bin/env bash
# The test gate: parallel non-root tests, then the serial (root, OVS) ones, then coverage.
# Under this script no test may skip (a missing tool is a failure: tests/_gate.py), and the
# end says how many tests ran per family.
set -euo pipefail
VENV=${VENV:-.venv}
root=$(pwd)
export COVERAGE_PROCESS_START="$root/pyproject.toml"
export COVERAGE_FILE="$root/.coverage"
export STACKRIG_NO_SKIPS=1
export STACKRIG_TEST_COUNTS="$root/.test-counts.json"
rm -f "$root"/.coverage "$root"/.coverage.* "$STACKRIG_TEST_COUNTS"
workers=${STACKRIG_TEST_WORKERS:-$(nproc)}

status=0
# loadgroup: tests marked xdist_group share a worker (the container tests: one Docker engine).
"$VENV/bin/python" -m pytest -n "$workers" --dist loadgroup -m "not serial" "$@" || status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
serial=0
# The serial tests build machine-wide state (Open vSwitch bridges, namespaces): two suites on one
# machine (two checkouts) would tear down each other's labs, so they take turns through a lock.
# A caller that already holds it (`flock LOCK make test`) is not waited for: that would deadlock.
lock=${STACKRIG_SERIAL_LOCK:-/tmp/stackrig-serial.lock}
caller_holds_lock() {
    local pid=$$
    while [ "$pid" -gt 1 ]; do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "flock .*$lock" && return 0
        pid=$(awk '{print $4}' "/proc/$pid/stat")
    done
    return 1
}
serial_cmd=("$VENV/bin/python" -m pytest -p no:xdist -m serial "$@")
if caller_holds_lock; then
    "${serial_cmd[@]}" || serial=$?
else
    flock "$lock" "${serial_cmd[@]}" || serial=$?
fi
# 5 = no serial tests selected, which is fine.
if [ "$serial" -ne 0 ] && [ "$serial" -ne 5 ]; then exit "$serial"; fi

"$VENV/bin/python" -m tests._gate "$STACKRIG_TEST_COUNTS"
"$VENV/bin/python" -m coverage combine -q
"$VENV/bin/python" -m coverage report
