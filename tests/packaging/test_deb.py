"""scripts/build-deb.sh: the gateway's .deb, built once here and inspected with dpkg-deb (-I, -c, -x).

Installing it into a real Debian root (dpkg -i, upgrade, purge) is tests/packaging/test_fresh_machine.py,
behind --heavy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.packaging.conftest import needs_debian_python

# The unit's `systemd-analyze security` exposure; README "Installing on a gateway" says what is left open.
MAX_EXPOSURE = 2.0
VERSION = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
pytestmark = needs_debian_python


@pytest.fixture(scope="module")
def extracted(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(root / "DEBIAN")], check=True)
    return root


def _field(info: str, name: str) -> str:
    m = re.search(rf"^ {name}: (.*)$", info, re.M)
    assert m, f"{name} missing in:\n{info}"
    return m.group(1)


def test_name_version_arch_and_depends(deb: Path) -> None:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    assert VERSION
    assert deb.name == f"campus-edge_{VERSION.group(1)}_{arch}.deb"
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    assert _field(info, "Package") == "campus-edge"
    assert _field(info, "Version") == VERSION.group(1)
    assert _field(info, "Architecture") == arch
    depends = _field(info, "Depends")
    assert "python3 (>= 3.11)" in depends and "python3 (<< 3.12)" in depends and "adduser" in depends
    for script in ("preinst", "postinst", "prerm", "postrm", "conffiles"):
        assert f" {script}" in info
    # The camera worker's stream grabs run GStreamer under Debian's Python: recommended, so apt installs it.
    recommends = _field(info, "Recommends")
    for package in ("python3-gi", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad"):
        assert package in recommends, recommends


def test_contents(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    entries = {line.split()[5]: line for line in listing.splitlines()}
    for path in (
        "./opt/edge/venv/bin/edge",
        "./opt/edge/venv/bin/python",
        "./lib/systemd/system/edge.service",
        "./etc/edge/edge.yaml",
        "./usr/share/doc/campus-edge/examples/edge.example.yaml",
        "./usr/share/doc/campus-edge/README.md",
    ):
        assert path in entries, path
    assert "./usr/bin/edge -> /opt/edge/venv/bin/edge" in listing
    assert all(" root/root " in line for line in listing.splitlines())
    assert entries["./etc/edge/edge.yaml"].startswith("-rw-r-----")
    # The store is made by the daemon at run time, never shipped (an upgrade must not touch it).
    assert not [p for p in entries if p.startswith("./var/lib/edge")]
    # Dependencies resolved at build time: the venv carries them.
    site = [p for p in entries if "/site-packages/" in p]
    for dist in ("edge/cli.py", "edge/video/stream_grab.py", "fastapi/", "pydantic/", "PIL/", "cv2/", "sqlite_utils/"):
        assert any(f"/site-packages/{dist}" in p for p in site), dist
    assert not any("/site-packages/pytest" in p or "/site-packages/mypy" in p for p in site)


def test_conffile_and_maintainer_scripts(extracted: Path) -> None:
    control = extracted / "DEBIAN"
    assert (control / "conffiles").read_text(encoding="utf-8").split() == ["/etc/edge/edge.yaml"]
    for script in ("preinst", "postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(control / script)], check=True)
    postinst = (control / "postinst").read_text(encoding="utf-8")
    assert "adduser --system" in postinst and "edge dialout" in postinst
    postrm = (control / "postrm").read_text(encoding="utf-8")
    # The store goes on purge only: the one `rm` of /var/lib/edge sits in the purge branch.
    purge = postrm[postrm.index("purge)") :]
    assert "rm -rf /var/lib/edge" in purge
    code = [ln for ln in postrm[: postrm.index("purge)")].splitlines() if not ln.lstrip().startswith("#")]
    assert not [ln for ln in code if "/var/lib/edge" in ln]
    assert "edge backup" in (control / "preinst").read_text(encoding="utf-8")


def test_venv_runs_from_its_own_files(extracted: Path) -> None:
    venv = extracted / "opt" / "edge" / "venv"
    assert (venv / "bin" / "edge").read_text(encoding="utf-8").startswith("#!/opt/edge/venv/bin/python")
    assert os.readlink(venv / "bin" / "python3") == "/usr/bin/python3"  # Debian's, as on the gateway
    assert "/tmp/" not in (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    py = str(venv / "bin" / "python")
    where = subprocess.run(
        [py, "-c", "import edge; print(edge.__file__)"], capture_output=True, text=True, env=env, check=True, cwd="/"
    )
    assert where.stdout.strip().startswith(str(venv))
    # The shipped config is valid as it is: an empty site that runs.
    check = subprocess.run(
        [py, "-m", "edge", "check-config", "-c", str(extracted / "etc" / "edge" / "edge.yaml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd="/",
    )
    assert check.returncode == 0, check.stderr
    assert "/var/lib/edge/edge.db" in (extracted / "etc" / "edge" / "edge.yaml").read_text(encoding="utf-8")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze (Debian package systemd) missing")
def test_unit_verifies_and_its_exposure(extracted: Path, tmp_path: Path) -> None:
    text = (extracted / "lib" / "systemd" / "system" / "edge.service").read_text(encoding="utf-8")
    assert "/usr/share/doc/campus-edge/README.md" in text
    unit = tmp_path / "edge.service"
    # verify checks that ExecStart exists: point it at this interpreter, which does.
    unit.write_text(text.replace("/opt/edge/venv/bin/edge", sys.executable), encoding="utf-8")
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for edge.service: ([0-9.]+)", sec.stdout)
    assert m, sec.stdout + sec.stderr
    print(f"systemd-analyze security: edge.service exposure {m.group(1)}")
    assert float(m.group(1)) <= MAX_EXPOSURE
