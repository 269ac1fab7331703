"""A minimal Debian 12 root made by debootstrap (only python3 added), and commands run inside it.

Used by the --heavy fresh-machine tests. The pristine root is bootstrapped once and kept as a tarball in
EDGE_FRESH_CACHE (default /var/cache/edge-tests); each test unpacks its own copy. Commands run in a
private mount and PID namespace (`unshare`), so /proc, /dev and /sys are mounted for the chroot only and
vanish, with every process started inside, when the command ends: nothing is left mounted on the host,
and the copy is deleted without crossing into another file system.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

SUITE = "bookworm"  # Debian 12
CACHE = Path(os.environ.get("EDGE_FRESH_CACHE", "/var/cache/edge-tests"))
# debootstrap of minbase + python3 from the network mirror: 2-5 min here.
BOOTSTRAP_TIMEOUT_S = 1200
# The host's TLS trust, handed to the root (see new_root).
HOST_CA = "/etc/ssl/host-ca-bundle.crt"
ENV = "HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 CI=true"
CA_ENV = f"SSL_CERT_FILE={HOST_CA} PIP_CERT={HOST_CA} REQUESTS_CA_BUNDLE={HOST_CA}"


def debian_mirror() -> str | None:
    """The Debian mirror this machine's apt already uses (EDGE_DEBIAN_MIRROR overrides)."""
    if os.environ.get("EDGE_DEBIAN_MIRROR"):
        return os.environ["EDGE_DEBIAN_MIRROR"]
    apt = Path("/etc/apt")
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text(encoding="utf-8").split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    lists = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    for path in lists:
        if path.exists():
            m = re.search(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", path.read_text(encoding="utf-8"), re.M)
            if m:
                return m.group(1)
    return None


def missing_tools() -> str | None:
    """Why a fresh root cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, mount namespaces)"
    for tool in ("debootstrap", "unshare", "chroot", "tar"):
        if not shutil.which(tool):
            return f"{tool} missing (debootstrap: scripts/apt-test.txt)"
    if debian_mirror() is None:
        return f"no Debian {SUITE} mirror in /etc/apt (set EDGE_DEBIAN_MIRROR)"
    return None


def pristine_tarball() -> Path:
    tarball = CACHE / f"{SUITE}-minbase-python3.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / f"{SUITE}.partial"
    remove_root(work)
    debs = CACHE / "debs"
    debs.mkdir(exist_ok=True)
    mirror = debian_mirror()
    assert mirror
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3", f"--cache-dir={debs}", SUITE, str(work), mirror],
        check=True,
        timeout=BOOTSTRAP_TIMEOUT_S,
    )
    subprocess.run(["tar", "-C", str(work), "-cf", f"{tarball}.tmp", "."], check=True)
    Path(f"{tarball}.tmp").replace(tarball)
    remove_root(work)
    return tarball


def new_root(dest: Path) -> Path:
    """A copy of the pristine root, with the host's resolver and services kept from starting (no init runs)."""
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(dest), "-xf", str(pristine_tarball())], check=True)
    shutil.copy("/etc/resolv.conf", dest / "etc" / "resolv.conf")
    # A new machine of this workplace trusts what the host trusts (its egress may re-sign TLS):
    # the host's CA bundle goes in beside the root's own, for pip (apt uses plain http mirrors).
    bundle = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        target = dest / HOST_CA.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle, target)
    # The usual chroot guard: package scripts must not start daemons (mosquitto) on the host's ports.
    guard = dest / "usr" / "sbin" / "policy-rc.d"
    guard.write_text("#!/bin/sh\nexit 101\n", encoding="utf-8")
    guard.chmod(0o755)
    return dest


def remove_root(root: Path) -> None:
    if root.exists():
        # --one-file-system: never follow into a mount, should one still be there.
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def command(root: Path, script: str, network: bool = True) -> list[str]:
    """argv that runs `script` (bash) as root inside `root`; network=False gives it only a down loopback."""
    r = shlex.quote(str(root))
    env = f"{ENV} {CA_ENV}" if (root / HOST_CA.lstrip("/")).exists() else ENV
    inner = (
        "set -e\n"
        f"mount -t proc proc {r}/proc\n"
        f"mount --rbind /dev {r}/dev\n"
        f"mount -t tmpfs -o mode=1777 tmpfs {r}/dev/shm\n"
        f"mount -t sysfs sysfs {r}/sys\n"
        f"mount -t tmpfs -o mode=1777 tmpfs {r}/tmp\n"
        f"exec chroot {r} /usr/bin/env -i {env} /bin/bash -c {shlex.quote(script)}\n"
    )
    ns = ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child"]
    if not network:
        ns.append("--net")
    return ["unshare", *ns, "/bin/bash", "-c", inner]


def run(root: Path, script: str, timeout: float, network: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(root, script, network), capture_output=True, text=True, timeout=timeout, check=False)


def copy_checkout(repo: Path, dest: Path) -> None:
    """The checkout's tracked files as they are now (what a clone gives a new user)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = repo / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
