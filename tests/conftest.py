"""Shared fixtures: firmware modules in-process, and a real simulated board in a subprocess.

Also the rule that a green run means every test ran: the suite tests parts the project
promises (PostgreSQL, Chromium, MicroPython's WebAssembly build, ...), and a missing one
fails with the command that installs it. So any skip fails the session, and the count is
printed (the Makefile's ``-rs`` lists the reasons).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# One PostgreSQL cluster for the whole session. A session fixture imported into each test module is a
# fixture of that module, and every module's cluster then ran until the session ended (twenty at once).
from central_support import pg_server  # noqa: F401 - fixture
from edge.seal.devicelink import DeviceLink
from hostsim.control import SimBoard
from hostsim.flash import FIRMWARE_DIR
from hostsim.mpy import install
from hostsim.pins import PinBus


@pytest.fixture(scope="session")
def firmware() -> Path:
    """Make the firmware modules importable in this process, on hostsim's machine shims.

    The board tests run the firmware in its own process; this is for unit tests
    of single modules (link, grant) that need no board around them.
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


def _skipped(config: pytest.Config) -> int:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return len(reporter.stats.get("skipped", [])) if reporter is not None else 0


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = _skipped(config)
    terminalreporter.write_sep("=", f"{skipped} skipped", red=skipped > 0, green=skipped == 0)
    if skipped:
        terminalreporter.write_line("a skip fails the run: every part the suite needs is promised (-rs says why each was skipped)")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
