"""Shared fixtures: firmware modules in-process, and a real simulated board in a subprocess."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.devicelink import DeviceLink
from hostsim.control import SimBoard
from hostsim.flash import FIRMWARE_DIR
from hostsim.mpy import install
from hostsim.pins import PinBus


@pytest.fixture(scope="session")
def firmware() -> Path:
    """Make the firmware modules importable in this process, on hostsim's machine shims.

    The board tests run the firmware in its own process; this is for unit tests
    of single modules (journal, link, grant) that need no board around them.
    """
    install(PinBus(), reset_cause=1, unique_id=b"\x01\x02\x03\x04\x05\x06")
    if str(FIRMWARE_DIR) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_DIR))
    return FIRMWARE_DIR


@pytest.fixture
def board(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(tmp_path / "board") as sim:
        yield sim


@pytest.fixture
def link(board: SimBoard) -> Iterator[DeviceLink]:
    ident = board.identity()
    with DeviceLink(board.serial_url, ident.device_id, ident.key) as device:
        device.wait_online()
        yield device
