"""Sync over real sockets: a month offline, the central store killed mid-sync, connections cut mid-batch.

The store runs as ``qinglian central run`` in a subprocess on a fixed port so
it can be killed with SIGKILL and started again; the edge is a real ledger and
the real :class:`SyncClient` running as an asyncio task, as the agent runs it.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import httpx
import pytest
from central_support import (  # noqa: F401 - fixtures
    CentralProcess,
    Ledgers,
    db_url,
    enrol,
    fill,
    free_port,
    ledgers,
)

from central.store import CentralStore
from edge.kernel.sync import SyncClient

pytestmark = pytest.mark.slow


async def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _exactly(store: CentralStore, edge_id: str, size: int) -> None:
    """The store ends with exactly the edge's entries: no gaps, no duplicates."""
    assert await store.stored_indexes(edge_id) == list(range(size))
    (row,) = [r for r in await store.status() if r["edge_id"] == edge_id]
    assert row["entries"] == size and row["checkpoint"]["tree_size"] == size and not row["flagged"]
    assert row["refused_batches"] == 0 and row["refused_attempts"] == 0


class HoldingTransport(httpx.AsyncHTTPTransport):
    """Lets ``batches`` batch uploads through, then holds the next one until :meth:`release`.

    So the store is killed with a known part of the ledger in it, however fast the machine syncs.
    """

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.left = batches
        self.holding = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/batches"):
            if self.left == 0:
                self.holding.set()
                await self._released.wait()
            else:
                self.left -= 1
        return await super().handle_async_request(request)


async def test_a_month_offline_catches_up_through_a_central_crash(
    db_url: str, ledgers: Ledgers, tmp_path: Path
) -> None:
    """20,000 entries (a busy village's month) pile up offline; the store is killed mid-catch-up and restarted."""
    store = await CentralStore.open(db_url)
    try:
        ledger = await ledgers.open("edge")
        await enrol(store, "qinglian", tmp_path / "edge")
        central = CentralProcess(db_url)
        gate = HoldingTransport(batches=8)
        client = SyncClient(ledger, central.url, "qinglian", batch_size=500, interval=0.2, min_backoff=0.05,
                            max_backoff=0.5, timeout=10, transport=gate)  # fmt: skip
        task = client.start()
        # Offline: the store is not running; the client keeps trying with backoff, the ledger keeps growing.
        await fill(ledger, 20_000)
        await _wait(lambda: _failed(client, "unavailable"), 30, "a first attempt to fail")
        assert client.acked is None

        central.start()
        try:
            await asyncio.wait_for(gate.holding.wait(), 120)  # eight batches in, the ninth on its way
            central.kill()  # SIGKILL, mid-sync
            held = await store.count_entries("qinglian")
            assert 0 < held == client.acked <= 8 * 500  # what it acknowledged, and far from all
            await fill(ledger, 300, start=20_000)  # the village keeps working meanwhile
            gate.release()  # the held batch meets a dead store, and the client backs off until it is back
            central.start()
            size = await ledger.size()
            await _wait(lambda: _acked(client, size), 300, "the catch-up")
        finally:
            central.kill()
        assert not task.done()
        await client.stop()
        await _exactly(store, "qinglian", await ledger.size())
    finally:
        await store.close()


async def _failed(client: SyncClient, code: str) -> bool:
    return client.last_error_code == code


async def _acked(client: SyncClient, size: int) -> bool:
    return client.acked is not None and client.acked >= size


class FlakyProxy:
    """A TCP proxy that cuts every connection once it has carried a random number of bytes one way."""

    def __init__(self, target_port: int, seed: int) -> None:
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.cuts = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        # Cut mid-request (the store never sees the whole batch) or mid-reply (it stored the batch,
        # the edge never hears so): both must end in exactly one copy. Every connection has a budget:
        # a keep-alive connection left whole would carry the rest of the sync (the server keeps idle
        # connections 75 s), and how many cuts there were would hang on the machine's timing.
        if self.rng.random() < 0.5:
            direction, budget = "up", self.rng.randrange(200, 100_000)
        else:
            direction, budget = "down", self.rng.randrange(0, 2_000)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, limited: bool) -> None:
            nonlocal budget
            try:
                while data := await src.read(16384):
                    if limited:
                        if len(data) >= budget:
                            dst.write(data[:budget])
                            self.cuts += 1
                            raise ConnectionResetError
                        budget -= len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer, direction == "up"), pipe(up_reader, writer, direction == "down"))


async def test_connections_cut_mid_batch_many_times(db_url: str, ledgers: Ledgers, tmp_path: Path) -> None:
    store = await CentralStore.open(db_url)
    try:
        ledger = await ledgers.open("edge", 3_000)
        await enrol(store, "qinglian", tmp_path / "edge")
        with CentralProcess(db_url) as central:
            proxy = FlakyProxy(central.port, seed=6)
            await proxy.start()
            try:
                client = SyncClient(ledger, f"http://127.0.0.1:{proxy.port}", "qinglian", batch_size=100,
                                    interval=0.1, min_backoff=0.01, max_backoff=0.1, timeout=5)  # fmt: skip
                client.start()
                # And the edge killed now and then: a fresh client resumes from what the store says.
                for round_ in range(3):
                    await asyncio.sleep(0.4)
                    await client.stop()
                    await fill(ledger, 50, start=await ledger.size(), tag=f"round{round_}")
                    client = SyncClient(ledger, f"http://127.0.0.1:{proxy.port}", "qinglian", batch_size=100,
                                        interval=0.1, min_backoff=0.01, max_backoff=0.1, timeout=5)  # fmt: skip
                    client.start()
                size = await ledger.size()
                await _wait(lambda: _acked(client, size), 240, "the sync through the flaky link")
                await client.stop()
            finally:
                await proxy.stop()
        assert proxy.cuts >= 5, proxy.cuts
        await _exactly(store, "qinglian", size)
    finally:
        await store.close()


async def test_listen_port_zero_prints_the_address(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(  # noqa: ASYNC220 - the server under test, started once
        [sys.executable, "-m", "qinglian.cli", "central", "run", "--db", f"sqlite:///{tmp_path / 'c.db'}",
         "--listen", "127.0.0.1:0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert "listening on http://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])
        assert port != 0
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
