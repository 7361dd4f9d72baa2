#!/usr/bin/env bash
# Make every Python process of the venv start coverage when COVERAGE_PROCESS_START is set,
# so code run in subprocesses (the console script, xdist workers) is counted.
set -euo pipefail
python="$1"
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'import coverage; coverage.process_startup()' > "$site/stackrig-coverage.pth"
