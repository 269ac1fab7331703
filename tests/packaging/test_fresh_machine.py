"""On a machine that has nothing: a debootstrapped Debian 12 with only python3 (run with --heavy).

- the README's demo command sets itself up and the demo school starts; a re-run needs no network;
- the README's test command sets up the whole test stack (chromium and playwright's node, GStreamer,
  faketime, ...) and the suites that use it pass inside;
- the .deb installs with apt, its config checks, an upgrade keeps store and tokens (and backs them up),
  remove keeps the store, purge removes everything it created.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import REPO, free_port
from tests.packaging import fresh_root
from tests.packaging.conftest import needs_debian_python

_why = fresh_root.missing_tools()
pytestmark = [pytest.mark.heavy, pytest.mark.skipif(_why is not None, reason=_why or "")]
# apt and pip from the network inside the root: the demo's few packages, then the whole test stack.
DEMO_SETUP_TIMEOUT_S = 1200
TEST_SETUP_TIMEOUT_S = 3600
# The suites that need what a minimal system lacks: playwright + chromium, GStreamer, faketime, set-up.
INSIDE_TESTS = (
    "tests/api/test_dashboard_browser.py",
    "tests/video/test_grab_rtsp.py",
    "tests/faults/test_clock.py",
    "tests/packaging/test_setup.py",
)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = fresh_root.new_root(tmp_path / "root")
    try:
        yield path
    finally:
        fresh_root.remove_root(path)


def _checkout(root: Path) -> Path:
    src = root / "root" / "edge"
    fresh_root.copy_checkout(REPO, src)
    return src


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout[-6000:] + "\n--- stderr ---\n" + proc.stderr[-6000:]
    return proc.stdout


def test_demo_command_on_a_fresh_machine(root: Path) -> None:
    _checkout(root)
    first = _ok(fresh_root.run(root, "cd /root/edge && scripts/dev.sh setup demo", DEMO_SETUP_TIMEOUT_S))
    assert "installing Debian packages (demo)" in first and "installing Python packages" in first
    # Not the test stack.
    listed = _ok(fresh_root.run(root, "dpkg-query -W -f='${Package}\\n'", 60)).split()
    assert not [p for p in listed if p.startswith(("chromium", "gstreamer", "fonts-noto-cjk", "libatomic"))]
    # Again, with no network at all: nothing to install, so nothing fails.
    again = _ok(fresh_root.run(root, "cd /root/edge && scripts/dev.sh setup demo", 120, network=False))
    assert "pip skipped" in again and "installing" not in again
    # The README's command itself: the demo school comes up and its dashboard answers.
    port = free_port()
    proc = subprocess.Popen(
        fresh_root.command(root, f"cd /root/edge && scripts/dev.sh demo --port {port}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "demo school running" in line:
                break
        assert any("demo school running" in ln for ln in seen), "".join(seen)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "dashboard never answered"
            time.sleep(0.5)
    finally:
        proc.kill()  # unshare --kill-child takes the whole PID namespace with it
        proc.wait(timeout=30)


def test_test_command_on_a_fresh_machine(root: Path) -> None:
    _checkout(root)
    cmd = "cd /root/edge && scripts/dev.sh test " + " ".join(INSIDE_TESTS) + " -q -p no:cacheprovider"
    out = _ok(fresh_root.run(root, cmd, TEST_SETUP_TIMEOUT_S))
    assert "libatomic1" in out  # named, and installed: playwright's node needs it
    m = re.search(r"(\d+) passed", out)
    assert m and int(m.group(1)) > 0, out[-3000:]
    assert not re.search(r"\d+ (failed|error)", out), out[-3000:]


def _repack(deb: Path, version: str, out: Path) -> Path:
    """The same build under a newer version: an upgrade exercises the maintainer scripts."""
    raw = out / "raw"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(raw)], check=True)
    control = raw / "DEBIAN" / "control"
    control.write_text(re.sub(r"^Version: .*$", f"Version: {version}", control.read_text(), flags=re.M))
    new = out / f"campus-edge_{version}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "-b", str(raw), str(new)], check=True)
    subprocess.run(["rm", "-rf", str(raw)], check=True)
    return new


@needs_debian_python
def test_package_lifecycle_on_a_fresh_machine(root: Path, deb: Path, tmp_path: Path) -> None:
    old_version = re.search(r"_([^_]+)_[^_]+\.deb$", deb.name)
    assert old_version
    newer = _repack(deb, old_version.group(1) + "+1", tmp_path)
    (root / "root" / "old.deb").write_bytes(deb.read_bytes())
    (root / "root" / "new.deb").write_bytes(newer.read_bytes())
    py = "/opt/edge/venv/bin/python"
    script = f"""
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends /root/old.deb
edge check-config -c /etc/edge/edge.yaml
id -nG edge
stat -c '%U:%G %a' /var/lib/edge /etc/edge /etc/edge/edge.yaml
# The store as the daemon's user makes it, with a row to find again, and a token.
runuser -u edge -- {py} -c 'from pathlib import Path; from edge.store import Database; \
d = Database(Path("/var/lib/edge/edge.db")); d.conn.execute("INSERT INTO audit (ts_ms, actor, action, target) \
VALUES (1, \\"t\\", \\"marker\\", \\"x\\")")'
edge token create --name duty --role operator -c /etc/edge/edge.yaml >/dev/null
sha256sum /etc/edge/tokens.yaml > /root/tokens.sum
apt-get install -y -q --no-install-recommends /root/new.deb
echo "upgraded: $(dpkg-query -W -f='${{Version}}' campus-edge)"
ls /var/lib/edge/backups/
sha256sum -c /root/tokens.sum
{py} -c 'import sqlite3; print("rows:", sqlite3.connect("/var/lib/edge/edge.db").execute( \
"SELECT action FROM audit").fetchall())'
apt-get remove -y -q campus-edge
echo "after remove: store $(test -f /var/lib/edge/edge.db && echo kept) tokens $(test -f /etc/edge/tokens.yaml \
&& echo kept) user $(getent passwd edge >/dev/null && echo kept) venv $(test -e /opt/edge/venv/bin/edge \
&& echo left || echo gone)"
apt-get purge -y -q campus-edge
echo "after purge: $(ls -d /var/lib/edge /etc/edge /opt/edge/venv 2>/dev/null | tr '\\n' ' ')user \
$(getent passwd edge >/dev/null && echo left || echo gone)"
"""
    out = _ok(fresh_root.run(root, script, 1200))
    assert "/etc/edge/edge.yaml: OK" in out
    assert re.search(r"^edge .*dialout", out, re.M)
    assert "edge:edge 750" in out and "root:edge 750" in out and "root:edge 640" in out
    assert f"upgraded: {old_version.group(1)}+1" in out
    assert f"pre-upgrade-{old_version.group(1)}.tar" in out
    assert "/etc/edge/tokens.yaml: OK" in out
    assert "rows: [('marker',)]" in out
    assert "after remove: store kept tokens kept user kept venv gone" in out
    after_purge = out[out.index("after purge:") :].splitlines()[0]
    assert after_purge == "after purge: user gone", after_purge
