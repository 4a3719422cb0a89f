"""Fields of a verified edge entry's body, as a central part reads them into its tables.

Verified means the village's ledger signed it, not that every field is what the part expects (an older edge,
a module's later version): each reader checks its field's type and bounds and raises ``ValueError`` or
``TypeError`` otherwise, which the ingest records for that entry while the rest of the batch goes on.
"""

from __future__ import annotations

from datetime import date

MAX_FEN = 2**63 - 1  # what SQLite's and PostgreSQL's BIGINT hold


def text(value: object, limit: int = 200) -> str:
    """A non-empty string, cut to ``limit`` characters (the column's width)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a text: {value!r:.40}")
    return value[:limit]


def fen(value: object) -> int:
    """An amount in integer fen, 0 up to BIGINT (never a float or a bool)."""
    if type(value) is not int or not 0 <= value <= MAX_FEN:
        raise ValueError(f"not an amount in fen: {value!r:.40}")
    return value


def day(value: object) -> str:
    """An ISO date (YYYY-MM-DD), as text."""
    if not isinstance(value, str):
        raise TypeError(f"not a date: {value!r:.40}")
    return date.fromisoformat(value).isoformat()
