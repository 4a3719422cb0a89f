"""The central store against hostile requests: bodies past their cap, refusal-log flooding, deep JSON,
and the modes of the files it writes (issue 12)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import stat
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from central_support import (  # noqa: F401 - fixtures
    REPO,
    CentralProcess,
    Ledgers,
    api,
    batch,
    db_url,
    edge_key,
    enrol,
    fill,
    ledgers,
    push,
    store,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

import central.store
from central.app import create_app
from central.cli import register
from central.store import CentralStore
from edge.ledger import Ledger
from edge.ledger.wire import API_PREFIX, sign_request

HUGE = 200 * 1024 * 1024
CHUNK = 1024 * 1024
# The caps as the README states them: 64 MB for a push, 1 MB for any other body.
MAX_SYNC_BODY = 64 * 1024 * 1024
MAX_OTHER_BODY = 1024 * 1024


def _lazy_chunks(total: int) -> Iterator[bytes]:
    """``total`` bytes of junk JSON-ish text, made one chunk at a time and never all at once."""
    for offset in range(0, total, CHUNK):
        yield b"[" * min(CHUNK, total - offset)


class Upload:
    """An ASGI client that streams a body the app pulls chunk by chunk, counting what it pulled."""

    def __init__(self, total: int) -> None:
        self.chunks = _lazy_chunks(total)
        self.pulled = 0
        self.messages: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        chunk = next(self.chunks, b"")
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def run(self, store: CentralStore, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"central"), (b"transfer-encoding", b"chunked")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("203.0.113.9", 40000), "server": ("central", 80),
        }  # fmt: skip
        await create_app(store)(scope, self.receive, self.send)
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        is_json = (b"content-type", b"application/json") in start["headers"]
        return start["status"], json.loads(body) if is_json else body.decode()


# -- 1. bodies stop at their cap, and strangers are refused before their body is read ---------------


async def test_a_chunked_push_stops_at_the_cap_with_little_memory(
    ledgers: Ledgers, store: CentralStore, tmp_path: Path
) -> None:
    await ledgers.open("e1", 1)
    await enrol(store, "e1", tmp_path / "e1")
    path = f"{API_PREFIX}/e1/batches"
    # Headers signed with e1's own key (over another body: nobody can tell before the end of this one).
    headers = sign_request(edge_key(tmp_path / "e1"), "e1", "POST", path, b"")
    upload = Upload(HUGE)
    tracemalloc.start()
    try:
        status, reply = await upload.run(store, "POST", path, headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and reply["code"] == "too_large" and "过大" in reply["reason"]
    # Read up to the cap and not a chunk further; held in memory: a small fraction of it.
    assert MAX_SYNC_BODY < upload.pulled <= MAX_SYNC_BODY + CHUNK
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes traced for a {HUGE} byte upload"
    start = next(m for m in upload.messages if m["type"] == "http.response.start")
    assert (b"connection", b"close") in start["headers"]  # the server drops the rest of the upload


async def test_strangers_are_refused_before_any_of_their_body_is_read(
    ledgers: Ledgers, store: CentralStore, tmp_path: Path
) -> None:
    await ledgers.open("e1", 1)
    await enrol(store, "e1", tmp_path / "e1")
    stranger = Ed25519PrivateKey.generate()
    cases = {
        "unenrolled": ("nobody", stranger),  # an edge id nobody enrolled
        "bad_signature": ("e1", stranger),  # an enrolled edge, a key nobody enrolled
    }
    for code, (edge_id, key) in cases.items():
        path = f"{API_PREFIX}/{edge_id}/batches"
        upload = Upload(HUGE)
        status, reply = await upload.run(store, "POST", path, sign_request(key, edge_id, "POST", path, b"junk"))
        assert (status, reply["code"], upload.pulled) == (401, code, 0), code
    # A declared length over the cap: refused before a byte is read, even for an enrolled edge.
    path = f"{API_PREFIX}/e1/batches"
    upload = Upload(HUGE)
    headers = sign_request(edge_key(tmp_path / "e1"), "e1", "POST", path, b"") | {"Content-Length": str(HUGE)}
    status, reply = await upload.run(store, "POST", path, headers)
    assert (status, reply["code"], upload.pulled) == (413, "too_large", 0)


@pytest.mark.parametrize("path", ["/api/v1/proofs/verify", "/login"])
async def test_other_bodies_have_a_cap_too(store: CentralStore, path: str) -> None:
    """FastAPI reads a JSON or form body before it checks the login: without a cap, anyone could fill memory."""
    upload = Upload(HUGE)
    status, reply = await upload.run(store, "POST", path, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    assert MAX_OTHER_BODY < upload.pulled <= MAX_OTHER_BODY + CHUNK
    if path.startswith("/api/"):
        assert reply["code"] == "too_large"  # the store's envelope, not FastAPI's {"detail": ...}
    else:
        assert "请求体过大" in reply  # the page says it in Chinese


def _vm(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _stream_chunked(port: int, path: str, headers: dict[str, str], total: int) -> tuple[int, int]:
    """POST ``total`` bytes with chunked encoding over a raw socket, as fast as the server takes them, until
    it answers; the status and the bytes sent."""
    head = f"POST {path} HTTP/1.1\r\nHost: central\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sent = 0
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in _lazy_chunks(total):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed while we were still sending
        try:
            while b"\r\n" not in reply:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
        except ConnectionResetError:
            pass
    assert reply.startswith(b"HTTP/1.1 "), f"no answer after {sent} bytes: {reply!r}"
    return int(reply.split()[1]), sent


@pytest.mark.slow
def test_a_200_mb_upload_leaves_the_server_process_small(tmp_path: Path) -> None:
    """Against ``qinglian central run`` itself: the peak resident set of the server stays far below the upload."""

    async def prepare() -> Any:
        ledger = await Ledger.open(tmp_path / "e1")
        await ledger.close()
        async with await CentralStore.open(db) as s:
            await enrol(s, "e1", tmp_path / "e1")

    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    asyncio.run(prepare())
    key = edge_key(tmp_path / "e1")
    with CentralProcess(db) as central:
        assert central.proc is not None
        before = _vm(central.proc.pid)
        path = f"{API_PREFIX}/e1/batches"
        status, sent = _stream_chunked(central.port, path, sign_request(key, "e1", "POST", path, b""), HUGE)
        after_push = _vm(central.proc.pid)
        path = f"{API_PREFIX}/nobody/batches"
        refused, _ = _stream_chunked(central.port, path, sign_request(key, "nobody", "POST", path, b""), HUGE)
        after = _vm(central.proc.pid)
    growth = after["VmHWM"] - before["VmHWM"]
    print(f"server VmHWM {before['VmHWM'] >> 20} MiB -> {after_push['VmHWM'] >> 20} MiB after the 200 MiB push "
          f"({sent >> 20} MiB sent) -> {after['VmHWM'] >> 20} MiB after the stranger's; growth {growth >> 20} MiB")  # fmt: skip
    assert status == 413 and refused == 401
    assert sent < HUGE  # the server stopped taking the upload
    assert growth < 40 * 1024 * 1024, f"the server grew by {growth} bytes for a {HUGE} byte upload"


# -- 2. junk cannot flood the refusal log --------------------------------------------------------------


async def _junk(transport_app: Any, client: tuple[str, int], requests: list[tuple[str, Any]]) -> None:
    """Send signed-by-nobody pushes from ``client``'s address, 50 at a time."""
    transport = httpx.ASGITransport(app=transport_app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://central") as junk:
        for start in range(0, len(requests), 50):
            replies = await asyncio.gather(
                *(push(junk, key, edge_id, {"junk": True}) for edge_id, key in requests[start : start + 50])
            )
            assert all(r.status_code == 401 for r in replies)


async def _all_rows(store: CentralStore) -> int:
    """Rows in every table of the store: what junk must not grow one by one."""
    from sqlalchemy import func, select

    from central.db import metadata

    async with store.db.reader.connect() as conn:
        total = 0
        for table in metadata.sorted_tables:
            total += (await conn.execute(select(func.count()).select_from(table))).scalar() or 0
        return total


async def test_junk_cannot_push_a_real_refusal_out_of_view(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("e1", 0, checkpoint_every=10_000)
    await enrol(store, "e1", tmp_path / "e1")
    key = edge_key(tmp_path / "e1")
    await fill(ledger, 100)
    cp = await ledger.checkpoint()
    good = await batch(ledger, 0, cp)
    assert (await push(api, key, "e1", good)).status_code == 200
    everyone = {"Authorization": f"Bearer {await store.issue_token('all', '测试')}"}

    # Thousands of junk pushes from one address: as e1 with a key nobody enrolled, and as edges nobody enrolled.
    stranger = Ed25519PrivateKey.generate()
    requests = [("e1", stranger) if i % 2 else (f"fake-{i}", stranger) for i in range(2000)]
    app = create_app(store)
    rows_before = await _all_rows(store)
    await _junk(app, ("198.51.100.7", 1000), requests)
    rows_after_junk = await _all_rows(store)
    assert rows_after_junk == rows_before + 2  # one counter per source and reason: bad signatures, unenrolled

    # Then a real rewrite, signed by e1's own key: on record, on top, whatever came before.
    rewritten = json.loads(json.dumps(good))
    rewritten["entries"][5]["body"]["approver"] = "lisi"
    response = await push(api, key, "e1", rewritten)
    assert response.status_code == 409 and response.json()["code"] == "entry_rewritten"
    await _junk(app, ("198.51.100.7", 1000), requests[:100])  # and more junk after it
    assert await _all_rows(store) == rows_after_junk + 1  # the signed refusal, one row

    signed_refusals = (await api.get("/api/v1/refusals?limit=5", headers=everyone)).json()
    assert [r["code"] for r in signed_refusals] == ["entry_rewritten"]
    counted = (await api.get("/api/v1/refusals/unsigned", headers=everyone)).json()
    assert sorted((r["code"], r["enrolled"], r["count"], r["source"]) for r in counted) == [
        ("bad_signature", True, 1050, "198.51.100.7"),
        ("unenrolled", False, 1050, "198.51.100.7"),
    ]
    (row,) = await store.status()
    assert row["flagged"] and row["refused_batches"] == 1 and row["refused_attempts"] == 1050
    # The supervisors' pages show both, in Chinese: the signed refusal and the counters.
    cookie = {"Cookie": "qinglian_supervisor=" + everyone["Authorization"][7:]}
    overview = (await api.get("/", headers=cookie)).text
    assert "条目被改写" in overview and "未认证的请求(按来源计数)" in overview and "1050" in overview
    page = (await api.get("/edges/e1", headers=cookie)).text
    assert "条目被改写" in page and "请求签名无效" in page and "198.51.100.7" in page
    await ledger.close()


async def test_junk_from_many_addresses_is_folded_past_the_cap(
    ledgers: Ledgers, store: CentralStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(central.store, "MAX_REFUSAL_SOURCES", 10, raising=False)
    stranger = Ed25519PrivateKey.generate()
    app = create_app(store)
    rows_before = await _all_rows(store)
    # 30 IPv6 addresses of one /64, which count as one source, then 30 IPv4 addresses.
    clients = [(f"2001:db8::{i:x}", 1) for i in range(30)] + [(f"192.0.2.{i}", 1) for i in range(30)]
    for client in clients:
        await _junk(app, client, [("nobody", stranger)] * 3)
    assert await _all_rows(store) == rows_before + 11  # the cap, and one row where every later source is counted
    counted = await store.unknown_edge_refusals(1000)
    assert sum(r["count"] for r in counted) == 3 * len(clients)
    assert {r["source"] for r in counted} == {"2001:db8::/64", "*"} | {f"192.0.2.{i}" for i in range(9)}
    await _junk(app, ("192.0.2.3", 1), [("nobody", stranger)])  # a source already counted keeps its row
    assert await _all_rows(store) == rows_before + 11
    (row,) = [r for r in await store.unknown_edge_refusals(1000) if r["source"] == "192.0.2.3"]
    assert row["count"] == 4


# -- 3. deep JSON from an enrolled edge: a clear 400, never a 500 --------------------------------------


async def test_deeply_nested_json_is_refused_with_a_reason(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("e1", 0, checkpoint_every=10_000)
    await enrol(store, "e1", tmp_path / "e1")
    key = edge_key(tmp_path / "e1")
    path = f"{API_PREFIX}/e1/batches"
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"entries": ' + b"[" * 50_000):
        response = await api.post(path, content=body, headers=sign_request(key, "e1", "POST", path, body))
        assert response.status_code == 400 and response.json()["code"] == "too_deep"
        assert "嵌套" in response.json()["reason"]
    # Deep inside an otherwise good batch too.
    await ledger.append_many([("seal.press", {"n": 1})])
    good = await batch(ledger, 0, await ledger.checkpoint())
    deep: Any = 1
    for _ in range(200):
        deep = {"x": [deep]}
    response = await push(api, key, "e1", {**good, "entries": [{**good["entries"][0], "body": deep}]})
    assert response.status_code == 400 and response.json()["code"] == "too_deep"
    # Brackets inside strings are text, not nesting: such an entry goes in.
    await ledger.append_many([("seal.press", {"ocr": "[{" * 20_000 + '\\"]' * 3})])
    response = await push(api, key, "e1", await batch(ledger, 0, await ledger.checkpoint()))
    assert response.status_code == 200, response.text
    assert await store.stored_indexes("e1") == [0, 1]
    await ledger.close()


# -- 4. files for the store's user alone ---------------------------------------------------------------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_sqlite_files_and_folders_are_private(ledgers: Ledgers, tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "var" / "central"
    db = folder / "central.sqlite3"
    async with await CentralStore.open(f"sqlite:///{db}") as s:
        await ledgers.open("e1", 1)
        # A reader holds a connection while a write goes in, so the -wal and -shm files are there to see.
        async with s.db.reader.connect() as reader:
            await reader.execute(text("SELECT count(*) FROM edges"))
            await enrol(s, "e1", tmp_path / "e1")
            written = sorted(p.name for p in folder.iterdir())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert written == ["central.sqlite3", "central.sqlite3-shm", "central.sqlite3-wal"]
    assert modes == dict.fromkeys(written, 0o600)
    assert stat.S_IMODE(folder.stat().st_mode) == stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
    # A file left readable by others (an older store, a copy) is narrowed when the store opens it.
    db.chmod(0o644)
    async with await CentralStore.open(f"sqlite:///{db}"):
        pass
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_the_systemd_unit_runs_a_command_the_cli_accepts() -> None:
    unit = (REPO / "deploy" / "qinglian-central.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    assert settings["UMask"] == "0077" and settings["NoNewPrivileges"] == "yes"
    command = settings["ExecStart"].split()
    assert command[:3] == ["/opt/qinglian/.venv/bin/qinglian", "central", "run"]
    parser = argparse.ArgumentParser(prog="qinglian")
    register(parser.add_subparsers(dest="command", required=True))  # the central commands alone
    args = parser.parse_args(command[1:])
    assert args.db.startswith("sqlite:////var/lib/") and args.listen.startswith("127.0.0.1:")
