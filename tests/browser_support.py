"""The console on a phone in Debian's Chromium, as every part's browser test drives it.

The agent and its console run on an event loop of their own thread (:func:`on_own_loop`), because Playwright's
sync API holds the test's; :class:`Served` hands a step to that loop. A phone is a 360-px touch context logged in
as one account.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS, PASSWORD

from edge.agent import EdgeAgent
from edge.kernel.websettings import WebSettings
from edge.web.server import start_console

PHONE: dict[str, Any] = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
TIMEOUT_MS = 20_000
T = TypeVar("T")


@dataclass(frozen=True)
class Served:
    url: str
    loop: asyncio.AbstractEventLoop
    agent: EdgeAgent

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a step on the console's own event loop (the agent belongs to it)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


@contextmanager
def on_own_loop(serving: Callable[[], AbstractAsyncContextManager[T]], name: str, timeout: float = 120) -> Iterator[T]:
    """What ``serving()`` yields, entered on a fresh event loop of a thread named ``name`` and left when the block
    ends. A failure on the way in is raised here, in the test's thread, instead of leaving it waiting for nothing."""
    ready: queue.Queue[tuple[T] | BaseException] = queue.Queue()
    stopped: list[Callable[[], object]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with serving() as got:
            loop = asyncio.get_running_loop()
            stopped.append(lambda: loop.call_soon_threadsafe(stop.set))
            ready.put((got,))
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which would otherwise wait for nothing
            ready.put(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    try:
        got = ready.get(timeout=timeout)
        if isinstance(got, BaseException):
            raise got
        yield got[0]
    finally:
        for stop in stopped:
            stop()
        thread.join(30)


@contextmanager
def serve_console(
    open_agent: Callable[[], Awaitable[EdgeAgent]], prepare: Callable[[EdgeAgent], Awaitable[None]] | None = None
) -> Iterator[Served]:
    """The agent ``open_agent`` opens, readied by ``prepare`` (accounts, sample rows), with its console on a free
    port, until the block ends."""

    @asynccontextmanager
    async def serving() -> AsyncIterator[Served]:
        agent = await open_agent()
        try:
            if prepare is not None:
                await prepare(agent)
            server = await start_console(agent, WebSettings(enabled=True, port=0))
            try:
                yield Served(server.url, asyncio.get_running_loop(), agent)
            finally:
                await server.close()
        finally:
            await agent.close()

    with on_own_loop(serving, "console", timeout=60) as served:
        yield served


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium: a promised part, so its absence fails the test (never a skip)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM}): apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def phone(browser: Browser, url: str, username: str | None = None, password: str = PASSWORD, **options: Any) -> Page:
    """A new phone (its own cookies), logged in as ``username`` unless that is None."""
    context = browser.new_context(**{**PHONE, **options})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    if username is not None:
        page.goto(url + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    return page


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"wider than the phone: {page.url}"


def flash_text(page: Page) -> str:
    return page.locator("p.flash").first.inner_text()
