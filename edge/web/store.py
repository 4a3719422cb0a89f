"""The console's own database, ``data_dir/web.sqlite3``: accounts, sessions, login failures, push.

None of this is a record of the seal loop (that is the ledger): accounts map
people to the roster of the edge config, whose ids are what the ledger
records. The agent process serves the console; ``qinglian web user ...``
changes accounts from another process at the same time (WAL, busy timeout).

Session cookies carry a random token; only its SHA-256 is stored, so a copy
of this file opens no session. Each session has its own CSRF token
(synchronizer pattern). Sessions are stored only after a login: the login form
is protected by a signed double-submit cookie instead (edge/web/app.py), so
anonymous visitors add no rows.

Every change of an account is first recorded in the ledger (edge/web/accounts.py);
this file only holds what the console needs to act on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from edge.kernel.sqlitedb import Queries, open_database
from edge.ledger import utc_now
from qinglian.logins import LoginLimit, login_delay, waiting

DB_FILENAME = "web.sqlite3"

ALL_VILLAGES = "*"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name         TEXT NOT NULL,
    roles        TEXT NOT NULL,              -- JSON list of edge.kernel.accounts.ROLES
    person       TEXT,                       -- [[people]] id in the edge config
    villages     TEXT NOT NULL,              -- JSON list of village names; ["*"] = every village
    password     TEXT NOT NULL,              -- scrypt$...
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    password_at  TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 1  -- set by an admin: the owner sets their own before approving
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,             -- SHA-256 of the cookie value
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- NULL only in rows from before logins alone made sessions
    csrf       TEXT NOT NULL,
    created    REAL NOT NULL,
    seen       REAL NOT NULL,
    flash      TEXT                          -- JSON [kind, message] shown once on the next page
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS login_failures (
    key           TEXT PRIMARY KEY,          -- "user:<name>", "user:<name>@<address>" or "ip:<address>"
    failures      INTEGER NOT NULL,          -- attempts not (yet) forgiven by a successful login
    last_at       REAL NOT NULL,
    blocked_until REAL NOT NULL DEFAULT 0    -- no attempt on this key before then
);
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    user_agent TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id          INTEGER PRIMARY KEY,
    request_id  TEXT,
    event       TEXT NOT NULL,               -- awaiting_approval | approved | rejected
    backend     TEXT NOT NULL,               -- the backend's configured name
    kind        TEXT NOT NULL,               -- webpush | dingtalk | wecom | webhook
    recipient   TEXT NOT NULL,               -- "group", or the account (and subscription) pushed to
    target      TEXT NOT NULL,               -- JSON: what the backend needs to deliver (subscription id ...)
    message     TEXT NOT NULL,               -- JSON: title, body, url
    status      TEXT NOT NULL,               -- queued | retrying | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS deliveries_by_request ON deliveries (request_id, id);
"""

DELIVERY_NAMES = {"queued": "待发送", "retrying": "重试中", "sent": "已送达", "failed": "发送失败"}


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str
    roles: frozenset[str]
    person: str | None
    villages: tuple[str, ...]
    disabled: bool
    created_at: str
    must_change_password: bool  # its password was set by an admin: no approvals until the owner sets their own

    def covers(self, village: str) -> bool:
        return ALL_VILLAGES in self.villages or village in self.villages

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username, "name": self.name, "roles": sorted(self.roles), "person": self.person,
            "villages": list(self.villages), "disabled": self.disabled, "created_at": self.created_at,
            "must_change_password": self.must_change_password,
        }  # fmt: skip


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: Account | None
    csrf: str
    created: float
    seen: float


@dataclass(frozen=True)
class Subscription:
    id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, Any]:
        """The subscription as the browser's PushSubscription.toJSON() gives it (for pywebpush)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class Delivery:
    id: int
    request_id: str | None
    event: str
    backend: str
    kind: str
    recipient: str
    target: dict[str, Any]
    message: dict[str, Any]
    status: str
    attempts: int
    next_at: float
    last_error: str | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "request_id": self.request_id, "event": self.event, "backend": self.backend,
            "kind": self.kind, "recipient": self.recipient, "status": self.status,
            "status_name": DELIVERY_NAMES.get(self.status, self.status), "attempts": self.attempts,
            "next_at": self.next_at if self.status in ("queued", "retrying") else None,
            "last_error": self.last_error, "created_at": self.created_at, "updated_at": self.updated_at,
        }  # fmt: skip


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _account(row: aiosqlite.Row) -> Account:
    return Account(
        id=row["id"], username=row["username"], name=row["name"], roles=frozenset(json.loads(row["roles"])),
        person=row["person"], villages=tuple(json.loads(row["villages"])), disabled=bool(row["disabled"]),
        created_at=row["created_at"], must_change_password=bool(row["must_change_password"]),
    )  # fmt: skip


def _delivery(row: aiosqlite.Row) -> Delivery:
    return Delivery(
        id=row["id"], request_id=row["request_id"], event=row["event"], backend=row["backend"], kind=row["kind"],
        recipient=row["recipient"], target=json.loads(row["target"]), message=json.loads(row["message"]),
        status=row["status"], attempts=row["attempts"], next_at=row["next_at"], last_error=row["last_error"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


class WebStore(Queries):
    def __init__(self, conn: aiosqlite.Connection, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock  # sessions, login limits and when deliveries are due; tests pass their own
        self._attempts = asyncio.Lock()  # counting login attempts is read-then-write: one at a time

    @classmethod
    async def open(cls, data_dir: Path, clock: Callable[[], float] = time.time) -> WebStore:
        path = data_dir / DB_FILENAME

        async def prepare(conn: aiosqlite.Connection) -> None:
            await conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}COMMIT;")
            async with conn.execute("PRAGMA table_info(users)") as cur:
                columns = {row["name"] for row in await cur.fetchall()}
            if "must_change_password" not in columns:
                # Accounts from before the rule all had admin-set passwords: each owner sets their own first.
                await conn.execute("ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 1")

        # NORMAL: a session or a delivery lost with the last commit before a power cut is made again
        conn = await open_database(path, "NORMAL", prepare)
        path.chmod(0o600)  # password hashes and session tokens
        return cls(conn, path, clock)

    async def close(self) -> None:
        await self.conn.close()

    # -- accounts ------------------------------------------------------------------------

    async def add_user(
        self, username: str, name: str, roles: Iterable[str], person: str | None, villages: Sequence[str], password_hash: str,
        must_change_password: bool,
    ) -> Account | None:  # fmt: skip
        """The new account, or None if ``person`` already has one (checked in the same statement, so two
        admins at once cannot both make one)."""
        now = utc_now()
        cur = await self.conn.execute(
            "INSERT INTO users (username, name, roles, person, villages, password, created_at, password_at, must_change_password)"
            " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE person = ?)",
            (username, name, json.dumps(sorted(roles)), person, json.dumps(list(villages), ensure_ascii=False), password_hash,
             now, now, int(must_change_password), person),
        )  # fmt: skip
        if cur.rowcount != 1:
            return None
        return await self.user_by_name(username)

    async def user_by_person(self, person: str) -> Account | None:
        row = await self._one("SELECT * FROM users WHERE person = ? ORDER BY id LIMIT 1", (person,))
        return None if row is None else _account(row)

    async def user_by_name(self, username: str) -> Account | None:
        row = await self._one("SELECT * FROM users WHERE username = ?", (username,))
        return None if row is None else _account(row)

    async def user_by_id(self, user_id: int) -> Account | None:
        row = await self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else _account(row)

    async def password_hash(self, username: str) -> tuple[Account, str] | None:
        row = await self._one("SELECT * FROM users WHERE username = ?", (username,))
        return None if row is None else (_account(row), row["password"])

    async def users(self) -> list[Account]:
        return [_account(r) for r in await self._all("SELECT * FROM users ORDER BY username")]

    async def count_users(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM users")
        return int(row["n"]) if row else 0

    async def set_password(self, username: str, password_hash: str, must_change: bool) -> bool:
        """New password (``must_change``: set by an admin, not the owner); every session of the account ends
        and its login failures are forgiven."""
        account = await self.user_by_name(username)
        if account is None:
            return False
        prefix = f"user:{account.username.lower()}@"
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            await self.conn.execute(
                "UPDATE users SET password = ?, password_at = ?, must_change_password = ? WHERE id = ?",
                (password_hash, utc_now(), int(must_change), account.id),
            )
            await self.conn.execute("DELETE FROM sessions WHERE user_id = ?", (account.id,))
            await self.conn.execute(
                "DELETE FROM login_failures WHERE key = ? OR substr(key, 1, ?) = ?",
                (f"user:{account.username.lower()}", len(prefix), prefix),
            )
            await self.conn.execute("COMMIT")
        except BaseException:
            await self.conn.execute("ROLLBACK")
            raise
        return True

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        cur = await self.conn.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username))
        if disabled:
            await self.conn.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", (username,))
        return cur.rowcount == 1

    # -- sessions ------------------------------------------------------------------------

    async def create_session(self, user_id: int) -> tuple[str, str]:
        """A new session of a logged-in account: (cookie token, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        await self.conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, created, seen) VALUES (?, ?, ?, ?, ?)",
            (_hash_token(token), user_id, csrf, now, now),
        )
        return token, csrf

    async def session(self, token: str, idle_s: float, max_s: float) -> Session | None:
        """The live session of a cookie token (touching it), or None if unknown, expired or its account disabled."""
        row = await self._one("SELECT * FROM sessions WHERE token_hash = ?", (_hash_token(token),))
        if row is None:
            return None
        now = self.clock()
        user = await self.user_by_id(row["user_id"]) if row["user_id"] is not None else None
        if now - row["seen"] > idle_s or now - row["created"] > max_s or user is None or user.disabled:
            await self.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (row["token_hash"],))
            return None
        if now - row["seen"] > 30:
            await self.conn.execute("UPDATE sessions SET seen = ? WHERE token_hash = ?", (now, row["token_hash"]))
        return Session(row["token_hash"], user, row["csrf"], row["created"], now)

    async def end_session(self, token_hash: str) -> None:
        await self.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    async def purge_sessions(self, idle_s: float, max_s: float) -> None:
        now = self.clock()
        await self.conn.execute(
            "DELETE FROM sessions WHERE user_id IS NULL OR seen < ? OR created < ?", (now - idle_s, now - max_s)
        )

    async def set_flash(self, token_hash: str, kind: str, message: str) -> None:
        await self.conn.execute(
            "UPDATE sessions SET flash = ? WHERE token_hash = ?", (json.dumps([kind, message], ensure_ascii=False), token_hash)
        )

    async def pop_flash(self, token_hash: str) -> tuple[str, str] | None:
        row = await self._one("SELECT flash FROM sessions WHERE token_hash = ?", (token_hash,))
        if row is None or row["flash"] is None:
            return None
        await self.conn.execute("UPDATE sessions SET flash = NULL WHERE token_hash = ?", (token_hash,))
        kind, message = json.loads(row["flash"])
        return str(kind), str(message)

    # -- login attempts (rate limiting) ----------------------------------------------------

    async def claim_attempt(self, limits: Sequence[LoginLimit], backoff_s: float, backoff_max_s: float, forget_s: float = 3600.0) -> float:
        """Charge one login attempt to every key *before* its password is checked, so parallel guesses
        are counted as they come; or, while any key is still waiting out its delay, charge nothing and
        return the seconds left (0: go ahead). A key left alone for ``forget_s`` starts afresh."""
        if not limits:
            return 0.0
        async with self._attempts:
            now = self.clock()
            rows = await self._counters([limit.key for limit in limits])
            wait = max((waiting(row["blocked_until"], row["last_at"], now) for row in rows.values()), default=0.0)
            if wait > 0:
                for counter in rows.values():
                    if counter["last_at"] > now:  # the clock stepped back: the delay left runs from now, on this clock
                        left = waiting(counter["blocked_until"], counter["last_at"], now)
                        await self._set_counter(counter["key"], counter["failures"], now, now + left if left > 0 else 0.0)
                return float(wait)
            for limit in limits:
                row = rows.get(limit.key)
                attempts = 1 if row is None or now - row["last_at"] > forget_s else row["failures"] + 1
                delay = login_delay(attempts, limit.threshold, backoff_s, backoff_max_s)
                await self._set_counter(limit.key, attempts, now, now + delay if delay else 0.0)
            # Counters past their time are forgotten anyway: guesses at made-up names leave no rows behind.
            await self.conn.execute("DELETE FROM login_failures WHERE last_at < ? AND blocked_until < ?", (now - forget_s, now))
            return 0.0

    async def blocked_for(self, keys: Sequence[str]) -> float:
        """Seconds until all of ``keys`` may try again (0: none waits)."""
        now = self.clock()
        return max([0.0, *(waiting(row["blocked_until"], row["last_at"], now) for row in (await self._counters(keys)).values())])

    async def forgive(self, clear: Sequence[str], refund: Sequence[LoginLimit], backoff_s: float, backoff_max_s: float) -> None:
        """After a successful login: forget the ``clear`` keys (the account's), and take the attempt back
        from the ``refund`` keys (the address's: others behind it keep their own count)."""
        async with self._attempts:
            for key in clear:
                await self.conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))
            rows = await self._counters([limit.key for limit in refund])
            for limit in refund:
                row = rows.get(limit.key)
                if row is not None:
                    attempts = max(0, row["failures"] - 1)
                    delay = login_delay(attempts, limit.threshold, backoff_s, backoff_max_s)
                    await self._set_counter(limit.key, attempts, row["last_at"], row["last_at"] + delay if delay else 0.0)

    async def _counters(self, keys: Sequence[str]) -> dict[str, aiosqlite.Row]:
        marks = ",".join("?" for _ in keys)
        return {r["key"]: r for r in await self._all(f"SELECT * FROM login_failures WHERE key IN ({marks})", keys)}

    async def _set_counter(self, key: str, attempts: int, last_at: float, blocked_until: float) -> None:
        await self.conn.execute(
            "INSERT INTO login_failures (key, failures, last_at, blocked_until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, "
            "blocked_until = excluded.blocked_until",
            (key, attempts, last_at, blocked_until),
        )

    # -- push subscriptions ------------------------------------------------------------------

    async def add_subscription(self, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str | None) -> int:
        await self.conn.execute(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, user_agent, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, "
            "auth = excluded.auth, user_agent = excluded.user_agent",
            (user_id, endpoint, p256dh, auth, user_agent, utc_now()),
        )
        row = await self._one("SELECT id FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
        assert row is not None
        return int(row["id"])

    async def remove_subscription(self, user_id: int, endpoint: str) -> bool:
        cur = await self.conn.execute("DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?", (user_id, endpoint))
        return cur.rowcount == 1

    async def drop_subscription(self, subscription_id: int) -> None:
        await self.conn.execute("DELETE FROM push_subscriptions WHERE id = ?", (subscription_id,))

    async def subscriptions(self, user_ids: Iterable[int]) -> list[Subscription]:
        ids = list(user_ids)
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        rows = await self._all(f"SELECT * FROM push_subscriptions WHERE user_id IN ({marks}) ORDER BY id", ids)
        return [Subscription(r["id"], r["user_id"], r["endpoint"], r["p256dh"], r["auth"]) for r in rows]

    async def subscription(self, subscription_id: int) -> Subscription | None:
        r = await self._one("SELECT * FROM push_subscriptions WHERE id = ?", (subscription_id,))
        return None if r is None else Subscription(r["id"], r["user_id"], r["endpoint"], r["p256dh"], r["auth"])

    async def subscription_count(self, user_id: int) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM push_subscriptions WHERE user_id = ?", (user_id,))
        return int(row["n"]) if row else 0

    # -- deliveries --------------------------------------------------------------------------

    async def add_delivery(
        self, request_id: str | None, event: str, backend: str, kind: str, recipient: str, target: dict[str, Any], message: dict[str, Any]
    ) -> int:
        now = utc_now()
        cur = await self.conn.execute(
            "INSERT INTO deliveries (request_id, event, backend, kind, recipient, target, message, status, next_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (request_id, event, backend, kind, recipient, json.dumps(target, ensure_ascii=False),
             json.dumps(message, ensure_ascii=False), self.clock(), now, now),
        )  # fmt: skip
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def due_deliveries(self, now: float, limit: int = 20) -> list[Delivery]:
        rows = await self._all(
            "SELECT * FROM deliveries WHERE status IN ('queued', 'retrying') AND next_at <= ? ORDER BY next_at, id LIMIT ?",
            (now, limit),
        )
        return [_delivery(r) for r in rows]

    async def next_due(self) -> float | None:
        row = await self._one("SELECT MIN(next_at) AS t FROM deliveries WHERE status IN ('queued', 'retrying')")
        return None if row is None or row["t"] is None else float(row["t"])

    async def finish_attempt(self, delivery_id: int, status: str, attempts: int, next_at: float, error: str | None) -> None:
        await self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
            (status, attempts, next_at, error, utc_now(), delivery_id),
        )

    async def deliveries(self, request_id: str | None = None) -> list[Delivery]:
        if request_id is None:
            rows = await self._all("SELECT * FROM deliveries ORDER BY id")
        else:
            rows = await self._all("SELECT * FROM deliveries WHERE request_id = ? ORDER BY id", (request_id,))
        return [_delivery(r) for r in rows]
