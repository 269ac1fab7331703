#!/usr/bin/env bash
# Builds the optional cross-check peer: ipycam, a virtual IP camera with ONVIF Profile S written by
# people outside this project, in its own venv (it needs the full opencv-python, which must not
# replace opencv-python-headless in the project venv). tests/onvif/test_ipycam.py uses it when the
# venv exists, and fails (does not skip) when CI=true and it is missing.
# Usage: scripts/setup-ipycam.sh [VENV_DIR]   (default: .venv-ipycam next to this repo's root)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-${IPYCAM_VENV:-$root/.venv-ipycam}}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import ipycam" 2>/dev/null; then
    echo "ipycam venv ready: $venv"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet ipycam
"$venv/bin/python" -c "import ipycam; print('ipycam', getattr(ipycam, '__version__', '?'), 'installed in', '$venv')"
