"""Coverage-guided fuzzing of the DC-09 decoder with atheris (libFuzzer). Not part of the default run.

    .venv/bin/python fuzz/atheris_dc09.py -atheris_runs=200000            # a fixed number of inputs
    .venv/bin/python fuzz/atheris_dc09.py -max_total_time=300 fuzz/corpus  # 5 minutes, keeping a corpus

Without a corpus argument it starts from fuzz/seeds_dc09/ (valid frames: plain, AES, SIA-DCS, replies).
Every input is also tried wrapped in a correct CRC and length header, so mutations reach the parser.

Each input is decoded as a frame (plain and with an AES key) and as a receiver reply. The decoder's
contract: bytes in, a Frame or a typed Rejection out, never an exception. Anything else is a crash,
which libFuzzer reports with the input that caused it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports():
    from edge.relay.dc09.crc import crc_hex
    from edge.relay.dc09.frame import Frame, Rejection, decode, parse_reply

KEY = bytes(range(16))  # any AES-128 key: the fuzzer mostly explores the framing and the decrypt failure paths


def framed(body: bytes) -> bytes:
    """`body` with a correct CRC and length, so the fuzzer reaches the parser behind the frame check."""
    return b"\n" + crc_hex(body).encode() + f"{len(body):04X}".encode() + body + b"\r"


def one_input(data: bytes) -> None:
    for raw, key in ((data, None), (data, KEY), (framed(data), None), (framed(data), KEY)):
        check(raw, key)


def check(data: bytes, key: bytes | None) -> None:
    got = decode(data, key)
    if not isinstance(got, Frame | Rejection):
        raise AssertionError(f"decode returned {type(got).__name__}")
    reply = parse_reply(data, key)
    if not isinstance(reply, Frame | Rejection):
        raise AssertionError(f"parse_reply returned {type(reply).__name__}")


def main() -> None:
    seeds = Path(__file__).resolve().parent / "seeds_dc09"
    if seeds.is_dir() and not any(not a.startswith("-") for a in sys.argv[1:]):
        # libFuzzer writes new inputs into its corpus dir: start from a scratch copy of the seeds
        corpus = Path(tempfile.mkdtemp(prefix="dc09-corpus-"))
        shutil.copytree(seeds, corpus, dirs_exist_ok=True)
        sys.argv.append(str(corpus))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
