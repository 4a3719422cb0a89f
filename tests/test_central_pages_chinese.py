"""Every page of the central console is Chinese to each of its users: the central beside the demo's village, seeded
as ``qinglian demo --serve`` seeds it (the village's part demos synced up, the central parts' demo hooks, the
documents synced down, twice), crawled over HTTP on its own port as ``make demo`` serves it.

A visitor without an account (the login, supplier and bank registration, the decision log's public key, the
public tender announcements), each central demo account (township and county officer, administrator, supplier,
bank) and the read-only supervisor token follow the same-origin links of every HTML page they reach, breadth
first (no forms posted, no downloads); a run of three or more Latin letters in what a reader sees fails the test,
unless it is on the short allow-list below, each entry with its reason.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest
from central_accounts_support import form_token
from crawl_support import Allowed, Demo, Site, assert_chinese_to_everyone, seeded_demo

from central.accounts.demo import DEMO_CENTRAL_ACCOUNTS
from central.accounts.store import AccountStore
from central.modules.competitive_deposit.demo import NEIGHBOUR_CLERK
from central.store import Principal
from edge.demo import DEVICE_NAME
from edge.modules.whistleblower.demo import ROSTER
from edge.web.demo import DEMO_ACCOUNTS

SUPERVISOR = "演示督查"  # who logs in with the demo's supervisor token (central/demo.py), for the report
#: Links not followed: leaving the session, and what is no page (downloads, the licence scans, the API's JSON).
SKIP = re.compile(
    r"^/(logout|api/|static/|docs|redoc|openapi)|\.(csv|xlsx|pdf|png|jpe?g|json|zip|txt|js)$|/(licence|source)$", re.I
)
#: A ledger entry's page is the same for every account that may open it: read by the first account only, so each
#: of the demo's some 390 entries is read once (every kind, worded) and no account spends its cap on them alone.
ONCE = re.compile(r"^/edges/[^/]+/entries/[0-9]+$")
#: Where a visitor without an account starts: the login, registration, and what the central publishes to anyone.
PUBLIC = ("/login", "/register", "/central/pubkey", "/m/competitive_deposit/public")


def allowed(usernames: Iterable[str], edge_ids: Iterable[str]) -> Allowed:
    """What may be Latin letters on a central user's page, each with why; everything else must be Chinese.
    ``usernames``: every account the pages may name; ``edge_ids``: every village's edge as enrolled."""
    names = "|".join(map(re.escape, sorted(set(usernames))))
    edges = "|".join(map(re.escape, sorted(edge_ids)))
    return (
        (r"-----BEGIN PUBLIC KEY-----[^-]*-----END PUBLIC KEY-----|[A-Za-z0-9+/]{40,}={0,2}",
         "a public key (PEM or base64), shown to check signatures with or to pin"),
        (r"\b[A-Z]{2,4}-[0-9A-Za-z-]*", "a record's id as stored (XQ-00003, GC-00002, CDT-萧山区-2026-11, WB-2026-0004)"),
        (rf"\b(?:{names})\b", "a username (the central's accounts, the village's accounts and roster people, the "
         "host's operator): the name one logs in with, or a person the central knows only by id"),
        (rf"\b(?:{edges})\b", "a village's edge id as enrolled, beside the village's name"),
        (rf"\b{re.escape(DEVICE_NAME)}\b", "the seal device's name, as the village named it in edge.toml"),
        (r"\b(?:PDF|XLSX|CSV|JSON|JPE?G|PNG)\b|\.(?:pdf|xlsx|csv|jpe?g|png)\b",
         "a file type, or a file's name as uploaded"),
        (r"\bLED\b", "written so in Chinese too (LED 路灯灯头), in a supplier's catalogue"),
        (r"\bSHA-256\b|\bRFC 6962\b", "the hash's and the proof's standard, named where a reader may check them"),
        (r"\b[0-9a-f]{8,}\b", "a hash or key fragment (hex), shown for checking"),
        (r'\bedge\.toml\b|\[central\]|\bdecision_key = "', "the line a village's administrator copies into edge.toml"),
        (r"\b(?:county|township):|管理员填 all\b",
         "the scope an administrator types for a new account (the placeholder's example), as the CLI takes it"),
        (r"(?ms)^\{$.*?^\}$", "an entry or its inclusion proof as JSON (the ledger's own field names), shown whole so "
         "anyone can recompute its hash and check the proof offline"),
        (r"\bqinglian [a-z-]+(?: [a-z][a-z-]*)*(?: --?[a-z-]+(?:[ =][^\s<]+)?)*",
         "a command anyone may run to recompute a decision, open an encrypted clue, or issue a token"),
        (r"\bhttps?://\S+|(?<![\w/])(?:/[a-z_0-9]+)+/?(?![\w/])",
         "an address, or a path of this console to tell someone"),
    )


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with seeded_demo(tmp_path) as seeded:
        yield seeded


async def test_every_page_of_the_central_console_is_chinese_to_everyone(demo: Demo) -> None:
    central = demo.central

    async def login(client: httpx.AsyncClient, username: str) -> None:
        """Through the login form, as a browser: an account with its password, the supervisor with its token."""
        form = {"token": central.token} if username == SUPERVISOR else {"username": username, "password": demo.password}
        token = form_token(await client.get("/login"))
        page = await client.post("/login", data={**form, "csrf": token})
        assert page.status_code == 200 and page.url.path != "/login", (username, page.text[-1000:])

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=central.url, follow_redirects=True, timeout=30)

    people = [a.username for a in await AccountStore(central.store.db).list_accounts()]
    people += [a[0] for a in DEMO_ACCOUNTS] + [m[1] for m in ROSTER] + list(demo.config.people) + [getpass.getuser()]
    people.append(NEIGHBOUR_CLERK)
    edges = [e["edge_id"] for e in await central.store.edge_summaries(Principal("all", "*"))]
    site = Site(client, central.url, login, PUBLIC, allowed(people, edges), SKIP, ONCE, max_pages=600)
    accounts = [a[0] for a in DEMO_CENTRAL_ACCOUNTS]
    await assert_chinese_to_everyone(site, [*accounts, SUPERVISOR], "a central user")
