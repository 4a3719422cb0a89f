"""The accounts' tables, on the central's one MetaData (central.db.metadata), so the store creates them with its
own when it opens, by the same SQLAlchemy Core text on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from central.db import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's autoincrement wants INTEGER PRIMARY KEY

#: Who may log in: an officer scoped to a county or township, the administrator (all), a supplier or bank (self).
accounts = Table(
    "accounts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),  # lower-case
    Column("name", Text, nullable=False),  # a person's or an organisation's name, as pages show it
    Column("role", String(32), nullable=False),
    Column("scope_level", String(16), nullable=False),  # all | county | township | self
    Column("scope_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),  # qinglian.passwords (scrypt)
    Column("disabled", Boolean, nullable=False, default=False),
    # Set by an administrator (a new account, a reset): the owner sets their own before doing anything else.
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("created_at", Text, nullable=False),
    Column("created_by", Text, nullable=False),  # an admin's username, "cli:<OS user>" or "register" (self)
)

#: A supplier's or bank's application, made with its account; a county officer of its county decides it.
applications = Table(
    "applications",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("account_id", _ID, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # supplier | bank
    Column("org_name", Text, nullable=False),
    Column("credit_code", String(18), nullable=False),  # 统一社会信用代码, check digit verified
    Column("county", Text, nullable=False),  # where it applies: that county's officers decide
    Column("contact_name", Text, nullable=False),
    Column("contact_phone", String(32), nullable=False),
    Column("categories", Text, nullable=False),  # a supplier's categories, JSON list; [] for a bank
    Column("licence", LargeBinary, nullable=False),  # the business licence scan
    Column("licence_type", String(32), nullable=False),  # its media type, read from its bytes
    Column("status", String(16), nullable=False),  # pending | approved | refused
    Column("reason", Text, nullable=True),  # why it was refused
    Column("submitted_at", Text, nullable=False),
    Column("decided_at", Text, nullable=True),
    Column("decided_by", Text, nullable=True),
    Index("applications_by_county", "county", "status"),
)

#: Server-side sessions: the cookie carries a random token, the table its hash and the session's CSRF token.
account_sessions = Table(
    "account_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", _ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", Float, nullable=False),  # epoch seconds, by the store's clock
    Column("seen", Float, nullable=False),
    Index("account_sessions_by_account", "account_id"),
)

#: Login attempts per counter key (qinglian.logins): an account from one address, an account, an address.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
    Column("blocked_until", Float, nullable=False),
)
