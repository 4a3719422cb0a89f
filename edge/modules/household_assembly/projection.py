"""The household assembly's working state: its tables and, for each ledger kind, how an entry changes them.

Each handler is a function of the entry alone (time and the decision are in it), so a replay from an empty
database gives the same tables; an entry a handler cannot apply becomes a projection anomaly, never a stop.
"""

from __future__ import annotations

import json

import aiosqlite

import edge.modules.household_assembly.kinds as K
from edge.ledger import Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS ha_households (
    id         TEXT PRIMARY KEY,
    head       TEXT NOT NULL,
    members    INTEGER NOT NULL,
    grp        TEXT NOT NULL,          -- 承包组
    phone      TEXT NOT NULL,          -- personal: never published
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_meetings (
    id              TEXT PRIMARY KEY,  -- HA-<year>
    year            INTEGER NOT NULL UNIQUE,
    held_on         TEXT NOT NULL,     -- YYYY-MM-DD, village time
    place           TEXT NOT NULL,
    agenda          TEXT NOT NULL,     -- JSON list: the four fixed items, then the village's
    cadres          TEXT NOT NULL,     -- JSON list of the cadres rated, by name
    line_percent    TEXT NOT NULL,
    formula         TEXT NOT NULL,     -- rules.FORMULAS, as the config said when the meeting was created
    report          TEXT,
    honours_method  TEXT,
    posted_at       TEXT,
    honours_result  TEXT,
    honours_at      TEXT,
    results         TEXT,              -- JSON: the published result (rules.result)
    results_at      TEXT,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_suggestions (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    household  TEXT NOT NULL,          -- may be '' (collected without a name)
    category   TEXT NOT NULL,
    text       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_notices (
    meeting_id TEXT NOT NULL,
    household  TEXT NOT NULL,
    channel    TEXT NOT NULL,          -- sms | hand
    by_account TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (meeting_id, household)
);
CREATE TABLE IF NOT EXISTS ha_signins (
    meeting_id TEXT NOT NULL,
    household  TEXT NOT NULL,
    how        TEXT NOT NULL,          -- qr | list
    proxy      TEXT NOT NULL,          -- '' or the name of who came on the household's behalf (委托)
    by_account TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (meeting_id, household)
);
CREATE TABLE IF NOT EXISTS ha_questions (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    cadre      TEXT NOT NULL,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_sheets (
    meeting_id TEXT NOT NULL,
    sheet      INTEGER NOT NULL,
    status     TEXT NOT NULL,          -- entered | confirmed
    first      TEXT NOT NULL,          -- the first teller's account
    second     TEXT,
    counts     TEXT NOT NULL,          -- JSON: target -> [满意, 基本满意, 不满意]
    at         TEXT NOT NULL,
    PRIMARY KEY (meeting_id, sheet)
);
CREATE TABLE IF NOT EXISTS ha_talks (
    meeting_id TEXT NOT NULL,
    cadre      TEXT NOT NULL,
    note       TEXT NOT NULL,
    by_account TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_commitments (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    text       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    deadline   TEXT NOT NULL,          -- YYYY-MM-DD
    suggestion TEXT NOT NULL,          -- '' or the pre-meeting suggestion it answers
    progress   INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ha_progress (
    commitment TEXT NOT NULL,
    progress   INTEGER NOT NULL,
    note       TEXT NOT NULL,
    by_account TEXT NOT NULL,
    at         TEXT NOT NULL
);
"""


async def register_imported(conn: aiosqlite.Connection, entry: Entry) -> None:
    await conn.executemany(
        "INSERT INTO ha_households (id, head, members, grp, phone, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET head = excluded.head, members = excluded.members, grp = excluded.grp, "
        "phone = excluded.phone, updated_at = excluded.updated_at",
        [(h["id"], h["head"], int(h["members"]), h["group"], h["phone"], entry.ts) for h in entry.body["households"]],
    )


async def meeting_created(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_meetings (id, year, held_on, place, agenda, cadres, line_percent, formula, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (b["id"], int(b["year"]), b["held_on"], b["place"], json.dumps(b["agenda"], ensure_ascii=False),
         json.dumps(b["cadres"], ensure_ascii=False), b["line_percent"], b["formula"], entry.ts),
    )  # fmt: skip


async def suggestion_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_suggestions (id, meeting_id, household, category, text, at) VALUES (?, ?, ?, ?, ?, ?)",
        (b["id"], b["meeting_id"], b["household"], b["category"], b["text"], entry.ts),
    )


async def documents_posted(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE ha_meetings SET report = ?, honours_method = ?, posted_at = ? WHERE id = ?",
        (b["report"], b["honours_method"], entry.ts, b["meeting_id"]),
    )


async def honours_published(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE ha_meetings SET honours_result = ?, honours_at = ? WHERE id = ?",
        (b["result"], entry.ts, b["meeting_id"]),
    )


async def notices_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.executemany(
        "INSERT OR IGNORE INTO ha_notices (meeting_id, household, channel, by_account, at) VALUES (?, ?, ?, ?, ?)",
        [(b["meeting_id"], h, b["channel"], b["by"], entry.ts) for h in b["households"]],
    )


async def signed_in(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_signins (meeting_id, household, how, proxy, by_account, at) VALUES (?, ?, ?, ?, ?, ?)",
        (b["meeting_id"], b["household"], b["how"], b["proxy"], b["by"], entry.ts),
    )


async def question_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_questions (id, meeting_id, cadre, question, answer, at) VALUES (?, ?, ?, ?, ?, ?)",
        (b["id"], b["meeting_id"], b["cadre"], b["question"], b["answer"], entry.ts),
    )


async def tally_entered(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_sheets (meeting_id, sheet, status, first, counts, at) VALUES (?, ?, 'entered', ?, ?, ?)",
        (b["meeting_id"], int(b["sheet"]), b["teller"], json.dumps(b["counts"], ensure_ascii=False), entry.ts),
    )


async def tally_confirmed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE ha_sheets SET status = 'confirmed', second = ? WHERE meeting_id = ? AND sheet = ? AND status = 'entered'",
        (b["teller"], b["meeting_id"], int(b["sheet"])),
    )


async def tally_mismatch(conn: aiosqlite.Connection, entry: Entry) -> None:
    # Neither entry stands alone: the sheet is counted and entered again by both tellers.
    b = entry.body
    await conn.execute(
        "DELETE FROM ha_sheets WHERE meeting_id = ? AND sheet = ? AND status = 'entered'",
        (b["meeting_id"], int(b["sheet"])),
    )


async def results_published(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE ha_meetings SET results = ?, results_at = ? WHERE id = ?",
        (json.dumps(b["result"], ensure_ascii=False), entry.ts, b["meeting_id"]),
    )


async def talk_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_talks (meeting_id, cadre, note, by_account, at) VALUES (?, ?, ?, ?, ?)",
        (b["meeting_id"], b["cadre"], b["note"], b["by"], entry.ts),
    )


async def commitment_made(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO ha_commitments (id, meeting_id, text, owner, deadline, suggestion, progress, at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        (b["id"], b["meeting_id"], b["text"], b["owner"], b["deadline"], b["suggestion"], entry.ts),
    )


async def commitment_progress(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute("UPDATE ha_commitments SET progress = ? WHERE id = ?", (int(b["progress"]), b["id"]))
    await conn.execute(
        "INSERT INTO ha_progress (commitment, progress, note, by_account, at) VALUES (?, ?, ?, ?, ?)",
        (b["id"], int(b["progress"]), b["note"], b["by"], entry.ts),
    )


PROJECTION = {
    K.REGISTER_IMPORTED: register_imported, K.MEETING_CREATED: meeting_created, K.SUGGESTION_RECORDED: suggestion_recorded,
    K.DOCUMENTS_POSTED: documents_posted, K.HONOURS_PUBLISHED: honours_published, K.NOTICES_RECORDED: notices_recorded,
    K.SIGNED_IN: signed_in, K.QUESTION_RECORDED: question_recorded, K.TALLY_ENTERED: tally_entered,
    K.TALLY_CONFIRMED: tally_confirmed, K.TALLY_MISMATCH: tally_mismatch, K.RESULTS_PUBLISHED: results_published,
    K.TALK_RECORDED: talk_recorded, K.COMMITMENT_MADE: commitment_made, K.COMMITMENT_PROGRESS: commitment_progress,
}  # fmt: skip
