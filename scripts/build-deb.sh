#!/usr/bin/env bash
# Builds the gateway's Debian package: campus-edge_<version>_<arch>.deb in OUT_DIR (default dist/).
#   scripts/build-deb.sh [OUT_DIR]
# The application goes into its own venv under /opt/edge with every Python dependency resolved now, at
# build time (so installing it needs no PyPI); the venv is made with Debian's python3 (/usr/bin/python3,
# 3.11 on Debian 12) so that it runs on the target. Needs python3-venv and dpkg-deb, not root.
# DEB_COMPRESS=xz|gzip|zstd|none (default gzip: xz on ~300 MB of wheels costs minutes on 2 cores),
# DEB_COMPRESS_LEVEL=1..9 (default: dpkg-deb's).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)"
py="${DEB_PYTHON:-/usr/bin/python3}"
pkg=campus-edge
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)
arch=$(dpkg --print-architecture)
pyver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
next_minor=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')
[ -n "$version" ] || { echo "build-deb: no version in pyproject.toml" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/edge-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/$pkg"
venv_final=/opt/edge/venv
venv="$stage$venv_final"

echo "== $pkg $version ($arch, python $pyver): venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --progress-bar off --no-cache-dir --disable-pip-version-check --use-pep517 --no-compile -q "$root"
# The wheel-installing tools are not needed on the gateway: pip stays (for `pip list` in a support call).
"$venv/bin/python" -m pip uninstall -y -q setuptools wheel 2>/dev/null || true
# Byte-code is compiled on the target by postinst (and removed by prerm): a smaller package, same start-up.
find "$venv" -name __pycache__ -type d -prune -exec rm -rf {} +
# The venv was made at the staging path: point its scripts at where dpkg puts it.
grep -rlI --null "$venv" "$venv/bin" "$venv/pyvenv.cfg" | xargs -0 -r sed -i "s#$venv#$venv_final#g"
if grep -rqI "$stage" "$venv"; then
  echo "build-deb: staging path left in:" >&2; grep -rlI "$stage" "$venv" >&2; exit 1
fi

echo "== files"
install -d "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/edge" \
  "$stage/usr/share/doc/$pkg/examples" "$stage/DEBIAN"
ln -s "$venv_final/bin/edge" "$stage/usr/bin/edge"
install -m 0644 "$root/systemd/edge.service" "$stage/lib/systemd/system/edge.service"
# The shipped config: the example's required sections only (an empty site that runs); every other
# section is documented in the full example next to the README.
awk '
  /^[a-z_]+:/ { key = $1; sub(":.*", "", key); keep = (key == "site" || key == "storage" || key == "api") }
  !started && /^#/ { print; next }
  /^[a-z_]+:/ { started = 1 }
  started && keep { print }
' "$root/config/edge.example.yaml" > "$stage/etc/edge/edge.yaml"
printf '\n# Buttons, cameras, the police receiver and the rest: see\n# /usr/share/doc/%s/examples/edge.example.yaml\n' \
  "$pkg" >> "$stage/etc/edge/edge.yaml"
chmod 0640 "$stage/etc/edge/edge.yaml"
install -m 0644 "$root/config/edge.example.yaml" "$stage/usr/share/doc/$pkg/examples/edge.example.yaml"
install -m 0644 "$root/README.md" "$stage/usr/share/doc/$pkg/README.md"
printf 'campus-edge\nCopyright: the campus-edge authors. License: proprietary.\n' > "$stage/usr/share/doc/$pkg/copyright"

echo "== control"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: campus-edge maintainers <edge@localhost>
Installed-Size: $size
Depends: python3 (>= $pyver), python3 (<< $next_minor), adduser, init-system-helpers (>= 1.54)
Recommends: systemd, python3-gi, gir1.2-gst-plugins-base-1.0, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad
Suggests: gstreamer1.0-libav, gstreamer1.0-tools, gstreamer1.0-plugins-ugly
Section: net
Priority: optional
Homepage: file:///usr/share/doc/$pkg/README.md
Description: campus edge monitor: one-key alarm buttons, cameras, police alarm relay
 The edge daemon for a school's security gateway: it relays one-key panic
 buttons (Modbus RTU, MQTT) to the police over SIA DC-09 or a webhook, checks
 ONVIF cameras (health, clock, image quality, retention) and serves a status
 API and a zh-CN dashboard. Runs as the systemd unit edge.service.
 .
 Built for python $pyver (below $next_minor); the venv is /opt/edge/venv.
CONTROL
echo /etc/edge/edge.yaml > "$stage/DEBIAN/conffiles"
for script in preinst postinst prerm postrm; do
  install -m 0755 "$root/packaging/debian/$script" "$stage/DEBIAN/$script"
done

deb="$out/${pkg}_${version}_${arch}.deb"
comp="${DEB_COMPRESS:-gzip}"
echo "== dpkg-deb ($comp)"
dpkg-deb --root-owner-group -Z"$comp" ${DEB_COMPRESS_LEVEL:+-z"$DEB_COMPRESS_LEVEL"} --build "$stage" "$deb" >/dev/null
echo "$deb"
