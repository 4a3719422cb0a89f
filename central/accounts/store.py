"""Accounts, sessions, login counters and supplier/bank applications in the central database (SQLAlchemy Core,
one code path for SQLite and PostgreSQL, as central/store.py).

Passwords are scrypt hashes and obey the one password policy (:mod:`qinglian.passwords`); login attempts are
charged before a password is checked and back off by :mod:`qinglian.logins`, as on the edge. A session is a random
cookie token whose hash is stored with its own CSRF token; it ends when idle too long, when too old, when its
account is disabled or its password set anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from central.accounts import roles as R
from central.accounts.credit import normalise_credit_code
from central.accounts.tables import account_sessions, accounts, applications, login_failures
from central.configdocs import ConfigDocError, parse_scope
from central.db import Database, edges, upsert
from central.store import UNPLACED
from edge.ledger.entry import utc_now
from qinglian.logins import LoginLimit, login_delay, waiting
from qinglian.passwords import check_new_password, dummy_hash, hash_password, verify_password

SESSION_IDLE_S = 8 * 3600.0  # a working day
SESSION_MAX_S = 7 * 86400.0
TOUCH_EVERY_S = 60.0  # a session's last use is written at most this often (idle time is counted in hours)
LOGIN_BACKOFF_S, LOGIN_BACKOFF_MAX_S = 1.0, 300.0
FORGET_FAILURES_S = 3600.0
#: Failures allowed before the backoff: an account from one address, an account overall, one address.
LOGIN_MAX_FAILURES, LOGIN_ACCOUNT_MAX_FAILURES, LOGIN_IP_MAX_FAILURES = 5, 20, 30
#: Applications (each with a licence scan stored) one address may send before the same backoff: a form anyone can
#: post must not fill the database.
REGISTER_MAX_PER_ADDRESS = 5

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{6,18}[0-9]")
MAX_NAME_CHARS = 60
MAX_LICENCE_BYTES = 2 * 1024 * 1024
#: A licence scan is an image or a PDF, told by its first bytes (never by the name or the browser's word).
LICENCE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}
#: What a supplier may offer (一网采购 categories).
SUPPLIER_CATEGORIES = ("办公用品", "建材五金", "农资农具", "工程施工", "物业保洁", "设备家电", "餐饮食材", "其他")


#: A county officer's decision on an application, as the central's decision log records it (a qualification).
REGISTRATION_APPROVED, REGISTRATION_REFUSED = "registration.approved", "registration.refused"
DECISION_NAMES = {REGISTRATION_APPROVED: "注册审批通过", REGISTRATION_REFUSED: "注册审批不予通过"}
MAX_REASON_CHARS = 500


class AccountError(ValueError):
    """Bad input to an account step, in Chinese for the page (the CLI prints it too): nothing changed."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str
    role: str
    scope_level: str
    scope_name: str
    disabled: bool
    must_change_password: bool
    created_at: str
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username, "name": self.name, "role": self.role,
            "scope": "all" if self.scope_level == "all" else f"{self.scope_level}:{self.scope_name}",
            "disabled": self.disabled, "must_change_password": self.must_change_password,
            "created_at": self.created_at, "created_by": self.created_by,
        }  # fmt: skip


@dataclass(frozen=True)
class Session:
    token_hash: str
    account: Account
    csrf: str


@dataclass(frozen=True)
class Application:
    id: int
    username: str
    kind: str
    org_name: str
    credit_code: str
    county: str
    contact_name: str
    contact_phone: str
    categories: list[str]
    licence_type: str
    status: str
    reason: str | None
    submitted_at: str
    decided_at: str | None
    decided_by: str | None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(m["id"], m["username"], m["name"], m["role"], m["scope_level"], m["scope_name"],
                   bool(m["disabled"]), bool(m["must_change_password"]), m["created_at"], m["created_by"])  # fmt: skip


def check_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise AccountError("用户名为 2–32 位小写字母、数字或 _ . -，以字母或数字开头")
    return name


def check_name(name: str, what: str = "姓名") -> str:
    text = (name or "").strip()
    if not text or len(text) > MAX_NAME_CHARS or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise AccountError(f"{what}不能为空，最多 {MAX_NAME_CHARS} 个字符")
    return text


def staff_scope(role: str, scope: str) -> tuple[str, str]:
    """(level, name) of a staff role's scope: ``all`` for an admin, ``county:NAME`` for a county officer,
    ``township:COUNTY/NAME`` (or ``township:NAME``) for a township officer — the supervisor tokens' notion."""
    if role not in R.STAFF_ROLES:
        raise AccountError(f"角色应为 {' / '.join(R.STAFF_ROLES)}（供应商与银行自行注册，由县级监管审批）")
    level = R.SCOPE_LEVEL[role]
    if level == "all":
        if scope not in ("", "all"):
            raise AccountError("管理员的范围为 all")
        return "all", "*"
    try:
        parsed = parse_scope(scope, (level,))
    except ConfigDocError:
        raise AccountError(f"{R.ROLE_NAMES[role]}的范围应为 {level}:名称") from None
    return parsed.level, parsed.name


def check_decision(approve: bool, reason: str) -> str:
    """The reason of a decision on an application: required to refuse, at most :data:`MAX_REASON_CHARS`."""
    text = (reason or "").strip()
    if not approve and not text:
        raise AccountError("不予通过须写明理由")
    if len(text) > MAX_REASON_CHARS:
        raise AccountError(f"理由最多 {MAX_REASON_CHARS} 个字符")
    return text


def decision_body(application: Application, approve: bool, reason: str) -> dict[str, Any]:
    """What the decision log records of a decision on an application: the organisation as it registered, never
    its contact person or phone."""
    body: dict[str, Any] = {"application": application.id, "kind": application.kind, "org_name": application.org_name,
                            "credit_code": application.credit_code, "county": application.county,
                            "categories": list(application.categories)}  # fmt: skip
    return body if approve else {**body, "reason": reason}


def licence_type(data: bytes) -> str:
    if not data:
        raise AccountError("请上传营业执照（或开户许可证）扫描件")
    if len(data) > MAX_LICENCE_BYTES:
        raise AccountError(f"扫描件不能超过 {MAX_LICENCE_BYTES // (1024 * 1024)} MB")
    for magic, media in LICENCE_TYPES.items():
        if data.startswith(magic):
            return media
    raise AccountError("扫描件须为 JPG、PNG 或 PDF 文件")


class AccountStore:
    """The accounts of one central store."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock  # sessions and login counters; tests pass their own

    # -- accounts ---------------------------------------------------------------------------

    async def create_staff(
        self, username: str, name: str, role: str, scope: str, password: str, by: str, own_password: bool = False
    ) -> Account:
        """A staff account; its owner must set their own password at the first login (``own_password``: the
        password is already the owner's, as the demo's and the tests' accounts are)."""
        username = check_username(username)
        name = check_name(name)
        level, scope_name = staff_scope(role, scope)
        problem = check_new_password(password, (username, name))
        if problem:
            raise AccountError(problem)
        digest = await asyncio.to_thread(hash_password, password)
        async with self.db.writer.begin() as conn:
            await self._insert_account(conn, username, name, role, level, scope_name, digest, by, not own_password)
        found = await self.account(username)
        assert found is not None
        return found

    async def _insert_account(
        self, conn: Any, username: str, name: str, role: str, level: str, scope_name: str, digest: str, by: str,
        must_change: bool,
    ) -> int:  # fmt: skip
        try:
            async with conn.begin_nested():
                result = await conn.execute(
                    accounts.insert().values(
                        username=username, name=name, role=role, scope_level=level, scope_name=scope_name,
                        password_hash=digest, disabled=False, must_change_password=must_change,
                        created_at=utc_now(), created_by=by,
                    )
                )  # fmt: skip
        except IntegrityError:
            raise AccountError(f"用户名 {username} 已被使用") from None
        return int(result.inserted_primary_key[0])

    async def account(self, username: str) -> Account | None:
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.username == username.strip().lower()))).first()
        return None if row is None else _account(row)

    async def list_accounts(self) -> list[Account]:
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.role, accounts.c.username))).all()
        return [_account(r) for r in rows]

    async def _existing(self, username: str) -> Account:
        found = await self.account(username)
        if found is None:
            raise AccountError(f"没有账号 {username}")
        return found

    async def set_password(self, username: str, password: str, own: bool = False) -> Account:
        """A new password, an administrator's (the owner must then set their own) or the owner's own (``own``);
        every session of the account ends."""
        found = await self._existing(username)
        problem = check_new_password(password, (found.username, found.name))
        if problem:
            raise AccountError(problem)
        digest = await asyncio.to_thread(hash_password, password)
        async with self.db.writer.begin() as conn:
            await conn.execute(
                update(accounts).where(accounts.c.id == found.id)
                .values(password_hash=digest, must_change_password=not own)
            )  # fmt: skip
            await conn.execute(delete(account_sessions).where(account_sessions.c.account_id == found.id))
            # The account's login counters start afresh with its new password.
            await conn.execute(delete(login_failures).where(login_failures.c.key.like(f"user:{found.username}@%")))
            await conn.execute(delete(login_failures).where(login_failures.c.key == f"user:{found.username}"))
        return found

    async def change_own_password(self, account: Account, current: str, new: str, again: str) -> None:
        """The owner's own password, given the current one; every session ends (the caller opens a new one)."""
        _, ok = await self.check_login(account.username, current)
        if not ok:
            raise AccountError("当前密码不正确")
        if new != again:
            raise AccountError("两次输入的新密码不一致")
        if new == current:  # the same again would keep a password an administrator knows as the owner's "own"
            raise AccountError("新密码不能与当前密码相同")
        await self.set_password(account.username, new, own=True)

    async def set_disabled(self, username: str, disabled: bool) -> Account:
        """Disable (every session ends at once) or enable an account."""
        found = await self._existing(username)
        async with self.db.writer.begin() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == found.id).values(disabled=disabled))
            if disabled:
                await conn.execute(delete(account_sessions).where(account_sessions.c.account_id == found.id))
        return await self._existing(username)

    async def check_login(self, username: str, password: str) -> tuple[Account | None, bool]:
        """(the account, whether the password is right); an unknown name costs a hash check all the same."""
        name = (username or "").strip().lower()
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.username == name))).first() if name else None
        stored = row.password_hash if row is not None else dummy_hash()
        ok = await asyncio.to_thread(verify_password, password or "", stored)
        return (None if row is None else _account(row)), ok and row is not None

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(self, account: Account) -> str:
        """A new session of a logged-in account: the cookie token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.writer.begin() as conn:
            await conn.execute(
                account_sessions.insert().values(
                    token_hash=_hash_token(token), account_id=account.id, csrf=secrets.token_urlsafe(32),
                    created=now, seen=now,
                )
            )  # fmt: skip
            # Sessions past their time are swept at each login, so the table holds live ones only.
            await conn.execute(
                delete(account_sessions).where(
                    (account_sessions.c.seen < now - SESSION_IDLE_S) | (account_sessions.c.created < now - SESSION_MAX_S)
                )
            )
        return token

    async def session(self, token: str) -> Session | None:
        """The live session of a cookie token (touching it), or None if unknown, expired or its account disabled.

        Read on the reader; written only to end it or, at most once a minute, to touch it, so page views do not
        queue behind the edges' ingests for SQLite's one writer."""
        now = self.clock()
        digest = _hash_token(token)
        async with self.db.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(account_sessions.c.csrf, account_sessions.c.created, account_sessions.c.seen, accounts)
                    .join(accounts, accounts.c.id == account_sessions.c.account_id)
                    .where(account_sessions.c.token_hash == digest)
                )
            ).first()
        if row is None:
            return None
        if row.disabled or now - row.seen > SESSION_IDLE_S or now - row.created > SESSION_MAX_S:
            await self.end_session(digest)
            return None
        if now - row.seen > TOUCH_EVERY_S:
            async with self.db.writer.begin() as conn:
                await conn.execute(update(account_sessions).where(account_sessions.c.token_hash == digest).values(seen=now))
        return Session(digest, _account(row), row.csrf)

    async def end_session(self, token_hash: str) -> None:
        async with self.db.writer.begin() as conn:
            await conn.execute(delete(account_sessions).where(account_sessions.c.token_hash == token_hash))

    async def session_count(self, username: str) -> int:
        async with self.db.reader.connect() as conn:
            return int(
                (await conn.execute(
                    select(func.count()).select_from(account_sessions.join(accounts))
                    .where(accounts.c.username == username)
                )).scalar_one()
            )  # fmt: skip

    # -- login attempts (the policy is qinglian.logins, as on the edge) -----------------------

    @staticmethod
    def login_limits(username: str, client: str) -> tuple[list[LoginLimit], LoginLimit]:
        """(the account's counters, the address's counter) an attempt is charged to: the account from this
        address and, more loosely, over all addresses, so a guesser slows their own tries, not the owner's."""
        name = (username or "").strip().lower()[:64]
        return ([LoginLimit(f"user:{name}@{client}", LOGIN_MAX_FAILURES),
                 LoginLimit(f"user:{name}", LOGIN_ACCOUNT_MAX_FAILURES)],
                LoginLimit(f"ip:{client}", LOGIN_IP_MAX_FAILURES))  # fmt: skip

    @staticmethod
    def register_limit(client: str) -> LoginLimit:
        return LoginLimit(f"register:{client}", REGISTER_MAX_PER_ADDRESS)

    async def claim_attempt(self, limits: Sequence[LoginLimit]) -> float:
        """Charge one attempt to every key *before* its password is checked; or, while a key still waits out its
        delay, charge nothing and return the seconds left (0: go ahead). A key left alone for an hour starts afresh."""
        async with self.db.writer.begin() as conn:
            now = self.clock()
            keys = [limit.key for limit in limits]
            if self.db.dialect == "postgresql":  # one attempt at a time per key, as SQLite's single writer gives
                await conn.execute(select(login_failures.c.key).where(login_failures.c.key.in_(keys)).with_for_update())
            rows = {r.key: r for r in await conn.execute(select(login_failures).where(login_failures.c.key.in_(keys)))}
            wait = max((waiting(r.blocked_until, r.last_at, now) for r in rows.values()), default=0.0)
            if wait > 0:
                for r in rows.values():
                    if r.last_at > now:  # the clock stepped back: the delay left runs from now, on this clock
                        await conn.execute(update(login_failures).where(login_failures.c.key == r.key).values(
                            last_at=now, blocked_until=now + max(0.0, waiting(r.blocked_until, r.last_at, now))))
                return float(wait)
            for limit in limits:
                row = rows.get(limit.key)
                attempts = 1 if row is None or now - row.last_at > FORGET_FAILURES_S else row.failures + 1
                delay = login_delay(attempts, limit.threshold, LOGIN_BACKOFF_S, LOGIN_BACKOFF_MAX_S)
                values = {"key": limit.key, "failures": attempts, "last_at": now, "blocked_until": now + delay}
                await conn.execute(upsert(self.db, login_failures, values, {k: v for k, v in values.items() if k != "key"}))
            await conn.execute(
                delete(login_failures).where(
                    and_(login_failures.c.last_at < now - FORGET_FAILURES_S, login_failures.c.blocked_until < now)
                )
            )
        return 0.0

    async def blocked_for(self, keys: Sequence[str]) -> float:
        now = self.clock()
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(select(login_failures).where(login_failures.c.key.in_(keys)))).all()
        return max([0.0, *(waiting(r.blocked_until, r.last_at, now) for r in rows)])

    async def forgive(self, clear: Sequence[str], refund: Sequence[LoginLimit]) -> None:
        """After a successful login: forget the account's keys and take the attempt back from the address's."""
        async with self.db.writer.begin() as conn:
            await conn.execute(delete(login_failures).where(login_failures.c.key.in_(clear)))
            for limit in refund:
                row = (await conn.execute(select(login_failures).where(login_failures.c.key == limit.key))).first()
                if row is not None:
                    attempts = max(0, row.failures - 1)
                    delay = login_delay(attempts, limit.threshold, LOGIN_BACKOFF_S, LOGIN_BACKOFF_MAX_S)
                    await conn.execute(
                        update(login_failures).where(login_failures.c.key == limit.key)
                        .values(failures=attempts, blocked_until=row.last_at + delay)
                    )  # fmt: skip

    # -- supplier and bank applications -------------------------------------------------------

    async def counties(self) -> list[str]:
        """The counties of the enrolled villages: where an application can be made."""
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(select(edges.c.county).distinct().order_by(edges.c.county))).scalars().all()
        return [c for c in rows if c != UNPLACED]

    async def apply(
        self, *, kind: str, username: str, password: str, org_name: str, credit_code: str, county: str,
        contact_name: str, contact_phone: str, categories: Sequence[str], licence: bytes,
    ) -> Application:  # fmt: skip
        """A supplier's or bank's application with its account, which can do nothing but see this until approved."""
        if kind not in R.ORG_ROLES:
            raise AccountError("申请类型应为供应商或银行")
        username = check_username(username)
        org_name = check_name(org_name, "单位名称")
        code = normalise_credit_code(credit_code or "")
        if code is None:
            raise AccountError("统一社会信用代码无效（18 位，末位校验码须正确）")
        county = check_name(county, "所在县(市、区)")
        if "/" in county:
            raise AccountError("县(市、区)名称不能含 /")
        contact_name = check_name(contact_name, "联系人")
        phone = (contact_phone or "").strip()
        if not _PHONE.fullmatch(phone):
            raise AccountError("联系电话格式不正确")
        if kind == R.SUPPLIER and (not categories or any(c not in SUPPLIER_CATEGORIES for c in categories)):
            raise AccountError("请选择供应类别")
        chosen = sorted(set(categories), key=SUPPLIER_CATEGORIES.index) if kind == R.SUPPLIER else []
        media = licence_type(licence)
        problem = check_new_password(password, (username, org_name))
        if problem:
            raise AccountError(problem)
        digest = await asyncio.to_thread(hash_password, password)
        async with self.db.writer.begin() as conn:
            taken = (await conn.execute(
                select(applications.c.id).where(applications.c.credit_code == code, applications.c.kind == kind,
                                                applications.c.status != "refused")
            )).first()  # fmt: skip
            if taken is not None:
                raise AccountError("该统一社会信用代码已有申请或已注册")
            account_id = await self._insert_account(
                conn, username, org_name, kind, "self", username, digest, "register", must_change=False
            )
            await conn.execute(
                applications.insert().values(
                    account_id=account_id, kind=kind, org_name=org_name, credit_code=code, county=county,
                    contact_name=contact_name, contact_phone=phone, categories=json.dumps(chosen, ensure_ascii=False),
                    licence=licence, licence_type=media, status="pending", submitted_at=utc_now(),
                )
            )  # fmt: skip
        found = await self.application_of(username)
        assert found is not None
        return found

    _APPLICATION_COLUMNS = (
        applications.c.id, accounts.c.username, applications.c.kind, applications.c.org_name,
        applications.c.credit_code, applications.c.county, applications.c.contact_name,
        applications.c.contact_phone, applications.c.categories, applications.c.licence_type,
        applications.c.status, applications.c.reason, applications.c.submitted_at, applications.c.decided_at,
        applications.c.decided_by,
    )  # fmt: skip

    @staticmethod
    def _application(row: Any) -> Application:
        m = dict(row._mapping)
        m["categories"] = json.loads(m["categories"])
        return Application(**m)

    async def application_of(self, username: str) -> Application | None:
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(
                select(*self._APPLICATION_COLUMNS).join(accounts, accounts.c.id == applications.c.account_id)
                .where(accounts.c.username == username)
            )).first()  # fmt: skip
        return None if row is None else self._application(row)

    async def applications_for(self, level: str, name: str, status: str | None = None) -> list[Application]:
        """Applications a county officer (their county) or the administrator (all) decides, newest first."""
        query = select(*self._APPLICATION_COLUMNS).join(accounts, accounts.c.id == applications.c.account_id)
        if level == "county":
            query = query.where(applications.c.county == name)
        elif level != "all":
            return []
        if status is not None:
            query = query.where(applications.c.status == status)
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(query.order_by(applications.c.id.desc()))).all()
        return [self._application(r) for r in rows]

    async def application(self, level: str, name: str, application_id: int) -> tuple[Application, bytes]:
        """One application and its licence scan, if the decider's scope holds it (the same answer otherwise)."""
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(
                select(*self._APPLICATION_COLUMNS, applications.c.licence)
                .join(accounts, accounts.c.id == applications.c.account_id).where(applications.c.id == application_id)
            )).first()  # fmt: skip
        if row is None or not (level == "all" or (level == "county" and row.county == name)):
            raise AccountError("没有此申请或无权查看")
        m = dict(row._mapping)
        licence = m.pop("licence")
        m["categories"] = json.loads(m["categories"])
        return Application(**m), bytes(licence)

    async def decide(self, level: str, name: str, application_id: int, approve: bool, reason: str, by: str) -> Application:
        """A county officer's (or the administrator's) approval, or refusal with its reason, of a pending application."""
        found, _ = await self.application(level, name, application_id)
        reason = check_decision(approve, reason)
        async with self.db.writer.begin() as conn:
            done = await conn.execute(
                update(applications).where(applications.c.id == application_id, applications.c.status == "pending")
                .values(status="approved" if approve else "refused", reason=None if approve else reason,
                        decided_at=utc_now(), decided_by=by)
            )  # fmt: skip
            if done.rowcount != 1:
                raise AccountError("此申请已经处理过")
        decided = await self.application_of(found.username)
        assert decided is not None
        return decided
