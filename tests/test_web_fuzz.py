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
import schemathesis
from edge_support import DEVICE, start_edge, wait_until, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.seal.keystore import DeviceIdentity
from edge.web.store import WebStore
from hostsim import flash

EXAMPLES = int(os.environ.get("QINGLIAN_FUZZ_EXAMPLES", "20"))
USERNAME, PASSWORD = "wangfang", "Fuzz-seal-desk-2026"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
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
        found = wait_until("the console's address in the log", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")), 30)
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
    operations = [result.ok() for result in schemathesis.openapi.from_url(f"{console}/openapi.json").get_all_operations()]
    assert len(operations) >= 19, [op.label for op in operations]  # the description lists the whole API
    failures: dict[str, str] = {}
    for operation in operations:
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
        with logged_in(console) as session:

            @given(case=cases)
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
            def answers_as_described(case: schemathesis.Case) -> None:
                response = case.call(base_url=console, session=session, timeout=60)
                case.validate_response(response, checks=CHECKS)

            try:
                answers_as_described()
            except Exception as exc:  # every operation is tried; all that fail are reported together
                failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())
