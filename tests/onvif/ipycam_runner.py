"""Runs ipycam's ONVIF HTTP service on loopback only, for the cross-check test.

Executed by the ipycam venv's own python (see scripts/setup-ipycam.sh), never imported by the test
suite. ipycam's own `python -m ipycam` would also start WS-Discovery (multicast on the LAN) and bind
every interface; this runner serves only its unmodified ONVIF/HTTP handler on 127.0.0.1 and feeds it
a synthetic frame so its snapshot URI answers.
Usage: python ipycam_runner.py PORT USERNAME PASSWORD
"""

import sys

import numpy as np
from ipycam import CameraConfig, IPCamera
from ipycam.camera import ReusableThreadingTCPServer
from ipycam.http import IPCameraHTTPHandler


def main() -> None:
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cfg = CameraConfig(local_ip="127.0.0.1", onvif_port=port, username=user, password=password)
    cam = IPCamera(cfg)
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    with cam._last_frame_lock:  # the capture loop would set this; there is no capture here
        cam._last_frame = frame
    IPCameraHTTPHandler.camera = cam
    server = ReusableThreadingTCPServer(("127.0.0.1", port), IPCameraHTTPHandler)
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
