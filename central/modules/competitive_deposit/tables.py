"""The central's tables for competitive deposit: every village's plan as its edge sent it up, followed through
the award, the signing and maturity; and the eligible accounts the villages' edges flagged as in no plan."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, LargeBinary, PrimaryKeyConstraint, String, Table, Text

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

# -- the monthly tender (tender.py) ------------------------------------------------------------------------

#: One tender a county or township opens for a month: its announcement as decided (the scoring rule with it).
tenders = Table(
    "competitive_deposit_tenders",
    metadata,
    Column("tender_id", String(64), primary_key=True),  # CDT-<scope>-<YYYY-MM>: one per scope and month
    Column("level", String(16), nullable=False),  # county | township: who opened it
    Column("scope_name", Text, nullable=False),  # the county, or "county/township"
    Column("county", Text, nullable=False),  # the banks of this county may bid
    Column("month", String(7), nullable=False),
    Column("rate_points", String(8), nullable=False),  # the formula: rate_points × rate / highest valid rate
    Column("sign_days", Integer, nullable=False),
    Column("opens_at", String(32), nullable=False),  # the bid window, UTC ISO: opens_at <= bid < closes_at
    Column("closes_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # bidding | opened
    Column("opened_by", Text, nullable=False),
    Column("decision_index", BigInteger, nullable=False),  # the announcement in the decision log
    Column("result_index", BigInteger, nullable=True),  # the opening's result
    Column("notice_date", String(10), nullable=True),
)

#: Each plan of a village as a lot of a tender; a plan is in one live tender at most.
lots = Table(
    "competitive_deposit_lots",
    metadata,
    Column("tender_id", String(64), nullable=False),
    Column("lot", Integer, nullable=False),
    Column("edge_id", String(64), nullable=False),
    Column("plan_id", String(32), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),  # its township's officers watch the tender
    Column("account_name", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("term_months", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # bidding | awarded | failed (no valid bid: the plan waits again)
    Column("bank", Text, nullable=True),  # the winner's name, as the award says
    Column("rate_percent", String(16), nullable=True),
    PrimaryKeyConstraint("tender_id", "lot"),
)

#: A bank's sealed bid on a lot: its rate stays here, the decision log holds only its commitment until opening.
bids = Table(
    "competitive_deposit_bids",
    metadata,
    Column("tender_id", String(64), nullable=False),
    Column("lot", Integer, nullable=False),
    Column("bank", String(64), nullable=False),  # the bank's account (username)
    Column("bank_name", Text, nullable=False),
    Column("rate_percent", String(16), nullable=False),
    Column("salt", String(32), nullable=False),  # makes the commitment unguessable from the few plausible rates
    Column("at", String(32), nullable=False),  # UTC ISO, by the central's clock
    Column("decision_index", BigInteger, nullable=False),  # its commitment in the decision log: the earlier bid
    PrimaryKeyConstraint("tender_id", "lot", "bank"),
)

#: The county's two scores of a bank for a tender, from the central bank's data, with the source document.
scores = Table(
    "competitive_deposit_scores",
    metadata,
    Column("tender_id", String(64), nullable=False),
    Column("bank", String(64), nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("operating_score", String(8), nullable=False),
    Column("agri_support_score", String(8), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("source", LargeBinary, nullable=False),
    Column("entered_by", Text, nullable=False),
    Column("decision_index", BigInteger, nullable=False),
    PrimaryKeyConstraint("tender_id", "bank"),
)

#: A county's or township's standing schedule of its monthly tender (schedule.py): the timer keeps it.
schedules = Table(
    "competitive_deposit_schedules",
    metadata,
    Column("scope_name", Text, primary_key=True),  # the officer's scope, as a tender's scope_name
    Column("level", String(16), nullable=False),  # county | township
    Column("day", Integer, nullable=False),  # of the month (Asia/Shanghai), 1-28: the plans are gathered that day
    Column("window_days", Integer, nullable=False),  # the window closes at 17:00 this many days later
    Column("rate_points", String(8), nullable=False),
    Column("sign_days", Integer, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("decision_index", BigInteger, nullable=False),  # the schedule in the decision log
)

#: Each village's deposit accounts and their day balances as its edge recorded them (``account_added``,
#: ``balances``): the county reads every account's idle funds and eligibility by the module's own rules.
accounts = Table(
    "competitive_deposit_accounts",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("account", String(40), nullable=False),  # shown by its last four digits only
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("bank", Text, nullable=False),
    PrimaryKeyConstraint("edge_id", "account"),
)

balances = Table(
    "competitive_deposit_balances",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("account", String(40), nullable=False),
    Column("day", String(10), nullable=False),
    Column("low_fen", BigInteger, nullable=False),  # the day's lowest balance
    Column("close_fen", BigInteger, nullable=False),  # its closing balance (a later entry for the day replaces both)
    PrimaryKeyConstraint("edge_id", "account", "day"),
)
