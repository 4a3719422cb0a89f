"""The central's tables for the whistleblower module: each village's clues as their edges sent them up — state,
deadlines, overdue flags, escalation — and the sealed envelopes (ciphertext only: the township discipline
officer opens them with the private key that never leaves their hands)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text

from central.db import metadata

clues = Table(
    "whistleblower_clues",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("clue_id", String(32), nullable=False),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("ack_due", String(32), nullable=False),
    Column("feedback_due", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("escalated_at", String(32), nullable=True),
    Column("ack_overdue", String(32), nullable=True),
    Column("feedback_overdue", String(32), nullable=True),
    PrimaryKeyConstraint("edge_id", "clue_id"),
)

sealed = Table(
    "whistleblower_sealed",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("edge_index", BigInteger, nullable=False),  # the edge's ledger entry that carried it
    Column("clue_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # clue | note | reasons | feedback | message | minutes
    Column("author", String(16), nullable=False),
    Column("at", String(32), nullable=False),
    Column("envelope", Text, nullable=False),  # JSON, sealed to the station head and the township officer
    PrimaryKeyConstraint("edge_id", "edge_index"),
)
