"""The shell's context: what every router of the console shares, handed to each part's router.

The console is one FastAPI application; the shell's routers (login, ledger, inbox, accounts, notice
board) and every registered part's router (the seal's requests and devices, a module's pages) take
the logged-in person, check CSRF and render pages through one :class:`Shell`, so a part writes only
its own routes and templates and gets sessions, the error envelope and the nav for nothing.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from pydantic import BaseModel

from edge.kernel import exports
from edge.kernel.accounts import ROLE_NAMES, ROLES
from edge.kernel.contract import NavItem, Part
from edge.kernel.fmt import yuan
from edge.ledger.localtime import SHANGHAI, local_time
from edge.web import ledgerview as L
from edge.web.service import Console, Principal
from edge.web.store import Session

HERE = Path(__file__).parent
# The shell's own tabs: the inbox across every part first, then the parts' tabs, then these.
INBOX_NAV = NavItem("/inbox", "待审批", ("approver",))
SHELL_NAV = (NavItem("/ledger", "台账", ("supervisor", "admin")), NavItem("/admin/users", "账号", ("admin",)), NavItem("/account", "我的"))
COOKIE = "qinglian_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


class ErrorOut(BaseModel):
    code: str
    message: str
    type: str = "EdgeError"


class ErrorEnvelope(BaseModel):
    ok: bool = False
    error: ErrorOut


class OkOut(BaseModel):
    ok: bool = True


# The error answers every /api operation declares (its ``responses=``), in the one envelope.
API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope}, 403: {"model": ErrorEnvelope},
    404: {"model": ErrorEnvelope}, 409: {"model": ErrorEnvelope},
    422: {"model": ErrorEnvelope, "description": "the request does not fit this description (bad JSON, a missing field)"},
}  # fmt: skip


def attachment(filename: str, shown_name: str) -> dict[str, str]:
    """The Content-Disposition of a download: an ASCII name for old clients, the Chinese one for the rest."""
    return {"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(shown_name)}"}


class Shell:
    """Sessions, CSRF, the logged-in principal, rendering and the ledger's helpers, for every router.

    ``parts``: the registered parts, in their order: their templates folders come after the shell's (a part's
    page extends ``base.html``, and cannot replace a shell template by accident of order); their nav items
    stand between the shell's inbox and its ledger, accounts and own-account tabs.
    """

    def __init__(self, console: Console, ledger: L.LedgerReader, parts: Sequence[Part]) -> None:
        self.console = console
        self.store = console.store
        self.settings = console.settings
        self.ledger = ledger
        self.parts = tuple(parts)
        self.nav = (INBOX_NAV, *(item for part in self.parts for item in part.nav), *SHELL_NAV)
        folders = [HERE / "templates", *(part.templates for part in self.parts if part.templates is not None)]
        env = Environment(loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]), autoescape=True)
        self.templates = Jinja2Templates(env=env)
        env.globals.update(
            ROLE_NAMES=ROLE_NAMES, ROLES=ROLES, KIND_GROUPS=console.agent.db.parts.groups(), village=console.config.village,
            device_choices=[d.name for d in console.config.devices], person_name=console.name_of,
            clock=lambda t: datetime.fromtimestamp(t, SHANGHAI).strftime("%H:%M:%S") if t else "-",
        )  # fmt: skip
        env.filters.update(local_time=local_time, yuan=yuan, anomaly_name=L.anomaly_name, kind_name=self.kind_name)

    # -- sessions, CSRF ----------------------------------------------------------------------------

    async def session_of(self, request: Request) -> Session | None:
        try:
            return request.state.session  # type: ignore[no-any-return]  # looked up once per request
        except AttributeError:
            pass
        token = request.cookies.get(COOKIE)
        session = None
        if token:
            session = await self.store.session(token, self.settings.session_idle_s, self.settings.session_max_s)
        request.state.session = session
        return session

    async def principal_of(self, request: Request) -> Principal:
        session = await self.session_of(request)
        if session is None or session.user is None:
            raise LoginRequired()
        return self.console.principal(session.user)

    async def check_csrf(self, request: Request, session: Session | None, expected: str | None = None) -> None:
        """The request carries the session's CSRF token (or ``expected``: the login form's cookie)."""
        origin = request.headers.get("origin")  # browsers send it on POSTs: another site's form is refused outright
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise CsrfFailed()
        expected = session.csrf if session is not None else expected
        if expected is None:
            raise CsrfFailed()
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not token or not hmac.compare_digest(token.encode(), expected.encode()):
            raise CsrfFailed()

    async def acting(self, request: Request) -> Principal:
        """The logged-in principal of a state-changing request, after the CSRF check."""
        session = await self.session_of(request)
        if session is None or session.user is None:
            raise LoginRequired()
        await self.check_csrf(request, session)
        return self.console.principal(session.user)

    def secure_cookie(self, request: Request) -> bool:
        if self.settings.secure_cookies == "always":
            return True
        if self.settings.secure_cookies == "never":
            return False
        return request.url.scheme == "https"

    def set_cookie(self, request: Request, response: Response, token: str, persistent: bool) -> None:
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="lax", secure=self.secure_cookie(request), path="/",
            max_age=self.settings.session_max_s if persistent else None,
        )  # fmt: skip

    async def flash(self, request: Request, kind: str, message: str) -> None:
        session = await self.session_of(request)
        if session is not None:
            await self.store.set_flash(session.token_hash, kind, message)

    @staticmethod
    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    # -- pages ---------------------------------------------------------------------------------------

    def nav_for(self, p: Principal | None) -> list[NavItem]:
        """The tabs ``p`` sees: an item with roles shows to a holder of any of them, one without to everyone
        with a role here."""
        if p is None or not p.roles:
            return []
        return [item for item in self.nav if not item.roles or p.roles.intersection(item.roles)]

    async def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A full page: the principal, its nav, the CSRF token and the flash message of its session."""
        session = await self.session_of(request)
        p = self.console.principal(session.user) if session and session.user else None
        shown_flash = await self.store.pop_flash(session.token_hash) if session else None
        context.setdefault("error", None)
        return self.templates.TemplateResponse(
            request, name,
            {"p": p, "nav": self.nav_for(p), "csrf": session.csrf if session else "", "flash": shown_flash,
             "sim": self.console.sim is not None, "path": request.url.path,
             "storage_warning": self.console.storage_warning() if p and p.is_admin else None, **context},
            status_code=status_code,
        )  # fmt: skip

    async def fragment(self, request: Request, p: Principal, name: str, **context: Any) -> HTMLResponse:
        """A piece of a page that the page reloads in place (live status): no flash is taken."""
        session = await self.session_of(request)
        return self.templates.TemplateResponse(
            request, name, {"p": p, "sim": self.console.sim is not None, "csrf": session.csrf if session else "", **context}
        )

    @staticmethod
    def export(name: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], ext: str, cache: str = "no-store") -> Response:
        """A list as a download through the kernel's one export helper: ``ext`` csv (UTF-8 with BOM) or xlsx;
        ``name`` the ASCII file name, ``title`` the Chinese one (each with today's date)."""
        day = time.strftime("%Y%m%d")
        made = exports.export_file(ext, f"{name}-{day}", title, columns, rows)
        headers = {**attachment(made.filename, f"{title}-{day}.{ext}"), "Cache-Control": cache}
        return Response(made.data, media_type=made.media_type, headers=headers)

    # -- the ledger, as every part's pages show it -------------------------------------------------------

    def kind_name(self, kind: str) -> str:
        """An entry kind's Chinese name, as the part that writes it declares it (``Part.kinds``)."""
        return self.console.agent.db.parts.kind_name(kind)

    async def failed_entries(self) -> dict[int, str]:
        """Ledger index → why the working state could not take that entry (edge/projection.py)."""
        return {a["entry"]: a["reason"] for a in await self.console.projection_anomalies()}

    def entry_out(self, entry: Any, names: dict[str, str], failed: dict[int, str] | None = None) -> dict[str, Any]:
        """One entry for the timeline; ``failed``: the entries the working state could not take, flagged as anomalies."""
        error = (failed or {}).get(entry.index)
        anomaly = entry.body.get("anomaly")
        return {
            "index": entry.index, "ts": entry.ts, "kind": entry.kind, "kind_name": self.kind_name(entry.kind),
            "summary": L.summary(entry, self.console.config, names, self.console.agent.db.parts), "body": entry.body, "hash": entry.hash.hex(),
            "anomaly": str(anomaly) if anomaly is not None else L.PROJECTION_FAILED if error else None,
            "projection_error": error,
        }  # fmt: skip
