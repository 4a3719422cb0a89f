"""The central's tables for labour dispatch: what the township compares across its villages, as each village's
edge sent it up — the pool (names, trades, areas and status only), the orders with their emergency flag, who
was dispatched on each, the pay lines and whether they were paid, and every blacklisting with its reason.

Never a personal number: the edge's entries carry the worker's phone and the sealed ID and bank numbers (and a
keyed digest of the ID); none of them has a column here, and the reactions copy none of them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, PrimaryKeyConstraint, String, Table, Text

from central.db import metadata

workers = Table(
    "work_order_workers",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("worker_id", String(16), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("name", Text, nullable=False),  # as the village's notice board publishes it
    Column("trade", String(32), nullable=False),
    Column("area", Text, nullable=False),
    Column("grp", Text, nullable=False),
    Column("status", String(16), nullable=False),  # available | unavailable | blacklisted (no reason of absence)
    PrimaryKeyConstraint("edge_id", "worker_id"),
)

orders = Table(
    "work_order_orders",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("order_id", String(32), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("week", String(8), nullable=False),
    Column("content", Text, nullable=False),
    Column("trade", String(32), nullable=False),
    Column("headcount", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("emergency", Boolean, nullable=False),
    Column("emergency_reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected | dispatched
    Column("filed_at", String(32), nullable=False),
    PrimaryKeyConstraint("edge_id", "order_id"),
)

dispatched = Table(
    "work_order_dispatched",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("order_id", String(32), nullable=False),
    Column("worker_id", String(16), nullable=False),
    Column("mode", String(16), nullable=False),  # rotation | posted
    PrimaryKeyConstraint("edge_id", "order_id", "worker_id"),
)

pay_lines = Table(
    "work_order_pay_lines",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("pay_id", String(32), nullable=False),
    Column("worker_id", String(16), nullable=False),
    Column("half_days", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("paid", Boolean, nullable=False),  # by bank transfer, once finance recorded it
    PrimaryKeyConstraint("edge_id", "pay_id", "worker_id"),
)

blacklistings = Table(
    "work_order_blacklistings",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("edge_index", BigInteger, nullable=False),  # the edge's ledger entry that recorded it
    Column("worker_id", String(16), nullable=False),
    Column("reason", Text, nullable=False),  # the committee's reason
    Column("by", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    PrimaryKeyConstraint("edge_id", "edge_index"),
)
