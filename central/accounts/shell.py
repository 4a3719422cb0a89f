"""The central shell: what the central's pages and every module's central router share (see central/contract.py).

A module's router is called with one :class:`CentralShell` and asks it who is behind a request
(:meth:`~CentralShell.principal_of`), whether they hold a role (:meth:`~CentralShell.require`), to check a form's
CSRF token (:meth:`~CentralShell.check_csrf`) and to render a page (:meth:`~CentralShell.render`, which gives every
template ``principal``; ``csrf_of(request)`` gives a form its token), so no module repeats any of it.

Who is behind a request: ``Authorization: Bearer <supervisor token>``; else the account of the session cookie;
else the supervisor token kept in its login cookie (read-only supervisors, as before accounts).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import State

from central.accounts import roles as R
from central.accounts.store import Account, AccountStore, Session
from central.contract import CentralPart, NavItem
from central.decisions.routes import decision_log
from central.store import CentralStore, Principal, Refusal
from edge.ledger import Entry

SESSION_COOKIE = "qinglian_session"  # an account's session (server-side)
SUPERVISOR_COOKIE = "qinglian_supervisor"  # a read-only supervisor token, as logged in before accounts
FORM_COOKIE = "qinglian_form"  # the CSRF token of a form shown before a login (login, registration)
CSRF_HEADER = "x-csrf-token"
_MISSING = object()


class LoginRequired(Exception):
    """A page asked for without a login: go to the login form."""


class GoTo(Exception):
    """A page the principal may not open, that has a page of theirs instead (an applicant: its status)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def account_principal(account: Account, approved: bool) -> Principal:
    """An account as the views' principal: an officer in its county or township, the administrator over all, a
    supplier or bank over itself alone, and, until its application is approved, only an applicant."""
    role = account.role if account.role not in R.ORG_ROLES or approved else R.APPLICANT
    return Principal(account.scope_level, account.scope_name, account.name, role, account.username)


def _forbidden() -> Refusal:
    return Refusal(403, "forbidden", "您的账号无权进行此操作 not allowed for your account")


@dataclass
class CentralShell:
    state: State  # the app's: its store is opened with the app's lifespan, after the routers are made
    templates: Jinja2Templates
    parts: Sequence[CentralPart]
    # Sessions and login counters are timed by this clock; a test sets its own (app.state.shell.clock).
    clock: Callable[[], float] = field(default=time.time, kw_only=True)
    form_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), kw_only=True)  # signs pre-login forms
    _accounts: AccountStore | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        # Every page, the central's own and the modules', gets the nav, the session's CSRF token and role names.
        self.templates.env.globals.update(nav_for=self.nav, csrf_of=self.csrf_of, ROLE_NAMES=R.ROLE_NAMES)

    @property
    def store(self) -> CentralStore:
        return self.state.store  # type: ignore[no-any-return]

    @property
    def accounts(self) -> AccountStore:
        if self._accounts is None or self._accounts.db is not self.store.db:
            self._accounts = AccountStore(self.store.db, lambda: self.clock())
        return self._accounts

    @staticmethod
    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    # -- who is behind a request ---------------------------------------------------------------

    async def session_of(self, request: Request) -> Session | None:
        if getattr(request.state, "session", _MISSING) is _MISSING:
            token = request.cookies.get(SESSION_COOKIE)
            request.state.session = await self.accounts.session(token) if token else None
        session: Session | None = request.state.session
        return session

    async def find_principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return await self.store.principal_for_token(header[7:].strip())
        session = await self.session_of(request)
        if session is not None:
            approved = True
            if session.account.role in R.ORG_ROLES:
                application = await self.accounts.application_of(session.account.username)
                approved = application is not None and application.status == "approved"
            return account_principal(session.account, approved)
        token = request.cookies.get(SUPERVISOR_COOKIE, "")
        return await self.store.principal_for_token(token) if token else None

    async def principal_of(self, request: Request) -> Principal:
        """The principal behind ``request``; a page without one goes to the login form, the API answers 401."""
        if getattr(request.state, "principal", None) is not None:
            found: Principal = request.state.principal
            return found
        who = await self.find_principal(request)
        if who is None:
            if request.url.path.startswith("/api/"):
                raise Refusal(401, "login_required", "需要登录或督查令牌 log in, or a supervisor token (Authorization: Bearer)")
            raise LoginRequired()
        request.state.principal = who
        return who

    async def require(self, request: Request, *roles: str) -> Principal:
        """The principal behind ``request`` if it holds one of ``roles`` (none given: any but an applicant). An
        applicant's page goes to its application status; anything else is refused with 403."""
        who = await self.principal_of(request)
        self._own_password_first(request)
        if who.role in roles or (not roles and who.role != R.APPLICANT):
            return who
        if who.role == R.APPLICANT and not request.url.path.startswith("/api/"):
            raise GoTo("/application")
        raise _forbidden()

    async def supervising(self, request: Request) -> Principal:
        """A principal who reads the villages' synced records (supervisor token, officer, administrator)."""
        who = await self.principal_of(request)
        self._own_password_first(request)
        if who.role in R.SUPERVISING:
            return who
        if not request.url.path.startswith("/api/"):
            raise GoTo("/application" if who.role == R.APPLICANT else "/work")
        raise _forbidden()

    @staticmethod
    def _own_password_first(request: Request) -> None:
        """An account whose password an administrator set does nothing before its owner sets their own."""
        session = getattr(request.state, "session", None)
        if isinstance(session, Session) and session.account.must_change_password:
            if request.url.path.startswith("/api/"):
                raise Refusal(403, "must_change_password", "请先在“我的账号”页设置自己的密码 set your own password first")
            raise GoTo("/account")

    # -- CSRF ----------------------------------------------------------------------------------

    async def check_csrf(self, request: Request, token: str | None = None) -> Session:
        """The session of a state-changing request whose CSRF token (the form's ``csrf`` field, passed here, or the
        X-CSRF-Token header) is the session's own; 403 otherwise. Forms after a login need an account's session."""
        session = await self.session_of(request)
        given = token if token is not None else request.headers.get(CSRF_HEADER, "")
        if session is None:
            if request.url.path.startswith("/api/"):
                raise Refusal(401, "login_required", "需要登录 log in first")
            raise LoginRequired()
        if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
            raise Refusal(403, "csrf", "页面已过期或来源不明，请刷新后重试 missing or wrong CSRF token")
        return session

    @staticmethod
    def csrf_of(request: Request) -> str:
        """The CSRF token of the request's session, for a page's forms ("" without a session)."""
        session = getattr(request.state, "session", None)
        return session.csrf if isinstance(session, Session) else ""

    def new_form_token(self) -> str:
        """A CSRF token for a form shown before a login: signed by this app, set as a cookie and a hidden field."""
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{hmac.new(self.form_key, nonce.encode(), hashlib.sha256).hexdigest()}"

    def form_token_ok(self, request: Request, field_value: str | None) -> bool:
        """The pre-login form's token: the cookie and the field are the same, and this app signed it."""
        cookie = request.cookies.get(FORM_COOKIE, "")
        nonce, _, mac = cookie.partition(".")
        expected = hmac.new(self.form_key, nonce.encode(), hashlib.sha256).hexdigest()
        return (
            bool(nonce)
            and hmac.compare_digest(mac.encode(), expected.encode())
            and hmac.compare_digest((field_value or "").encode(), cookie.encode())
        )

    # -- pages ---------------------------------------------------------------------------------

    def nav(self, who: Principal | None) -> list[NavItem]:
        """The parts' links this principal may follow."""
        if who is None or who.role == R.APPLICANT:
            return []
        return [item for part in self.parts for item in part.nav if not item.roles or who.role in item.roles]

    async def decide(self, kind: str, body: Mapping[str, Any], village: str | None = None, *, actor: str) -> Entry:
        """Record a decision in the central's decision log, and when it concerns a village (``village``: its edge
        id) queue its signed document for that edge (:meth:`central.decisions.log.DecisionLog.decide`)."""
        return await decision_log(self).decide(kind, body, village, actor=actor)

    async def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("principal", getattr(request.state, "principal", None))
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)
