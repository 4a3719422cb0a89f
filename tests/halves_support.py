"""Both halves for a path's browser test: the central (its store, decision log and app on a free port, its clock
the test's) and any number of villages (agent, console, and a sync client talking to the central's own app), all
on one event loop of their own thread while Playwright's sync API holds the test's.

A test keeps only what is its own: how it seeds the central (``prepare``) and how it opens, enrols and seeds each
village (:class:`VillageSetup`). The village syncs only when the test says so (:meth:`Halves.sync`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from browser_support import on_own_loop, phone
from central_accounts_support import PASSWORD as CENTRAL_PASSWORD
from central_accounts_support import Central, Clock
from playwright.sync_api import Browser, Page

from central.app import create_app
from central.contract import CentralPart
from central.decisions.log import DecisionLog
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.sync import SyncClient
from edge.kernel.websettings import WebSettings
from edge.ledger import Entry
from edge.web.server import start_console


@dataclass(frozen=True)
class VillageSetup:
    """How one village joins: ``open`` opens its agent (configured to trust the decision key it is given), enrols
    it at the central's store and seeds its accounts; the sync takes down ``document_kinds``."""

    open: Callable[[CentralStore, str], Awaitable[EdgeAgent]]
    document_kinds: Collection[str]


@dataclass(frozen=True)
class Village:
    agent: EdgeAgent
    console: str  # its console's address
    sync_client: SyncClient


@dataclass(frozen=True)
class Halves:
    central: str  # the central's address
    villages: dict[str, Village]  # edge id -> the village
    clock: Clock  # the central's
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a step on the halves' own event loop (the agents and the central belong to it)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def sync(self, edge_id: str) -> Any:
        """One sync of that village with the central, up and down."""
        return self.run(self.villages[edge_id].sync_client.sync_once())


@asynccontextmanager
async def on_free_port(app: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a free local port (its address), until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    # A keep-alive longer than the browser's, so Chromium never reuses a connection the server is closing.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=75))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving


async def _village(stack: AsyncExitStack, central: Central, key: str, setup: VillageSetup, edge_id: str) -> Village:
    agent = await setup.open(central.store, key)
    stack.push_async_callback(agent.close)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", edge_id, transport=httpx.ASGITransport(app=central.app),
                        record=record, decision_key=key, document_kinds=list(setup.document_kinds))  # fmt: skip
    stack.push_async_callback(client.stop)
    console = await start_console(agent, WebSettings(enabled=True, port=0))
    stack.push_async_callback(console.close)
    return Village(agent, console.url, client)


@asynccontextmanager
async def _halves(
    root: Path,
    clock: Clock,
    parts: Sequence[CentralPart],
    prepare: Callable[[Central, DecisionLog], Awaitable[None]],
    villages: Mapping[str, VillageSetup],
) -> AsyncIterator[Halves]:
    async with AsyncExitStack() as stack:
        store = await CentralStore.open(f"sqlite:///{root / 'central.sqlite3'}")
        stack.push_async_callback(store.close)
        decisions = await DecisionLog.open(root / "central", store.db)
        stack.push_async_callback(decisions.close)
        app = create_app(store, parts=tuple(parts), decisions=decisions)
        app.state.shell.clock = clock
        central = Central(store, app, clock)
        key = decisions.public_key()["public_key"]
        joined = {edge_id: await _village(stack, central, key, setup, edge_id) for edge_id, setup in villages.items()}
        await prepare(central, decisions)  # after the villages are enrolled: what it publishes is addressed to them
        url = await stack.enter_async_context(on_free_port(app))
        yield Halves(url, joined, clock, asyncio.get_running_loop())


@contextmanager
def both_halves(
    root: Path,
    clock: Clock,
    parts: Sequence[CentralPart],
    prepare: Callable[[Central, DecisionLog], Awaitable[None]],
    villages: Mapping[str, VillageSetup],
) -> Iterator[Halves]:
    """The central in ``root`` with ``parts`` on the test's ``clock`` and ``villages`` (edge id -> its setup), the
    central then seeded by ``prepare``, served until the block ends; a failure while starting is raised here."""
    with on_own_loop(lambda: _halves(root, clock, parts, prepare, villages), "village-and-central") as halves:
        yield halves


def central_phone(browser: Browser, url: str, username: str) -> Page:
    """A phone logged in at the central with the central's test password."""
    return phone(browser, url, username, CENTRAL_PASSWORD)
