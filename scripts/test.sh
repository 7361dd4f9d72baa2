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
# loadgroup: tests marked xdist_group share a worker (the container tests: one Docker engine).
"$VENV/bin/python" -m pytest -n "$workers" --dist loadgroup -m "not serial" "$@" || status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
serial=0
"$VENV/bin/python" -m pytest -p no:xdist -m serial "$@" || serial=$?
# 5 = no serial tests selected, which is fine.
if [ "$serial" -ne 0 ] && [ "$serial" -ne 5 ]; then exit "$serial"; fi

"$VENV/bin/python" -m coverage combine -q
"$VENV/bin/python" -m coverage report
