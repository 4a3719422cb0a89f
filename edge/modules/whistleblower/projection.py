"""The working state of the module, a projection of its ledger entries: each handler is a function of the
entry alone. The tables hold what the ledger holds: the station and roster, that a clue exists, its state and
deadlines, and the sealed envelopes (ciphertext) — never a clue's content in the clear."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite

import edge.modules.whistleblower.kinds as K
from edge.ledger import Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS wb_station (
    id              INTEGER PRIMARY KEY CHECK (id = 1),  -- one liaison station per village edge
    name            TEXT NOT NULL,
    roster          TEXT NOT NULL,  -- JSON: [{id, name, role, group}]
    saved_at        TEXT NOT NULL,
    head_public     TEXT,           -- base64 X25519: clues are sealed to it and to township_public
    township_public TEXT,
    keys_at         TEXT
);
CREATE TABLE IF NOT EXISTS wb_clues (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    collector        TEXT,           -- the team member credited (for the rating); NULL: a villager's own report
    received_at      TEXT NOT NULL,
    ack_due          TEXT NOT NULL,
    feedback_due     TEXT NOT NULL,
    state            TEXT NOT NULL,
    lookup           TEXT NOT NULL,  -- scrypt tag of the receipt code (hex); the code itself is never stored
    acknowledged_at  TEXT,
    triaged_at       TEXT,
    verified_at      TEXT,
    resolved_at      TEXT,
    outcome          TEXT,
    solved           INTEGER NOT NULL DEFAULT 0,
    feedback_at      TEXT,
    escalated_at     TEXT,
    ack_overdue      TEXT,           -- when the tick flagged the acknowledgement overdue
    feedback_overdue TEXT
);
CREATE TABLE IF NOT EXISTS wb_sealed (
    entry    INTEGER PRIMARY KEY,   -- the ledger entry that carried it
    clue     TEXT NOT NULL,
    kind     TEXT NOT NULL,         -- clue | note | reasons | feedback | message
    author   TEXT NOT NULL,         -- reporter | station
    at       TEXT NOT NULL,
    sealed   TEXT NOT NULL,         -- JSON envelope to the head and the township
    reporter TEXT                   -- JSON box the reporter opens with the receipt code
);
CREATE INDEX IF NOT EXISTS wb_sealed_clue ON wb_sealed (clue, entry);
CREATE TABLE IF NOT EXISTS wb_meetings (
    id        TEXT PRIMARY KEY,
    type      TEXT NOT NULL,        -- review | qa
    held_on   TEXT NOT NULL,        -- local date YYYY-MM-DD
    attendees TEXT NOT NULL,        -- JSON: roster ids
    clues     TEXT NOT NULL,        -- JSON: clue ids handled
    villagers INTEGER NOT NULL DEFAULT 0,
    questions INTEGER NOT NULL DEFAULT 0,
    answered  INTEGER NOT NULL DEFAULT 0,
    summary   TEXT,                 -- a Q&A meeting's public summary
    minutes   TEXT,                 -- a review meeting's minutes: a sealed envelope
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_misconduct (
    entry  INTEGER PRIMARY KEY,
    person TEXT NOT NULL,
    year   INTEGER NOT NULL,
    what   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_visit_plan (
    year       INTEGER NOT NULL,
    person     TEXT NOT NULL,
    households INTEGER NOT NULL,
    PRIMARY KEY (year, person)
);
CREATE TABLE IF NOT EXISTS wb_visits (
    entry      INTEGER PRIMARY KEY,
    person     TEXT NOT NULL,
    visited_on TEXT NOT NULL,        -- local date YYYY-MM-DD
    households INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_ratings (
    year       INTEGER NOT NULL,
    person     TEXT NOT NULL,
    rating     TEXT NOT NULL,
    clues      INTEGER NOT NULL,
    confirmed  INTEGER NOT NULL,
    solved     INTEGER NOT NULL,
    pay_factor TEXT NOT NULL,
    rated_at   TEXT NOT NULL,
    PRIMARY KEY (year, person)
);
"""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


async def station_set(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_station (id, name, roster, saved_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, roster = excluded.roster, saved_at = excluded.saved_at",
        (str(b["name"]), _json(list(b["members"])), entry.ts),
    )


async def head_key(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    cur = await conn.execute(
        "UPDATE wb_station SET head_public = ?, township_public = ?, keys_at = ? WHERE id = 1",
        (str(b["head_public"]), str(b["township_public"]), entry.ts),
    )
    if cur.rowcount != 1:
        raise ValueError("没有可保存密钥的站点记录")


async def _sealed(
    conn: aiosqlite.Connection, entry: Entry, kind: str, author: str, sealed: Any, reporter: Any = None
) -> None:
    await conn.execute(
        "INSERT INTO wb_sealed (entry, clue, kind, author, at, sealed, reporter) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            entry.index,
            str(entry.body["id"]),
            kind,
            author,
            str(entry.body.get("at") or entry.body["received_at"]),  # when the step was taken, on the agent's clock
            _json(dict(sealed)),
            None if reporter is None else _json(dict(reporter)),
        ),
    )


async def clue_received(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_clues (id, source, collector, received_at, ack_due, feedback_due, state, lookup) VALUES (?, ?, ?, ?, ?, ?, 'received', ?)",
        (
            str(b["id"]),
            str(b["source"]),
            b.get("collector"),
            str(b["received_at"]),
            str(b["ack_due"]),
            str(b["feedback_due"]),
            str(b["lookup"]),
        ),
    )
    await _sealed(conn, entry, "clue", "reporter", b["sealed"])


async def _move(
    conn: aiosqlite.Connection, clue: str, state: str, column: str, at: str, extra: Mapping[str, Any] | None = None
) -> None:
    sets = ", ".join(f"{k} = ?" for k in (extra or {}))
    sql = f"UPDATE wb_clues SET state = ?, {column} = ?{', ' + sets if sets else ''} WHERE id = ?"
    cur = await conn.execute(sql, (state, at, *(extra or {}).values(), clue))
    if cur.rowcount != 1:
        raise ValueError(f"没有线索 {clue!r}")


async def clue_acknowledged(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, str(entry.body["id"]), "acknowledged", "acknowledged_at", str(entry.body["at"]))


async def clue_verified(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, str(entry.body["id"]), "verified", "verified_at", str(entry.body["at"]))
    await _sealed(conn, entry, "note", "station", entry.body["note"])


async def clue_resolved(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    state = {"confirmed": "resolved", "dismissed": "dismissed"}[str(b["outcome"])]
    await _move(
        conn,
        str(b["id"]),
        state,
        "resolved_at",
        str(b["at"]),
        {"outcome": str(b["outcome"]), "solved": 1 if b["solved"] is True else 0},
    )
    await _sealed(conn, entry, "reasons", "station", b["reasons"])


async def clue_feedback(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, str(entry.body["id"]), "closed", "feedback_at", str(entry.body["at"]))
    await _sealed(conn, entry, "feedback", "station", entry.body["sealed"], entry.body["reporter"])


async def clue_escalated(conn: aiosqlite.Connection, entry: Entry) -> None:
    cur = await conn.execute(
        "UPDATE wb_clues SET escalated_at = ? WHERE id = ?", (str(entry.body["at"]), str(entry.body["id"]))
    )
    if cur.rowcount != 1:
        raise ValueError(f"没有线索 {entry.body['id']!r}")


async def message(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    author = str(b["author"])
    if author not in ("reporter", "station"):
        raise ValueError(f"留言人应为举报人或站点，收到 {author!r:.40}")
    await _sealed(conn, entry, "message", author, b["sealed"], b.get("reporter"))


async def overdue(conn: aiosqlite.Connection, entry: Entry) -> None:
    column = {"acknowledge": "ack_overdue", "feedback": "feedback_overdue"}[str(entry.body["step"])]
    await conn.execute(f"UPDATE wb_clues SET {column} = ? WHERE id = ?", (str(entry.body["at"]), str(entry.body["id"])))


async def review_meeting(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_meetings (id, type, held_on, attendees, clues, minutes, at) VALUES (?, 'review', ?, ?, ?, ?, ?)",
        (
            str(b["id"]),
            str(b["held_on"]),
            _json(list(b["attendees"])),
            _json(list(b["clues"])),
            _json(dict(b["minutes"])),
            str(b["at"]),
        ),
    )
    for clue in b["triaged"]:
        await _move(conn, str(clue), "triaged", "triaged_at", str(b["at"]))


async def qa_meeting(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_meetings (id, type, held_on, attendees, clues, villagers, questions, answered, summary, at) "
        "VALUES (?, 'qa', ?, ?, '[]', ?, ?, ?, ?, ?)",
        (
            str(b["id"]),
            str(b["held_on"]),
            _json(list(b["attendees"])),
            int(b["villagers"]),
            int(b["questions"]),
            int(b["answered"]),
            str(b["summary"]),
            str(b["at"]),
        ),
    )


async def misconduct(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_misconduct (entry, person, year, what) VALUES (?, ?, ?, ?)",
        (entry.index, str(b["person"]), int(b["year"]), str(b["what"])),
    )


async def rated(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    year = int(b["year"])
    await conn.execute("DELETE FROM wb_ratings WHERE year = ?", (year,))  # a later run of the same year replaces it
    factors = b["rules"]["pay_factors"]
    for r in b["ratings"]:
        await conn.execute(
            "INSERT INTO wb_ratings (year, person, rating, clues, confirmed, solved, pay_factor, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                year,
                str(r["person"]),
                str(r["rating"]),
                int(r["clues"]),
                int(r["confirmed"]),
                int(r["solved"]),
                str(factors[r["rating"]]),
                str(b["at"]),
            ),
        )


async def visit_plan(conn: aiosqlite.Connection, entry: Entry) -> None:
    year = int(entry.body["year"])
    await conn.execute("DELETE FROM wb_visit_plan WHERE year = ?", (year,))  # a revised plan replaces the year's
    for person, households in dict(entry.body["plan"]).items():
        await conn.execute(
            "INSERT INTO wb_visit_plan (year, person, households) VALUES (?, ?, ?)",
            (year, str(person), int(households)),
        )


async def visit(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wb_visits (entry, person, visited_on, households) VALUES (?, ?, ?, ?)",
        (entry.index, str(b["person"]), str(b["visited_on"]), int(b["households"])),
    )


PROJECTION = {
    K.STATION_SET: station_set, K.HEAD_KEY: head_key, K.CLUE_RECEIVED: clue_received, K.CLUE_ACKNOWLEDGED: clue_acknowledged,
    K.CLUE_VERIFIED: clue_verified, K.CLUE_RESOLVED: clue_resolved, K.CLUE_FEEDBACK: clue_feedback,
    K.CLUE_ESCALATED: clue_escalated, K.MESSAGE: message, K.OVERDUE: overdue, K.REVIEW_MEETING: review_meeting,
    K.QA_MEETING: qa_meeting,
    K.VISIT_PLAN: visit_plan,
    K.VISIT: visit, K.MISCONDUCT: misconduct, K.RATED: rated,
}  # fmt: skip


# -- reading -----------------------------------------------------------------------------------------------


async def _rows(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with conn.execute(sql, args) as cur:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def station(conn: aiosqlite.Connection) -> dict[str, Any] | None:
    rows = await _rows(conn, "SELECT * FROM wb_station WHERE id = 1")
    if not rows:
        return None
    row = rows[0]
    row["roster"] = json.loads(row["roster"])
    return row


async def clues(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM wb_clues ORDER BY received_at DESC, id DESC")


async def clue(conn: aiosqlite.Connection, clue_id: str) -> dict[str, Any] | None:
    rows = await _rows(conn, "SELECT * FROM wb_clues WHERE id = ?", (clue_id,))
    return rows[0] if rows else None


async def sealed_items(conn: aiosqlite.Connection, clue_id: str) -> list[dict[str, Any]]:
    rows = await _rows(conn, "SELECT * FROM wb_sealed WHERE clue = ? ORDER BY entry", (clue_id,))
    for r in rows:
        r["sealed"] = json.loads(r["sealed"])
        r["reporter"] = json.loads(r["reporter"]) if r["reporter"] else None
    return rows


async def meetings(conn: aiosqlite.Connection, kind: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM wb_meetings" + (" WHERE type = ?" if kind else "") + " ORDER BY held_on DESC, id DESC"
    rows = await _rows(conn, sql, (kind,) if kind else ())
    for r in rows:
        r["attendees"], r["clues"] = json.loads(r["attendees"]), json.loads(r["clues"])
    return rows


async def ratings(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM wb_ratings ORDER BY year DESC, rowid")


async def visits_of(conn: aiosqlite.Connection, year: int) -> list[dict[str, Any]]:
    """Each member's plan and the households visited in ``year``: {person, planned, visited, visits}."""
    rows = await _rows(conn, "SELECT person, households FROM wb_visit_plan WHERE year = ? ORDER BY rowid", (year,))
    planned: dict[str, int] = {r["person"]: r["households"] for r in rows}
    done = await _rows(
        conn,
        "SELECT person, SUM(households) AS visited, COUNT(*) AS visits FROM wb_visits WHERE visited_on LIKE ? GROUP BY person",
        (f"{year}-%",),
    )
    by = {d["person"]: d for d in done}
    people = list(planned) + [p for p in by if p not in planned]
    return [
        {
            "person": p,
            "planned": planned.get(p),
            "visited": int(by[p]["visited"]) if p in by else 0,
            "visits": int(by[p]["visits"]) if p in by else 0,
        }
        for p in people
    ]


async def households_by_year(conn: aiosqlite.Connection) -> dict[int, int]:
    async with conn.execute("SELECT substr(visited_on, 1, 4), SUM(households) FROM wb_visits GROUP BY 1") as cur:
        return {int(y): int(n) for y, n in await cur.fetchall()}


async def misconducts(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM wb_misconduct ORDER BY entry")
