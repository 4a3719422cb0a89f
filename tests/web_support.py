"""Shared pieces of the web console tests: local HTTP receivers (robots, webhooks, a push service), checks,
accounts to log in with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from edge_support import SMALL

from edge.agent import EdgeAgent
from edge.kernel.accounts import host_operator
from edge.web.accounts import check_account, create_account
from edge.web.demo import sample_pdf
from edge.web.store import Account, WebStore

PASSWORD = "password-123"


async def seed_account(
    store: WebStore, agent: EdgeAgent, username: str, roles: Sequence[str], person: str | None,
    villages: Sequence[str] | None = None, password: str = PASSWORD,
) -> Account:  # fmt: skip
    """An account whose owner has set their own password (as the demo's are), so it may approve at once;
    recorded in ``agent``'s ledger as made by the host's operator."""
    new = check_account(agent.config, username, None, roles, person, villages)
    return await create_account(store, agent.config, new, password, host_operator(), agent.record_account, own_password=True)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Received], tuple[int, bytes]]


@dataclass
class Receiver:
    """A local HTTP server on 127.0.0.1 (port 0) that records every POST and answers with ``handler``."""

    handler: Handler
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Receiver:
        outer = self

        class _H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                item = Received(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                outer.received.append(item)
                status, answer = outer.handler(item)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.received)} requests, expected {count}")
            time.sleep(0.02)
        return self.received


def dingtalk_signature_ok(item: Received, secret: str, max_age_s: float = 3600) -> bool:
    """DingTalk's check of a signed robot call, written from its documentation (not from the code under test)."""
    try:
        timestamp = item.query["timestamp"][0]
        sign = item.query["sign"][0]  # parse_qs has URL-decoded it: the base64 text
    except (KeyError, IndexError):
        return False
    if abs(time.time() * 1000 - int(timestamp)) > max_age_s * 1000:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(sign, expected)


def dingtalk_robot(secret: str) -> Handler:
    def handle(item: Received) -> tuple[int, bytes]:
        if not dingtalk_signature_ok(item, secret):
            return 200, json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode()
        return 200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode()

    return handle


def failing_then_ok(failures: int, status: int = 503) -> Handler:
    """Fails the first ``failures`` calls for each request id (from the JSON body), then answers 200."""
    counts: dict[str, int] = {}

    def handle(item: Received) -> tuple[int, bytes]:
        try:
            key = str(json.loads(item.body).get("request_id"))
        except ValueError:
            key = ""
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= failures:
            return status, b'{"error": "try later"}'
        return 200, b'{"ok": true}'

    return handle


# -- the console's JSON API, in-process --------------------------------------------------------------------


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        r = await self.client.post("/api/login", json={"username": username, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers={"X-CSRF-Token": self.csrf}, **kw)

    async def file(self, matter: str, amount_fen: int = SMALL, name: str = "doc.pdf", data: bytes | None = None) -> httpx.Response:
        content = data if data is not None else sample_pdf("t", [matter.encode().hex()[:30], str(time.monotonic_ns())])
        return await self.post(
            "/api/requests",
            data={"matter": matter, "seal": "official", "presses": "1", "amount": f"{amount_fen / 100:.2f}"},
            files={"document": (name, content, "application/pdf")},
        )
