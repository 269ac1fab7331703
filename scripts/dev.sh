#!/usr/bin/env bash
# Set up edge on a fresh Debian 12 machine (system packages + a Python 3.11 venv), then run it.
#   scripts/dev.sh demo [args]    set up what the demo needs, run the simulated school (`edge demo`)
#   scripts/dev.sh test [args]    set up the test stack, then lint, type-check and the test suite
#   scripts/dev.sh setup [demo|test]   only set up (default: test)
#   scripts/dev.sh check [demo|test]   exit 0 when set-up would install nothing (no network, no changes)
# Lists: scripts/apt-demo.txt (+ scripts/apt-test.txt for test) for Debian; pyproject.toml for pip
# (the package for demo, plus its [test] extra for test). A re-run with the lists and pyproject.toml
# unchanged touches no network: apt is asked only for missing packages, and pip is skipped while the
# venv's stamp matches (delete .venv/.setup-* or set EDGE_SETUP_FORCE=1 to reinstall).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_lists() {
  echo scripts/apt-demo.txt
  [ "$1" = demo ] || echo scripts/apt-test.txt
}

# The Debian packages of the lists that dpkg does not report as installed, one per line.
missing_packages() {
  local pkgs
  pkgs=$(grep -hv '^\s*\(#\|$\)' $(apt_lists "$1") | sort -u)
  for pkg in $pkgs; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || echo "$pkg"
  done
}

# What the venv was built from: when this changes, pip runs again.
setup_hash() {
  {
    cat $(apt_lists "$1") pyproject.toml
    echo "mode=$1"
  } | sha256sum | cut -d' ' -f1
}

stamp_current() {
  local mode
  for mode in "$@"; do
    [ -f ".venv/.setup-$mode" ] && [ "$(cat ".venv/.setup-$mode")" = "$(setup_hash "$mode")" ] && return 0
  done
  return 1
}

setup() {
  local mode="$1" sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local missing
  missing=$(missing_packages "$mode" | tr '\n' ' ')
  if [ -n "${missing// /}" ]; then
    echo "== installing Debian packages ($mode): $missing"
    $sudo apt-get update
    # -q keeps one line per step (download, unpack, set up) without the redrawn progress bar.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
  fi
  # mosquitto is started by the tests and the demo on their own ports; the system broker is not needed.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled mosquitto >/dev/null 2>&1; then
    $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
  # The test venv holds everything the demo needs, so its stamp serves the demo too.
  local serves=("$mode")
  [ "$mode" = demo ] && serves+=(test)
  if [ -z "${EDGE_SETUP_FORCE:-}" ] && [ -x .venv/bin/edge ] && stamp_current "${serves[@]}"; then
    echo "== .venv is up to date ($mode): pip skipped"
    return 0
  fi
  local py="${PYTHON:-python3}" extra=""
  [ "$mode" = demo ] || extra="[test]"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  rm -f .venv/.setup-*
  echo "== installing Python packages into .venv ($mode)"
  .venv/bin/python -m pip install --progress-bar off --upgrade pip
  .venv/bin/python -m pip install --progress-bar off -e ".$extra"
  setup_hash "$mode" > ".venv/.setup-$mode"
}

# Reports what `setup` would install; exit 1 when anything.
check() {
  local mode="$1" missing rc=0
  missing=$(missing_packages "$mode" | tr '\n' ' ')
  if [ -n "${missing// /}" ]; then echo "missing Debian packages ($mode): $missing"; rc=1; fi
  local serves=("$mode")
  [ "$mode" = demo ] && serves+=(test)
  if [ -x .venv/bin/edge ] && stamp_current "${serves[@]}"; then
    echo ".venv is up to date ($mode)"
  else
    echo ".venv needs pip ($mode)"; rc=1
  fi
  return $rc
}

only_options() {
  local a
  for a in "$@"; do [ "${a#-}" != "$a" ] || return 1; done
}

# The whole suite (no paths given): the untimed tests in parallel, then the `serial` ones alone
# (tests/conftest.py), so a latency bound measures the code, not a neighbour. Paths: one plain run.
run_tests() {
  .venv/bin/ruff check edge tests bench
  .venv/bin/mypy edge tests
  local workers rc rc2
  workers=$(nproc)
  [ "$workers" -gt 4 ] && workers=4
  set +e
  if [ "$workers" -ge 2 ] && only_options "$@"; then
    echo "== tests in parallel ($workers workers), then the timed ones alone"
    .venv/bin/python -m pytest -n "$workers" --dist loadfile -m "not serial" "$@"
    rc=$?
    echo "== the timed tests (marker serial), one at a time"
    .venv/bin/python -m pytest -m serial "$@"
    rc2=$?
    [ $rc -eq 0 ] && rc=$rc2
  else
    .venv/bin/python -m pytest "$@"
    rc=$?
  fi
  set -e
  if [ $rc -eq 5 ]; then echo "pytest collected no tests"; return 1; fi
  return $rc
}

cmd="${1:-test}"
shift || true
case "$cmd" in
  setup|check)
    mode="${1:-test}"
    case "$mode" in demo|test) ;; *) echo "usage: scripts/dev.sh $cmd [demo|test]" >&2; exit 2 ;; esac
    if [ "$cmd" = check ]; then check "$mode"; exit $?; fi
    setup "$mode"
    [ "$mode" = demo ] || bash scripts/setup-ipycam.sh ;;
  test)
    setup test
    # The cross-check camera nobody here wrote (ipycam) lives in its own venv: it needs full opencv-python.
    bash scripts/setup-ipycam.sh
    run_tests "$@" ;;
  demo)
    setup demo
    exec .venv/bin/edge demo "$@" ;;
  *) echo "usage: scripts/dev.sh demo|test|setup|check [demo|test]" >&2; exit 2 ;;
esac
