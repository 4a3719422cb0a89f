"""The Chinese-only page tests' common part: the demo as ``qinglian demo --serve`` seeds it (the village's console
and the central beside it), the text a reader sees on a page, the runs of Latin letters in it that an allow-list
does not cover, and a crawl of a console's same-origin links, breadth first, as a visitor and as each account.

Each test names its console (how to reach it, how to log in, where a visitor starts, what is no page) and its
allow-list, each entry with its reason; what is found is reported page by page, with the accounts that saw it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from central.demo import DemoCentral, start_demo_central
from edge.agent import EdgeAgent
from edge.demo import DEVICE_NAME, demo_config, demo_release
from edge.kernel.config import CentralSettings, EdgeConfig, load_config
from edge.ledger.keys import load_or_create_signing_key, public_key_pem
from edge.ledger.private import open_private
from edge.modules import SECTIONS
from edge.seal.keystore import DeviceIdentity
from edge.web.app import create_app
from edge.web.demo import DEMO_EDGE_ID, ensure_accounts
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash

LATIN = re.compile(r"[A-Za-z]{3,}")
#: (pattern, why it may be Latin letters): the Latin a page may show.
Allowed = tuple[tuple[str, str], ...]
#: (page, token, context) -> the accounts that saw it.
Findings = dict[tuple[str, str, str], list[str]]


@dataclass
class Demo:
    """The seeded demo: the village's console (its ASGI transport), the central beside it (serving on its port),
    the one password of every demo account, and the village's config."""

    console: httpx.ASGITransport
    central: DemoCentral
    password: str
    config: EdgeConfig  # the village's (its roster's people, whose ids the central shows)


@asynccontextmanager
async def seeded_demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """The demo with all of its sample data: the steps of edge/web/demo.py's serve_demo, but no board (the device
    page shows it offline, in the same words), and the village's console in process."""
    data = tmp_path / "demo"
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    built = demo_release(data)
    with open_private(data / "edge.toml", "w") as f:
        f.write(demo_config(ident.device_id, "socket://127.0.0.1:9"))  # no board: the device stays offline
    config = load_config(data / "edge.toml", SECTIONS)
    pem = public_key_pem(load_or_create_signing_key(config.data_dir).public_key()).decode()
    async with AsyncExitStack() as stack:
        central = await start_demo_central(data / "central", DEMO_EDGE_ID, config.village, pem, port=0)
        stack.push_async_callback(central.close)
        # syncs only when the seeding says so: an hour between the agent's own
        central_settings = CentralSettings(central.url, DEMO_EDGE_ID, 3600.0, decision_key=central.public_key)
        agent = await EdgeAgent.open(replace(config, central=central_settings))
        stack.push_async_callback(agent.close)
        password = await ensure_accounts(data, agent)
        await central.add_demo_accounts(password)
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE_NAME)
        await agent.allow_release(built.manifest)
        await agent.start()

        async def village() -> None:
            for part in agent.db.parts.parts:
                if part.demo is not None:
                    await part.demo(agent)

        assert agent.sync is not None
        await central.seed(password, village, agent.sync.sync_once)
        store = await WebStore.open(config.data_dir)
        stack.push_async_callback(store.close)
        ledger = LedgerReader(config.data_dir)
        stack.push_async_callback(ledger.close)
        console = httpx.ASGITransport(app=create_app(Console(agent, store, config.web), ledger))
        yield Demo(console, central, password, config)


class Visible(HTMLParser):
    """The text a reader sees on a page (and what a pointer or screen reader shows), and the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self._hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        values = dict(attrs)
        for name in ("title", "placeholder", "alt", "aria-label"):
            if values.get(name):
                self.text.append(str(values[name]))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.text.append(str(values["value"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.text.append(data.strip())


def english(text: str, allowed: Allowed) -> list[tuple[str, str]]:
    """The runs of Latin letters in ``text`` that no ``allowed`` entry covers, each with a bit of its context."""
    masked = text
    for pattern, _ in allowed:
        masked = re.sub(pattern, lambda m: " " * len(m.group(0)), masked)
    return [
        (m.group(0), text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")) for m in LATIN.finditer(masked)
    ]


@dataclass(frozen=True)
class Site:
    """A console to crawl: a new client to reach it (one per account), where it is, how one logs in, where
    a visitor without an account starts, what is no page to follow, and what may be Latin on its pages."""

    client: Callable[[], httpx.AsyncClient]  # follows redirects, its base_url the origin
    origin: str
    login: Callable[[httpx.AsyncClient, str], Awaitable[None]]  # logs the client in as the account, or fails
    public: tuple[str, ...]
    allowed: Allowed
    #: Links not followed (matched against a link's path): leaving the session, and what is no page.
    skip: re.Pattern[str]
    #: Pages the same for every account that may open them and slow to make: read by the first account only.
    once: re.Pattern[str] | None = None
    max_pages: int = 120  # per account: a cap keeps a link loop from running on


async def crawl(site: Site, username: str | None, once: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The English on every page ``username`` (None: a visitor, not logged in) reaches from the start page by
    links, breadth first: page -> [(token, context)]. ``once``: the ``site.once`` pages read already (added to)."""
    async with site.client() as client:
        if username is not None:
            await site.login(client, username)
        starts = ("/",) if username is not None else site.public
        seen, queue = set(starts), deque(starts)
        found: dict[str, list[tuple[str, str]]] = {}  # every page read, with what it shows in English
        while queue and len(found) < site.max_pages:
            page = await client.get(queue.popleft())
            path = page.url.raw_path.decode()  # where a redirect led
            if path in found or "text/html" not in page.headers.get("content-type", ""):
                continue
            assert page.status_code < 500, (username, path, page.text[-2000:])
            shown = Visible()
            shown.feed(page.text)
            # each page names who is logged in: say <账号> instead, so the accounts that saw a word group together
            words = english("\n".join(shown.text), site.allowed)
            found[path] = [(t, context.replace(username, "<账号>") if username else context) for t, context in words]
            for href in shown.links:
                url = urlsplit(urljoin(site.origin + path, href))
                target = url.path + (f"?{url.query}" if url.query else "")
                elsewhere = f"{url.scheme}://{url.netloc}" != site.origin
                if elsewhere or site.skip.search(url.path) or target in seen or target in once:
                    continue
                seen.add(target)
                if site.once is not None and site.once.match(url.path):
                    once.add(target)
                queue.append(target)
        return found


async def assert_chinese_to_everyone(site: Site, usernames: Iterable[str], audience: str) -> None:
    """Crawl ``site`` as a visitor and as each account; fail listing every English word with its page, context
    and the accounts that saw it (``audience``: who reads these pages, for the message)."""
    once: set[str] = set()
    english_on: Findings = {}
    for username in (None, *usernames):
        pages = await crawl(site, username, once)
        assert len(pages) > 3, (username, list(pages))  # it logged in and followed links
        for path, tokens in pages.items():
            for token, context in tokens:
                english_on.setdefault((path, token, context), []).append(username or "未登录访客")
    if english_on:
        lines = [f"{page}: {word!r} in …{context}… (seen by {'、'.join(who)})"
                 for (page, word, context), who in english_on.items()]  # fmt: skip
        pytest.fail(f"{len(lines)} English word(s) on pages {audience} sees:\n" + "\n".join(lines), pytrace=False)
