#!/usr/bin/env bash
# qos: Faucet (the OpenFlow controller of the qos end-to-end tests) in its own venv beside $VENV,
# because its pins (os-ken 3.x, eventlet, ...) are not the main venv's business.
# stackrig finds faucet and check_faucet_config there (stackrig._tools: Tool.extra_dirs).
set -euo pipefail
VENV=${VENV:-.venv}
FAUCET_VENV="$(dirname "$VENV")/.venv-faucet"
if [ -x "$FAUCET_VENV/bin/faucet" ] && [ -x "$FAUCET_VENV/bin/check_faucet_config" ]; then
    exit 0
fi
python3 -m venv "$FAUCET_VENV"
"$FAUCET_VENV/bin/python" -m pip install -q --upgrade pip
"$FAUCET_VENV/bin/python" -m pip install -q 'faucet>=1.10.12,<1.11'
