#!/usr/bin/env bash
# Set up edge on a fresh Debian 12 machine (system packages + a Python 3.11 venv), then run it.
#   scripts/dev.sh demo [args]   the simulated school with the daemon on its embedded defaults
#   scripts/dev.sh test [args]   lint, type-check and the whole test suite
#   scripts/dev.sh setup         only set up
set -euo pipefail
cd "$(dirname "$0")/.."

setup() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < scripts/apt-packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # mosquitto is started by the tests and the demo on their own ports; the system broker is not needed.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled mosquitto >/dev/null 2>&1; then
    $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
  local py="${PYTHON:-python3}"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
}

run_tests() {
  .venv/bin/ruff check edge tests bench
  .venv/bin/mypy edge
  set +e
  .venv/bin/python -m pytest "$@"
  local rc=$?
  set -e
  if [ $rc -eq 5 ]; then echo "pytest collected no tests"; return 1; fi
  return $rc
}

cmd="${1:-test}"
shift || true
case "$cmd" in
  setup) setup ;;
  test)
    setup
    # The cross-check camera nobody here wrote (ipycam) lives in its own venv: it needs full opencv-python.
    bash scripts/setup-ipycam.sh
    run_tests "$@" ;;
  demo)
    setup
    exec .venv/bin/edge demo "$@" ;;
  *) echo "usage: scripts/dev.sh demo|test|setup" >&2; exit 2 ;;
esac
