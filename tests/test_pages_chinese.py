"""Every page a village user sees is Chinese: the demo console, seeded as ``qinglian demo --serve`` seeds it (its
accounts, every part's demo, the central's rounds through a sync), crawled as each demo account.

In process (the console through httpx's ASGI transport, the central on a free local port for the agent's sync),
without the simulated board (the device page shows it offline, in the same words). A visitor without an account
and each demo account follow the same-origin links of every HTML page they reach, breadth first (no forms
posted, no downloads); a run of three or more Latin letters in what a reader sees (text, title, placeholder,
alt, a button's value) fails the test, unless it is on the short allow-list below, each entry with its reason.
"""

from __future__ import annotations

import getpass
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from web_support import Api

from central.demo import start_demo_central
from edge.agent import EdgeAgent
from edge.demo import DEVICE_NAME, demo_config, demo_release
from edge.kernel.config import CentralSettings, load_config
from edge.ledger.keys import load_or_create_signing_key, public_key_pem
from edge.ledger.private import open_private
from edge.modules import SECTIONS
from edge.modules.whistleblower.demo import ROSTER
from edge.seal.keystore import DeviceIdentity
from edge.web.app import create_app
from edge.web.demo import DEMO_ACCOUNTS, DEMO_EDGE_ID, ensure_accounts
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash

MAX_PAGES = 120  # per account: the demo has about 75; a cap keeps a link loop from running on
ORIGIN = "http://console.test"
LATIN = re.compile(r"[A-Za-z]{3,}")
#: Links not followed: leaving the session, and what is no page (downloads, images, the API's JSON).
SKIP = re.compile(r"^/(logout|api/|static/)|\.(csv|xlsx|pdf|png|jpe?g|json|zip|txt|js|webmanifest)$|/photos/", re.I)
#: Pages the same for every account that may open them and slow to make (the printed sign-in sheet draws a QR
#: code for each of its 240 households): read by the first account only, to keep the test short.
ONCE = re.compile(r"^/household_assembly/[^/]+/sheet$")
#: Where a visitor without an account starts: the login, and the public pages the village's notices point to.
PUBLIC = ("/", "/board", "/whistleblower/report", "/whistleblower/follow")
USERNAMES = sorted({a[0] for a in DEMO_ACCOUNTS} | {member[1] for member in ROSTER} | {getpass.getuser()})

#: What may be Latin letters on a village user's page, each with why; everything else must be Chinese.
ALLOWED: tuple[tuple[str, str], ...] = (
    (r"\b[A-Z]{2,4}-[0-9A-Za-z-]*", "a record's id as stored (CG-00002, SR-000001, CDT-萧山区-2026-11, a device's QL-…)"),
    (r"\b(?:" + "|".join(USERNAMES) + r")\b", "a console username (the demo's accounts, the whistle station's roster) "
     "or the host's operator (本机操作员 root): the name one logs in with"),
    (r"\b(?:PDF|XLSX|CSV|JPE?G|PNG|Excel)\b|\.(?:pdf|xlsx|csv|jpe?g|png)\b",
     "a file type, or a file's name as uploaded"),
    (rf"\b{re.escape(DEVICE_NAME)}\b", "the device's name, as the village named it in edge.toml"),
    (r"\bLED\b", "written so in Chinese too (LED 路灯), in the demo's purchase"),
    (r"\b[0-9a-f]{8,}\b", "a hash or key fragment (hex), shown for checking"),
    (r"\btesseract\b", "the OCR engine's name, where a reading is explained"),
    (r"\bqinglian [a-z-]+(?: [a-z-]+)*(?: --?[a-z-]+(?:[ =][^\s<]+)?)*",
     "a command anyone may run to recompute a decision"),
    (r"\bhttps?://\S+|(?<![\w/])(?:/[a-z_]+)+/?(?![\w/])", "an address, or a path of this console to tell someone"),
)


class _Visible(HTMLParser):
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


def english(text: str) -> list[tuple[str, str]]:
    """The runs of Latin letters in ``text`` that no allow-list entry covers, each with a bit of its context."""
    masked = text
    for pattern, _ in ALLOWED:
        masked = re.sub(pattern, lambda m: " " * len(m.group(0)), masked)
    return [
        (m.group(0), text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")) for m in LATIN.finditer(masked)
    ]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[httpx.ASGITransport, str]]:
    """The demo's console (its ASGI transport) with all of its sample data, and the demo accounts' password: the
    steps of edge/web/demo.py's serve_demo, but no board, and the console in process."""
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
        yield httpx.ASGITransport(app=create_app(Console(agent, store, config.web), ledger)), password


async def crawl(
    transport: httpx.ASGITransport, username: str | None, password: str, once: set[str]
) -> dict[str, list[tuple[str, str]]]:
    """The English on every page ``username`` (None: a visitor, not logged in) reaches from the start page by
    links, breadth first: page -> [(token, context)]. ``once``: the ONCE pages read already (added to)."""
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, follow_redirects=True) as client:
        if username is not None:
            assert (await Api(client).login(username, password)).status_code == 200, username
        starts = ("/",) if username is not None else PUBLIC
        seen, queue = set(starts), deque(starts)
        found: dict[str, list[tuple[str, str]]] = {}  # every page read, with what it shows in English
        while queue and len(found) < MAX_PAGES:
            page = await client.get(queue.popleft())
            path = page.url.raw_path.decode()  # where a redirect led
            if path in found or "text/html" not in page.headers.get("content-type", ""):
                continue
            assert page.status_code < 500, (username, path, page.text[-2000:])
            shown = _Visible()
            shown.feed(page.text)
            # each page ends in 退出登录 <username>: say <账号> instead, so the accounts that saw a word group together
            words = english("\n".join(shown.text))
            found[path] = [(t, context.replace(username, "<账号>") if username else context) for t, context in words]
            for href in shown.links:
                url = urlsplit(urljoin(ORIGIN + path, href))
                target = url.path + (f"?{url.query}" if url.query else "")
                elsewhere = f"{url.scheme}://{url.netloc}" != ORIGIN
                if elsewhere or SKIP.search(url.path) or target in seen or target in once:
                    continue
                seen.add(target)
                if ONCE.match(url.path):
                    once.add(target)
                queue.append(target)
        return found


async def test_every_page_of_the_demo_console_is_chinese_to_everyone(demo: tuple[httpx.ASGITransport, str]) -> None:
    transport, password = demo
    once: set[str] = set()
    english_on: dict[tuple[str, str, str], list[str]] = {}  # (page, token, context) -> the accounts that saw it
    for username in (None, *(a[0] for a in DEMO_ACCOUNTS)):
        pages = await crawl(transport, username, password, once)
        assert len(pages) > 3, (username, list(pages))  # it logged in and followed links
        for path, tokens in pages.items():
            for token, context in tokens:
                english_on.setdefault((path, token, context), []).append(username or "未登录访客")
    if english_on:
        lines = [f"{page}: {word!r} in …{context}… (seen by {'、'.join(who)})"
                 for (page, word, context), who in english_on.items()]
        pytest.fail(f"{len(lines)} English word(s) on pages a village user sees:\n" + "\n".join(lines), pytrace=False)
