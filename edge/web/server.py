"""Serving the console inside the edge agent's process, with uvicorn on the agent's own event loop.

    agent = await EdgeAgent.open(config)
    await agent.start()
    console = await start_console(agent)      # config.web.listen; port 0 picks a free one
    print(console.url)
    ...
    await console.close()
    await agent.close()

The socket is bound before uvicorn starts, so a busy port is a clear error at
once and ``console.url`` is the real address. Signals stay with the agent
(``qinglian edge run`` handles SIGINT/SIGTERM and closes the console first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import uvicorn

from edge.agent import EdgeAgent
from edge.kernel.errors import ConfigError
from edge.kernel.websettings import WebSettings
from edge.notify.base import Backend
from edge.notify.notifier import Notifier
from edge.notify.robots import DingTalkRobot, JsonWebhook, WeComRobot
from edge.notify.webpush import VapidKeys, WebPushBackend
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console, SimControl
from edge.web.store import WebStore

log = logging.getLogger("edge.web")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the agent's process owns SIGINT/SIGTERM


@dataclass
class ConsoleServer:
    console: Console
    notifier: Notifier
    ledger: LedgerReader
    server: _Server
    task: asyncio.Task[None]
    url: str
    host: str
    port: int

    async def close(self) -> None:
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 10)
        except (TimeoutError, Exception):
            self.task.cancel()
        await self.notifier.close()
        await self.ledger.close()
        await self.console.store.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it
    # every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"控制台无法监听 {host}:{port} cannot listen: {exc.strerror or exc}; 请在 [web] listen 换一个端口") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def make_backends(settings: WebSettings, agent: EdgeAgent, store: WebStore) -> tuple[list[Backend], VapidKeys | None]:
    backends: list[Backend] = []
    vapid: VapidKeys | None = None
    for b in settings.notify:
        if b.kind == "webpush":
            vapid = vapid or VapidKeys.load_or_create(agent.config.data_dir)
            backends.append(WebPushBackend(b, vapid, store))
        elif b.kind == "dingtalk":
            backends.append(DingTalkRobot(b))
        elif b.kind == "wecom":
            backends.append(WeComRobot(b))
        elif b.kind == "webhook":
            backends.append(JsonWebhook(b))
    return backends, vapid


async def start_console(
    agent: EdgeAgent, settings: WebSettings | None = None, sim: Any = None, log_level: str = "warning"
) -> ConsoleServer:
    """Serve the console for ``agent`` (``sim``: a hostsim ``SimBoard`` for the demo's press button)."""
    settings = settings or agent.config.web
    sock = _bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    store = await WebStore.open(agent.config.data_dir)
    try:
        console = Console(agent, store, settings, SimControl(sim, agent) if sim is not None else None)
        backends, vapid = make_backends(settings, agent, store)
        console.vapid_public_key = vapid.public_key_b64 if vapid else None
        notifier = Notifier(agent, store, backends, settings, lambda: settings.public_url or url)
        console.notifier = notifier
        ledger = LedgerReader(agent.config.data_dir)
        app = create_app(console, ledger)
        # X-Forwarded-For/-Proto only from the proxies the config names: anyone else could pick the address
        # the login limits count against, a fresh one for every guess.
        proxies = [str(network) for network in settings.trusted_proxies]
        config = uvicorn.Config(
            app, log_level=log_level, access_log=False, lifespan="off", proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None, server_header=False, timeout_graceful_shutdown=3,
            # uvicorn's 5 s default closes idle keep-alive connections just as a phone (or a browser test) reuses
            # one: the request then dies with ECONNRESET. Stay open longer than clients sit idle between clicks.
            timeout_keep_alive=75,
        )  # fmt: skip
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="web console")
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the console stopped while starting")
            await asyncio.sleep(0.01)
        notifier.start()
    except BaseException:
        sock.close()
        await store.close()
        raise
    log.info("控制台 console at %s", url)
    return ConsoleServer(console, notifier, ledger, server, task, url, host, port)
