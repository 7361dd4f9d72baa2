#!/usr/bin/env bash
# The test gate: parallel non-root tests, then the serial (root, OVS) ones, then coverage.
set -euo pipefail
VENV=${VENV:-.venv}
root=$(pwd)
export COVERAGE_PROCESS_START="$root/pyproject.toml"
export COVERAGE_FILE="$root/.coverage"
rm -f "$root"/.coverage "$root"/.coverage.*
workers=${STACKRIG_TEST_WORKERS:-$(nproc)}

status=0
"$VENV/bin/python" -m pytest -n "$workers" -m "not serial" "$@" || status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
serial=0
# The serial tests use machine-wide things (Open vSwitch, namespaces, root): take the lock that
# ad-hoc serial runs take too (TEAM.md), so two suites on one machine do not build labs at once.
# STACKRIG_SERIAL_LOCK_HELD=1 when a caller already holds it (flock is per open file: no re-entry).
if [ -z "${STACKRIG_SERIAL_LOCK_HELD:-}" ] && command -v flock >/dev/null; then
    exec 9>"${STACKRIG_SERIAL_LOCK:-/tmp/stackrig-serial.lock}"
    flock -w 3600 9 || { echo "test.sh: waited an hour for the serial lock" >&2; exit 1; }
fi
"$VENV/bin/python" -m pytest -p no:xdist -m serial "$@" || serial=$?
exec 9>&-
# 5 = no serial tests selected, which is fine.
if [ "$serial" -ne 0 ] && [ "$serial" -ne 5 ]; then exit "$serial"; fi

"$VENV/bin/python" -m coverage combine -q
"$VENV/bin/python" -m coverage report
