"""The central's tables for competitive deposit: every village's plan as its edge sent it up, followed through
the award, the signing and maturity; and the eligible accounts the villages' edges flagged as in no plan."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, PrimaryKeyConstraint, String, Table, Text

from central.db import metadata

plans = Table(
    "competitive_deposit_plans",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("plan_id", String(32), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM of the joint meeting: the monthly tender it goes to
    Column("account_name", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("term_months", Integer, nullable=False),
    Column("meeting_date", String(10), nullable=False),
    Column("idle_fen", BigInteger, nullable=False),
    Column("idle_since", String(10), nullable=False),
    Column("edge_index", BigInteger, nullable=False),  # the edge's ledger entry of the plan
    Column("status", String(16), nullable=False),  # planned | awarded | signed | matured
    Column("bank", Text, nullable=True),
    Column("rate_percent", String(16), nullable=True),
    Column("awarded_fen", BigInteger, nullable=True),
    Column("notice_date", String(10), nullable=True),
    Column("sign_by", String(10), nullable=True),
    Column("signed_on", String(10), nullable=True),
    Column("late", Boolean, nullable=False, default=False),
    Column("interest_fen", BigInteger, nullable=True),
    Column("demand_fen", BigInteger, nullable=True),
    Column("extra_fen", BigInteger, nullable=True),
    PrimaryKeyConstraint("edge_id", "plan_id"),
)

unplanned = Table(
    "competitive_deposit_unplanned",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("account", String(40), nullable=False),
    Column("since", String(10), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("idle_fen", BigInteger, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("flagged_on", String(10), nullable=False),
    PrimaryKeyConstraint("edge_id", "account", "since"),
)
