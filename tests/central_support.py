"""Shared pieces of the central store tests: a throw-away PostgreSQL server, stores on both databases,
real ledgers in temp dirs, signed raw requests, and a central store in a subprocess.

Import the fixtures into a test module with ``from central_support import *``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
import pytest_asyncio

from central.app import create_app
from central.store import CentralStore
from edge.ledger import Checkpoint, Ledger
from edge.ledger.keys import KEY_FILENAME, load_private_key
from edge.ledger.wire import API_PREFIX, entry_to_wire, sign_request

COUNTY, TOWNSHIP, VILLAGE = "萧山区", "河上镇", "青莲村"
REPO = Path(__file__).resolve().parent.parent


# -- PostgreSQL: a cluster of our own for the session ---------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """``initdb`` + ``pg_ctl`` in a temp dir, on a free port, socket in the temp dir; as ``postgres`` under root."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            # A promised part: its absence fails the run (never a skip), with the way to install it.
            pytest.fail(
                "PostgreSQL is not installed (no initdb): `sudo apt-get install postgresql` (`make setup` does it as root)",
                pytrace=False,
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qinglian-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-N")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "60", "start"
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"

        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        # In a thread of its own, so it works with or without a running event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, create()).result()
        return self.url(name)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # pytest then runs the teardowns, so the cluster is stopped


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:  # a CI timeout or `kill` must not leave the cluster running
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield server
    finally:
        server.stop()
        if previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty central database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest_asyncio.fixture
async def store(db_url: str) -> AsyncIterator[CentralStore]:
    s = await CentralStore.open(db_url)
    try:
        yield s
    finally:
        await s.close()


@pytest_asyncio.fixture
async def api(store: CentralStore) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ``store``, in process (httpx's ASGI transport)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(store)), base_url="http://central") as c:
        yield c


def asgi_transport(store: CentralStore) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(store))


# -- ledgers ---------------------------------------------------------------------------------------


async def fill(ledger: Ledger, n: int, start: int = 0, tag: str = "") -> None:
    """Append ``n`` realistic entries: presses, approvals, now and then an anomaly."""
    items: list[tuple[str, dict[str, Any]]] = []
    for i in range(start, start + n):
        if i % 5 == 0:
            body: dict[str, Any] = {"device_id": "QL-1", "event_id": i, "event": {"k": "press", "n": 1}, "tag": tag}
            if i % 100 == 0:
                body["anomaly"] = "over_press"
            items.append(("seal.press", body))
        else:
            items.append(("seal_request.approval", {"request_id": f"SR-{i:06d}", "approver": "zhangwei", "tag": tag}))
        if len(items) >= 1000:
            await ledger.append_many(items)
            items = []
    if items:
        await ledger.append_many(items)


async def new_ledger(path: Path, n: int = 0, **kwargs: Any) -> Ledger:
    ledger = await Ledger.open(path, **kwargs)
    if n:
        await fill(ledger, n)
    return ledger


class Ledgers:
    """Opens real ledgers in temp dirs and closes every one at teardown, even after a failure
    (an aiosqlite connection left open keeps the test process from exiting)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.opened: list[Ledger] = []

    async def open(self, name: str | Path, n: int = 0, **kwargs: Any) -> Ledger:
        ledger = await new_ledger(self.root / name, n, **kwargs)
        self.opened.append(ledger)
        return ledger

    async def close_all(self) -> None:
        for ledger in self.opened:
            await ledger.close()


@pytest_asyncio.fixture
async def ledgers(tmp_path: Path) -> AsyncIterator[Ledgers]:
    keeper = Ledgers(tmp_path)
    try:
        yield keeper
    finally:
        await keeper.close_all()


async def enrol(store: CentralStore, edge_id: str, data_dir: Path, village: str = VILLAGE,
                township: str = TOWNSHIP, county: str = COUNTY) -> None:  # fmt: skip
    await store.enrol_edge(edge_id, village, township, county, (data_dir / "ledger_pub.pem").read_text())


def edge_key(data_dir: Path) -> Any:
    return load_private_key(data_dir / KEY_FILENAME)


def clone_key(source: Path, target: Path) -> None:
    """Give ``target`` the same ledger key as ``source`` (an edge that forges its own history)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / KEY_FILENAME, target / KEY_FILENAME)
    (target / KEY_FILENAME).chmod(0o600)


async def batch(ledger: Ledger, start: int, checkpoint: Checkpoint, from_size: int | None = None) -> dict[str, Any]:
    """A push payload of ``[start, checkpoint.tree_size)`` with a consistency proof from ``from_size``."""
    from_size = start if from_size is None else from_size
    entries = await ledger.entries(start, checkpoint.tree_size)
    proof = await ledger.consistency_proof(from_size, checkpoint.tree_size)
    return {
        "from_index": start,
        "entries": [entry_to_wire(e) for e in entries],
        "checkpoint": checkpoint.to_dict(),
        "consistency": {"from_size": from_size, "proof": [p.hex() for p in proof]},
        "config_hash": None,
    }


async def signed(
    client: httpx.AsyncClient,
    key: Any,
    edge_id: str,
    method: str,
    path: str,
    payload: Any = None,
    now: float | None = None,
) -> httpx.Response:
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    headers = sign_request(key, edge_id, method, path, body, now=now)
    return await client.request(method, path, content=body, headers=headers)


async def push(client: httpx.AsyncClient, key: Any, edge_id: str, payload: Any) -> httpx.Response:
    return await signed(client, key, edge_id, "POST", f"{API_PREFIX}/{edge_id}/batches", payload)


# -- a central store in its own process ------------------------------------------------------------


class CentralProcess:
    """``qinglian central run`` as a subprocess on a fixed port, so it can be killed and restarted; its output
    goes to a pipe, or appended to ``log`` (a long run's tracebacks would fill a pipe nobody reads)."""

    def __init__(self, db: str, port: int | None = None, log: Path | None = None) -> None:
        self.db = db
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = None if self.log is None else self.log.open("a", encoding="utf-8")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "qinglian.cli", "central", "run", "--db", self.db, "--listen",
                 f"127.0.0.1:{self.port}", "--log-level", "warning"],
                stdout=subprocess.PIPE if log is None else log, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env,
            )  # fmt: skip
        finally:
            if log is not None:
                log.close()  # the child holds its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"central exited: {self.proc.stdout.read() if self.proc.stdout else ''}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("central did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def sqlite_count(path: Path, edge_id: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM entries WHERE edge_id = ?", (edge_id,)).fetchone()[0])
