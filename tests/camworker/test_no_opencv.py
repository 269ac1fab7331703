"""The camera worker does all camera work without OpenCV (issue 13: its ~55 MB were half the worker).

Checked in a fresh interpreter, after the worker's entry module is imported and two camera pictures
have gone the whole way of a quality check (JPEG decode, every measure, thumbnail) with the stream
grab's module loaded too: `cv2` is not in sys.modules. tests/faults/test_camera_worker.py checks the
running worker's /proc/PID/maps for the OpenCV library.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edge.sim.video import SyntheticScene, encode_jpeg

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import sys
from pathlib import Path
import edge.camworker.child  # the worker's entry: everything it imports at steady state
import edge.video.stream
from edge.video.quality import assess, thumbnail
from edge.video.snapshot import decode_jpeg
frames = [decode_jpeg(p.read_bytes()) for p in sorted(Path(sys.argv[1]).glob("*.jpg"))]
result = assess(frames)
assert result.verdict == "pass", result.as_dict()
assert thumbnail(frames[-1])[:2] == b"\\xff\\xd8"
print(sorted(m for m in sys.modules if m == "cv2" or m.startswith("cv2.")))
"""


def test_worker_judges_pictures_without_opencv(tmp_path: Path) -> None:
    scene = SyntheticScene("normal", 1)  # drawn here: the simulator is not the worker and may use OpenCV
    for i, t in enumerate((0.0, 2.0)):
        (tmp_path / f"{i}.jpg").write_bytes(encode_jpeg(scene.frame(t)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
