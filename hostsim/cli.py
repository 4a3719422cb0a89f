"""``qinglian sim ...``: run a simulated seal board."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from hostsim import device


def parse_serial(value: str) -> tuple[str, int] | None:
    """``pty`` for a pseudo-terminal (None), else ``tcp:HOST:PORT``."""
    return None if value == "pty" else parse_tcp(value)


def parse_tcp(value: str) -> tuple[str, int]:
    """Parse ``tcp:HOST:PORT`` (port 0 picks a free port, printed when ready)."""
    scheme, _, rest = value.partition(":")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected tcp:HOST:PORT, got {value!r}")
    return host, int(port)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sim = subparsers.add_parser("sim", help="模拟设备 simulated hardware")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="WHAT")
    dev = sim_sub.add_parser(
        "device",
        help="运行模拟印章板 run a simulated seal board",
        description="Serve the board's UART and a JSON-lines control port; prints one JSON line with both addresses when ready.",
    )
    dev.add_argument("--serial", type=parse_serial, default=("127.0.0.1", 0), help="tcp:HOST:PORT for the UART, or pty")
    dev.add_argument("--control", type=parse_tcp, default=("127.0.0.1", 0), help="tcp:HOST:PORT for control")
    dev.add_argument("--state", type=Path, required=True, help="folder holding the board's chip id and flash")
    dev.add_argument("--factory", action="store_true", help="a factory-fresh board with no identity in flash")
    dev.add_argument("--camera", type=parse_tcp, help="tcp:HOST:PORT: serve a virtual desk camera (MJPEG) over the stamping desk, and a face camera beside it on a free port")
    dev.set_defaults(func=_run_device)


def _run_device(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="hostsim %(levelname)s %(message)s")
    asyncio.run(device.run(args.state, args.serial, args.control, args.factory, args.camera))
    return 0
