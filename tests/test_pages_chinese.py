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
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from crawl_support import Demo, Site, assert_chinese_to_everyone, seeded_demo
from web_support import Api

from edge.demo import DEVICE_NAME
from edge.modules.whistleblower.demo import ROSTER
from edge.web.demo import DEMO_ACCOUNTS

ORIGIN = "http://console.test"
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



@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with seeded_demo(tmp_path) as seeded:
        yield seeded


async def test_every_page_of_the_demo_console_is_chinese_to_everyone(demo: Demo) -> None:
    async def login(client: httpx.AsyncClient, username: str) -> None:
        assert (await Api(client).login(username, demo.password)).status_code == 200, username

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=demo.console, base_url=ORIGIN, follow_redirects=True)

    site = Site(client, ORIGIN, login, PUBLIC, ALLOWED, SKIP, ONCE, max_pages=120)  # the demo has about 75 pages
    await assert_chinese_to_everyone(site, [a[0] for a in DEMO_ACCOUNTS], "a village user")
