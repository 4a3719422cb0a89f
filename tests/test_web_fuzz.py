"""The edge console's JSON API fuzzed from its own description (/openapi.json) with Schemathesis.

Every operation the description lists is called with generated input, valid and not, by an account that
holds every role (so the authenticated steps run, not just the login wall), against ``qinglian edge run``
as a user starts it. Whatever comes in, the console answers without a server error (no 5xx), with a status
code the description lists, and with a body that fits it — for errors, the project's error envelope.

A short run by default (every operation, ``QINGLIAN_FUZZ_EXAMPLES`` generated calls each); set it higher for
a long one.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from edge_support import DEVICE, start_edge, wait_until, write_config
from fuzz_support import fuzz, operations, report
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.seal.keystore import DeviceIdentity
from edge.web.store import WebStore
from hostsim import flash

USERNAME, PASSWORD = "wangfang", "Fuzz-seal-desk-2026"
# Login limits the fuzzer cannot reach: its own wrong guesses at /api/login must not lock this account out.
WEB = """
[web]
listen = "127.0.0.1:0"
login_max_failures = 1000000
login_ip_max_failures = 1000000
login_account_max_failures = 1000000
"""


async def _prepare(config_path: Path) -> None:
    """Enrol the board and make the account, as the data folder's writer (the edge is not running yet)."""
    config = load_config(config_path)
    board = config_path.parent / "board"
    ident = flash.read_identity(board)
    assert ident is not None
    agent = await EdgeAgent.open(config)
    store = await WebStore.open(config.data_dir)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        # wangfang is custodian, applicant and approver in the roster; the account adds supervisor and admin
        await seed_account(store, agent, USERNAME, ["custodian", "applicant", "approver", "supervisor", "admin"], "wangfang", None, PASSWORD)
    finally:
        await store.close()
        await agent.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``qinglian edge run`` with its console; its URL. The board's serial line leads nowhere: the console
    runs the same with a seal offline."""
    root = tmp_path_factory.mktemp("fuzz")
    flash.prepare(root / "board")
    ident = flash.read_identity(root / "board")
    assert ident is not None
    path = write_config(root, "socket://127.0.0.1:9", ident.device_id)
    with path.open("a", encoding="utf-8") as f:
        f.write(WEB)
    asyncio.run(_prepare(path))
    log = root / "edge.log"
    proc = start_edge(path, log)
    try:
        found = wait_until("the console's address in the log", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")))
        yield found.group(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]  # nothing the fuzzer sent made the console fail inside


@contextmanager
def logged_in(console: str) -> Iterator[requests.Session]:
    """A session of the all-roles account, its CSRF token sent with every call (one per operation: the
    fuzzer's call to /api/logout ends only its own)."""
    with requests.Session() as s:
        r = s.post(f"{console}/api/login", json={"username": USERNAME, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield s


def test_every_operation_answers_as_described(console: str) -> None:
    ops = operations(console)
    assert len(ops) >= 19, [op.label for op in ops]  # the description lists the whole API
    failures = fuzz(console, ops, lambda: logged_in(console))
    assert not failures, report(failures)
