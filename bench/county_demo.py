"""The county demo in one command: mosquitto, PostgreSQL, `edge county` and 80 simulated schools, live.

    python bench/county_demo.py [--schools 80] [--devices 100] [--port 8090]

Prints the dashboard URL, a demo login (user 演示 made with `edge user add -c county.yaml`) and a viewer
token, then keeps the county moving until Ctrl-C: every school's
everyday mix (one event per school every few seconds), a press at a random school every ~20 s (its
alarm stays open on the dashboard for a minute), and one school going silent for two minutes now and
then so the 失联 flag shows. Needs mosquitto and PostgreSQL installed (scripts/apt-packages.txt).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.sim.county import SimCounty
from tests.county.county_proc import CountyProc
from tests.peers.mosquitto import Mosquitto
from tests.peers.postgres import Postgres

DEMO_USER, DEMO_PASSWORD = "演示", "county-demo"  # a throw-away database: shown, not secret


def _interrupt(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo like Ctrl-C: the peers are stopped, nothing is left running


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=80)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--port", type=int, default=8090, help="the dashboard's port (0: any free one)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="county-demo-"))
    broker = Mosquitto(tmp / "broker").start()
    pg = Postgres().start()
    county = CountyProc(tmp, broker.url, pg.dsn, client_id="demo", silent_after=60, port=args.port or None).start()
    county.add_user(DEMO_USER, "viewer", DEMO_PASSWORD)
    sim = SimCounty(broker.url, args.schools, args.devices)
    rng = random.Random(7)
    print(f"县教育局平台: http://127.0.0.1:{county.port}/", flush=True)
    print(f"登录 / log in: {DEMO_USER} / {DEMO_PASSWORD}   or token (viewer): {county.token}", flush=True)
    print(f"{args.schools} schools × {args.devices} devices; Ctrl-C to stop", flush=True)
    silent: dict[str, float] = {}
    alarms: dict[str, float] = {}
    try:
        tick = 0
        while True:
            now = time.monotonic()
            for s in sim.schools:
                if s.site in silent:
                    continue
                if tick % 5 == rng.randrange(5):
                    s.background()
                if tick % 10 == 0:
                    s.publish_state(open_alarms=1 if s.site in alarms else 0)
            if tick % 20 == 0:
                s = rng.choice(sim.schools)
                s.press()
                alarms[s.site] = now + 60
                s.publish_state(open_alarms=1)
            if tick % 180 == 30:
                silent[rng.choice(sim.schools).site] = now + 120
            silent = {k: v for k, v in silent.items() if v > now}
            alarms = {k: v for k, v in alarms.items() if v > now}
            tick += 1
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
        county.stop()
        pg.stop()
        broker.stop()


if __name__ == "__main__":
    main()
