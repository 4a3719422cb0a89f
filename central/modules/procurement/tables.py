"""The central procurement tables (SQLAlchemy Core on the central's one MetaData, portable to SQLite and
PostgreSQL): the demands the villages sent up, each with the township's review."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, Table, Text

from central.db import metadata

demands = Table(
    "procurement_demands",
    metadata,
    Column("edge_id", Text, nullable=False),
    Column("demand_id", Text, nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("ceiling_fen", BigInteger, nullable=False),
    Column("delivery_date", Text, nullable=False),
    Column("body", Text, nullable=False),  # the demand as the village approved it (canonical JSON)
    Column("entry_index", Integer, nullable=False),  # its entry in the edge's ledger
    Column("status", Text, nullable=False),  # submitted | approved | returned
    Column("reason", Text),
    Column("decided_by", Text),
    Column("decision_index", Integer),  # the decision in the central's log
    Column("received_at", Text, nullable=False),
    Column("decided_at", Text),
    PrimaryKeyConstraint("edge_id", "demand_id"),
)

tenders = Table(
    "procurement_tenders",
    metadata,
    Column("edge_id", Text, nullable=False),
    Column("demand_id", Text, nullable=False),
    Column("opens_at", Text, nullable=False),  # UTC ISO-8601
    Column("closes_at", Text, nullable=False),  # moved on by a late bid (anti-sniping)
    Column("status", Text, nullable=False),  # open | awarded | failed
    Column("decision_index", Integer),  # the award's or the failure's decision
    PrimaryKeyConstraint("edge_id", "demand_id"),
)

bids = Table(
    "procurement_bids",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("edge_id", Text, nullable=False),
    Column("demand_id", Text, nullable=False),
    Column("supplier", Text, nullable=False),  # the supplier's account
    Column("supplier_name", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("at", Text, nullable=False),
    Column("decision_index", Integer, nullable=False),  # the bid in the central's decision log
)

credit = Table(
    "procurement_credit",
    metadata,
    Column("supplier", Text, primary_key=True),  # the supplier's account
    Column("score", Integer, nullable=False),  # tenths of a point
    Column("blacklisted", Integer, nullable=False),  # 0 | 1
)

credit_events = Table(
    "procurement_credit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("supplier", Text, nullable=False),
    Column("kind", Text, nullable=False),  # a deduction's kind | reinstated
    Column("delta", Integer, nullable=False),  # tenths of a point
    Column("score", Integer, nullable=False),  # after it
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decision_index", Integer, nullable=False),
    Column("at", Text, nullable=False),
)

withdrawn = Table(
    "procurement_withdrawn_bids",
    metadata,
    Column(
        "seq", Integer, primary_key=True
    ),  # the bid (procurement_bids.seq), withdrawn with its supplier's blacklisting
    Column("decision_index", Integer, nullable=False),
)

#: The suppliers' catalogue: goods with their prices, each listed (and withdrawn) by its supplier (catalogue.py).
catalogue = Table(
    "procurement_catalogue",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("supplier", Text, nullable=False),  # the supplier's account
    Column("supplier_name", Text, nullable=False),
    Column("county", Text, nullable=False),  # the supplier's county (its registration's)
    Column("category", Text, nullable=False),  # one of the supplier's registered categories
    Column("name", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("price_fen", BigInteger, nullable=False),
    Column("listed_at", Text, nullable=False),
    Column("decision_index", Integer, nullable=False),
    Column("withdrawn_index", Integer),  # the withdrawal's decision, or null while listed
)

#: Every purchase a village recorded (its verified ``procurement.purchase_recorded``): what the split-purchase
#: audit reads across villages (splits.py). An override is the village's approved exception, kept as it came.
purchases = Table(
    "procurement_purchases",
    metadata,
    Column("edge_id", Text, nullable=False),
    Column("purchase_id", Text, nullable=False),  # the village's own id (CG…)
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("day", Text, nullable=False),  # YYYY-MM-DD
    Column("category", Text, nullable=False),
    Column("project", Text, nullable=False),  # "" for none
    Column("supplier", Text, nullable=False),
    Column("channel", Text, nullable=False),  # platform | offline
    Column("amount_fen", BigInteger, nullable=False),
    Column("override", Text),  # the override's reason (its id first), or null
    Column("entry_index", Integer, nullable=False),  # in the village's ledger
    PrimaryKeyConstraint("edge_id", "purchase_id"),
)

#: The county's terms in force when the tender opened (terms.py): a later change of the county's moves no open window.
tender_terms = Table(
    "procurement_tender_terms",
    metadata,
    Column("edge_id", Text, nullable=False),
    Column("demand_id", Text, nullable=False),
    Column("window_s", Integer, nullable=False),
    Column("extend_s", Integer, nullable=False),  # anti-sniping: a bid this close to the end moves it this far
    Column("source", Text, nullable=False),  # "county:萧山区 v2" | "默认"
    PrimaryKeyConstraint("edge_id", "demand_id"),
)

awards = Table(
    "procurement_awards",
    metadata,
    Column("edge_id", Text, nullable=False),
    Column("demand_id", Text, nullable=False),
    Column("supplier", Text, nullable=False),
    Column("supplier_name", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("decision_index", Integer, nullable=False),
    Column("at", Text, nullable=False),
    PrimaryKeyConstraint("edge_id", "demand_id"),
)
