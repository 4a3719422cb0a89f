"""Shared pieces of the central accounts tests: the app over a store with a clock the test turns, a client that
logs in through the real form (CSRF token and all), and supplier or bank applications made through /register."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from central.accounts.store import AccountStore
from central.app import create_app
from central.store import CentralStore

PASSWORD = "qingshan-lushui-2024"  # not on the common list, contains no name
COUNTY, OTHER_COUNTY = "萧山区", "余杭区"
TOWNSHIP, OTHER_TOWNSHIP = "河上镇", "浦阳镇"
#: Real unified social credit codes (their check characters hold).
CODES = ("91350100M000100Y43", "91330100799655058B", "9144030071526726XG", "91110108551385082Q")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Central:
    store: CentralStore
    app: FastAPI
    clock: Clock

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.store.db, self.clock)

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://central")


@pytest_asyncio.fixture
async def central(store: CentralStore) -> AsyncIterator[Central]:
    clock = Clock()
    app = create_app(store)
    app.state.shell.clock = clock
    yield Central(store, app, clock)


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the form as a browser would: fetch it, post it with its CSRF token."""
    page = await client.get("/login")
    return await client.post("/login", data={"username": username, "password": password, "csrf": form_token(page)})


async def csrf_of(client: httpx.AsyncClient, path: str = "/work") -> str:
    """The session's CSRF token, read from a logged-in page's forms."""
    return form_token(await client.get(path))


async def staff(central: Central, username: str, role: str, scope: str, name: str = "测试员") -> None:
    """A staff account whose password is already its owner's (as if they had set it at their first login)."""
    await central.accounts.create_staff(username, name, role, scope, PASSWORD, "test", own_password=True)


def application(kind: str, username: str, code: str, county: str = COUNTY, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": kind, "username": username, "password": PASSWORD, "again": PASSWORD,
        "org_name": f"{username} 有限公司", "credit_code": code, "county": county, "contact_name": "王经理",
        "contact_phone": "13800001234", "categories": ["办公用品", "建材五金"] if kind == "supplier" else [],
    }  # fmt: skip
    data.update(extra)
    return data


async def apply(client: httpx.AsyncClient, data: dict[str, Any], licence: bytes = PNG,
                filename: str = "licence.png") -> httpx.Response:  # fmt: skip
    page = await client.get("/register")
    return await client.post(
        "/register", data={**data, "csrf": form_token(page)}, files={"licence": (filename, licence, "image/png")}
    )
