#!/usr/bin/env bash
# Make every Python process of the venv start coverage when COVERAGE_PROCESS_START is set,
# so code run in subprocesses (the console script, xdist workers) is counted. Without the
# variable nothing is imported: the CLI's start-up stays as fast as without coverage.
set -euo pipefail
python="$1"
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'import os; os.environ.get("COVERAGE_PROCESS_START") and __import__("coverage").process_startup()' \
  > "$site/stackrig-coverage.pth"
