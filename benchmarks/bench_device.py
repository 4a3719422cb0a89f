"""Seal board figures over the TCP serial link to a hostsim board.

    python benchmarks/bench_device.py [--grants 500] [--presses 200]

Prints grant-to-unlock and press-to-event latency (p50/p99), the status
round trip on the same link as the baseline, the frames per second the
firmware's parser sustains, and flash writes per press. No assertions: these
are figures to compare between runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.seal.devicelink import DeviceLink  # noqa: E402
from edge.seal.protocol import Keys, encode_frame  # noqa: E402
from hostsim.control import SimBoard  # noqa: E402


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, samples_s: list[float]) -> None:
    ms = [s * 1000 for s in samples_s]
    print(f"{name:<34} n={len(ms):<5} p50={pct(ms, 0.5):7.2f} ms  p99={pct(ms, 0.99):7.2f} ms  mean={statistics.mean(ms):7.2f} ms")


def bench_link(grants: int, presses: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, SimBoard(Path(tmp) / "board") as board:
        ident = board.identity()
        with DeviceLink(board.serial_url, ident.device_id, ident.key) as link:
            link.wait_online()
            link.wait_event("boot")
            status_rtt = []
            for _ in range(grants):
                t0 = time.perf_counter()
                link.status()
                status_rtt.append(time.perf_counter() - t0)
            unlock = []
            for no in range(1, grants + 1):
                t0 = time.perf_counter()
                link.send_grant(no, f"B-{no}", 1, 60)
                link.wait_event("unlocked")
                unlock.append(time.perf_counter() - t0)
                link.close_grant(no)
                link.wait_event("relocked")
            writes_before = link.status()["writes"]
            link.send_grant(grants + 1, "B-press", presses, 3600)
            link.wait_event("unlocked")
            host, port = board.control._sock.getpeername()[:2]
            press_latency = []
            with socket.create_connection((host, port)) as ctl:
                answers = ctl.makefile("rb")
                for _ in range(presses):
                    t0 = time.perf_counter()
                    ctl.sendall(json.dumps({"op": "press", "hold_ms": 40}).encode() + b"\n")
                    link.wait_event("press")
                    press_latency.append(time.perf_counter() - t0)
                    answers.readline()
            link.wait_event("relocked")
            writes = link.status()["writes"] - writes_before
    report("status round trip (baseline)", status_rtt)
    report("grant -> unlocked event", unlock)
    report("press -> press event", press_latency)
    print(f"{'':<34} (press latency includes the firmware's 20 ms debounce and 2.5 ms of simulated contact bounce)")
    # The grant's own events (grant_ok, unlocked, relocked) are in `writes` too.
    print(f"{'flash writes per press':<34} {(writes - 3) / presses:.2f}  ({writes} writes for {presses} presses and one grant)")


def bench_parser(frames: int) -> None:
    from hostsim.flash import FIRMWARE_DIR
    from hostsim.mpy import install
    from hostsim.pins import PinBus

    install(PinBus(), 1, b"\x00" * 6)
    sys.path.insert(0, str(FIRMWARE_DIR))
    import link as device_link

    key = bytes(32)
    keys = Keys.from_device_key(key)

    class Port:
        def __init__(self, data: bytes) -> None:
            self.data = data
            self.pos = 0

        def read_byte(self) -> int:
            if self.pos >= len(self.data):
                return -1
            self.pos += 1
            return self.data[self.pos - 1]

        def write(self, data: bytes) -> None:
            pass

    probe = device_link.Link(Port(b""), key)
    probe.start_session()
    stream = b"".join(encode_frame(keys.link, b"E", {"t": "ack", "a": i, "s": i, "sid": probe.sid}) for i in range(1, frames + 1))
    for label, data in (("valid frames", stream), ("noise frames (bad MAC)", stream.replace(b'"t"', b'"T"'))):
        dl = device_link.Link(Port(data), key)
        dl.sid, dl._rx_seq = probe.sid, 0
        t0 = time.perf_counter()
        got = 0
        while dl._port.pos < len(data):
            if dl.receive() is not None:
                got += 1
        elapsed = time.perf_counter() - t0
        print(f"parser, {label:<25} {frames / elapsed:9.0f} frames/s in CPython ({got} accepted, {dl.bad} dropped, {len(data) // frames} B/frame)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grants", type=int, default=500)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    bench_link(args.grants, args.presses)
    bench_parser(args.frames)


if __name__ == "__main__":
    main()
