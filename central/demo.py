"""A central store beside the demo's edge (``make demo``), so a newcomer sees both halves at once.

It runs in the demo's process on its own port, with its own data folder (``DATA/central``: the SQLite database
and the decision log), enrols the demo's edge with its ledger key, and keeps a read-only supervisor token for
the whole county in ``DATA/central/supervisor-token`` (0600; printed at every start). The edge is configured to
sync to it and to pin its decision log's key, so a decision taken at the central reaches the village.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from central.accounts.demo import DemoSite, ensure_demo_accounts
from central.accounts.store import AccountStore
from central.app import create_app
from central.decisions.log import DecisionLog
from central.modules import CENTRAL_PARTS
from central.store import CentralStore
from edge.ledger.private import open_private, private_dir

TOKEN_FILE = "supervisor-token"
#: The central's usual port (``qinglian central run``'s default), so the demo's central is where a reader expects.
DEMO_PORT = 8700
#: Where the demo's village sits, for the central's scopes.
TOWNSHIP, COUNTY = "河上镇", "萧山区"


@dataclass
class DemoCentral:
    url: str
    edge_id: str  # the demo's village
    token: str  # a read-only supervisor token over every village
    public_key: str  # the decision log's, as the edge pins it
    store: CentralStore
    decisions: DecisionLog
    _server: uvicorn.Server
    _task: asyncio.Task[None]

    async def add_demo_accounts(self, password: str) -> None:
        """The demo's officers, administrator, supplier and bank (central/accounts/demo.py), with the edge demo's
        password, so one password opens both halves."""
        await ensure_demo_accounts(AccountStore(self.store.db), COUNTY, TOWNSHIP, password)

    async def seed(
        self, password: str, village: Callable[[], Awaitable[None]], sync: Callable[[], Awaitable[object]]
    ) -> None:
        """Both halves' sample data, in the order the path runs, so what the central shows of the village is what
        the village sent up and what the village shows from the central came down signed: the village's part demos
        (``village``), a sync (its demands go up), the central parts' demo hooks (the township's review, bids, an
        award: decisions in the central's log), a sync (their documents come down), and the village's demos once
        more (each carries on from what arrived); then one more such round, for the steps that answer what came
        down (the village reveals its value for a draw the township fixed, and the township draws). Every hook
        adds nothing on a second pass."""
        site = DemoSite(self.store, self.decisions, COUNTY, TOWNSHIP, self.edge_id, password)
        await village()
        for _ in range(2):
            await sync()
            for part in CENTRAL_PARTS:
                if part.demo is not None:
                    await part.demo(site)
            await sync()
            await village()

    async def close(self) -> None:
        self._server.should_exit = True
        await self._task
        await self.decisions.close()
        await self.store.close()


async def start_demo_central(
    folder: Path, edge_id: str, village: str, edge_key_pem: str, port: int = DEMO_PORT
) -> DemoCentral:
    """Open the demo's central store in ``folder``, enrol the edge, and serve it on 127.0.0.1:``port`` (any free
    port when that one is taken)."""
    private_dir(folder)
    store = await CentralStore.open(f"sqlite:///{folder / 'central.sqlite3'}")
    try:
        decisions = await DecisionLog.open(folder, store.db)
    except BaseException:
        await store.close()
        raise
    try:
        await store.enrol_edge(edge_id, village, TOWNSHIP, COUNTY, edge_key_pem)  # again each run: the same key
        token_path = folder / TOKEN_FILE
        if token_path.exists():
            token = token_path.read_text(encoding="utf-8").strip()
        else:
            token = await store.issue_token("all", "演示督查")
            with open_private(token_path, "w") as f:
                f.write(token + "\n")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # the usual port is taken (another central, another demo): any free one
            sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        config = uvicorn.Config(create_app(store, decisions=decisions, parts=CENTRAL_PARTS), log_level="warning", access_log=False,
                                timeout_keep_alive=75)  # fmt: skip (lifespan on: the parts' timer runs in the demo too)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="demo central store")
        while not server.started:
            if task.done():
                await task  # raises what stopped it
                raise RuntimeError("中心库未能启动 the central store did not start")
            await asyncio.sleep(0.05)
    except BaseException:
        await decisions.close()
        await store.close()
        raise
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return DemoCentral(url, edge_id, token, decisions.public_key()["public_key"], store, decisions, server, task)
