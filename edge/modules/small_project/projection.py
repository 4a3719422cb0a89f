"""What each small-project entry does to the working state: a function of the entry only.

A body the tables cannot take (a catalogue that does not parse, an approval of a project not pending) raises,
and the kernel's projection records the entry as an anomaly and goes on (``edge.kernel.projection``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite

import edge.modules.small_project.kinds as K
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.contract import Handler
from edge.ledger import Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS small_project_catalogues (
    version   TEXT PRIMARY KEY,
    effective TEXT NOT NULL,
    items     TEXT NOT NULL,   -- JSON, as the township's document carries them
    document  TEXT NOT NULL,   -- the document's id (or "demo")
    entry     INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_projects (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    category  TEXT NOT NULL,
    place     TEXT NOT NULL,
    scope     TEXT NOT NULL,
    catalogue_version TEXT NOT NULL,
    lines     TEXT NOT NULL,   -- JSON: each priced line
    total_fen INTEGER NOT NULL,
    flagged   INTEGER NOT NULL, -- lines priced above their guide price
    route     TEXT NOT NULL,
    done      TEXT NOT NULL DEFAULT '[]',
    status    TEXT NOT NULL,   -- pending | approved | rejected | drawn | awarded | failed | completed
    reason    TEXT,
    recommended TEXT,          -- JSON {id, name}: the village's
    invited   TEXT,            -- JSON [{id, name}] x 3: the recommended, then the two drawn
    draw      TEXT,            -- JSON: the draw's whole record (pool, seed, sources, hash, drawn)
    quotes    TEXT,            -- JSON [{contractor, amount_fen, valid, why}] as opened
    observer  TEXT,            -- the peer observer at the opening (a cadre of another village)
    winner    TEXT,            -- JSON {id, name, amount_fen}
    opened_on TEXT,
    accepted_on TEXT,
    settled_fen INTEGER,
    account   TEXT NOT NULL,
    person    TEXT,
    filed_at  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_draw_inputs (
    project_id TEXT PRIMARY KEY,
    commitment TEXT NOT NULL,  -- SHA-256 of the village's value, recorded with its recommended contractor
    fixed     TEXT,            -- JSON: what the township fixed before the draw (its document's body)
    value     TEXT             -- the village's value, once revealed (after the fixing)
);
CREATE TABLE IF NOT EXISTS small_project_quoting (  -- the township's invitation: the window of the sealed quotes
    project_id TEXT PRIMARY KEY,
    closes_at TEXT NOT NULL,   -- UTC ISO
    hotline   TEXT NOT NULL,
    entry     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_supervision (  -- "121": the hotline, the township's checks, complaints
    project_id TEXT NOT NULL,
    kind      TEXT NOT NULL,   -- hotline | check | complaint
    day       TEXT NOT NULL,
    who       TEXT NOT NULL,   -- the inspector; '' for the hotline; 实名 or 匿名 for a complaint
    text      TEXT NOT NULL,   -- the number, the findings, the complaint's summary
    entry     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_progress (  -- the works' steps on the notice board, each with its file
    project_id TEXT NOT NULL,
    stage     TEXT NOT NULL,   -- contract | start | progress | acceptance | settlement
    day       TEXT NOT NULL,
    note      TEXT NOT NULL,
    sha256    TEXT NOT NULL,   -- the photo or document in the edge's content-addressed store
    name      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    account   TEXT NOT NULL,
    entry     INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_township_steps (
    project_id TEXT NOT NULL,
    approver  TEXT NOT NULL,   -- the township officer's central account
    approve   INTEGER NOT NULL,
    reason    TEXT,
    entry     INTEGER NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (project_id, approver)
);
"""
STATUS = {"pending": "待审批", "township": "乡镇审批中", "approved": "已批准", "rejected": "已驳回", "drawn": "报价中", "awarded": "已定标",
          "failed": "流标", "completed": "已竣工结算"}  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


async def catalogue(conn: aiosqlite.Connection, entry: Entry) -> None:
    parsed = rules.parse_catalogue(entry.body)  # a document that does not parse is an anomaly
    document = entry.body.get("document") or {}
    await conn.execute(
        "INSERT INTO small_project_catalogues (version, effective, items, document, entry, at) VALUES (?, ?, ?, ?, ?, ?)",
        (parsed.version, parsed.effective, _json(rules.catalogue_body(parsed)["items"]), str(document.get("id", "")), entry.index, entry.ts),
    )  # fmt: skip


async def filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO small_project_projects (id, name, category, place, scope, catalogue_version, lines, total_fen, flagged, route,"
        " status, account, person, filed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        (b["id"], b["name"], b["category"], b["place"], b["scope"], b["catalogue_version"], _json(b["lines"]), int(b["total_fen"]),
         sum(1 for line in b["lines"] if line["above_guide"]), _json(b["route"]), b["account"], b.get("person"), entry.ts, entry.ts),
    )  # fmt: skip


async def approval(conn: aiosqlite.Connection, entry: Entry) -> None:
    project_id = entry.body["project_id"]
    async with conn.execute(
        "SELECT done FROM small_project_projects WHERE id = ? AND status = 'pending'", (project_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        raise KeyError(f"{project_id} 不在待审批状态")
    done = _json([*json.loads(row[0]), entry.body["approver"]])
    await conn.execute(
        "UPDATE small_project_projects SET done = ?, updated_at = ? WHERE id = ?", (done, entry.ts, project_id)
    )


def _decided(status: str) -> Handler:
    async def apply(conn: aiosqlite.Connection, entry: Entry) -> None:
        cur = await conn.execute(
            "UPDATE small_project_projects SET status = ?, reason = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
            (status, entry.body.get("reason"), entry.ts, entry.body["project_id"]),
        )
        if cur.rowcount != 1:
            raise KeyError(f"{entry.body['project_id']} 不在待审批状态")

    return apply


async def village_approved(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The village's route is complete: on to the township's steps when the category's route has any."""
    row = await project(conn, entry.body["project_id"])
    if row is None or row["status"] != "pending":
        raise KeyError(f"{entry.body['project_id']} 不在待审批状态")
    await _move(conn, entry, "pending", "township" if row["route"].get("township") else "approved")


async def township_step(conn: aiosqlite.Connection, entry: Entry) -> None:
    """A township officer's step, come down from the central: applied only when it is that officer's turn on
    the project's frozen route (:func:`rules.township_refusal`); the last approval approves, a rejection rejects."""
    b = entry.body
    row = await project(conn, b["project_id"])
    if row is None or row["status"] != "township":
        raise KeyError(f"{b['project_id']} 不在“乡镇审批中”状态")
    approvers, done = row["route"]["township"], [s["approver"] for s in await township_steps(conn, row["id"])]
    why = rules.township_refusal(approvers, done, b["approver"])
    if why is not None:
        raise ValueError(f"{b['project_id']}：{why}")
    await conn.execute(
        "INSERT INTO small_project_township_steps (project_id, approver, approve, reason, entry, at) VALUES (?, ?, ?, ?, ?, ?)",
        (row["id"], b["approver"], bool(b["approve"]), b.get("reason") or None, entry.index, entry.ts),
    )
    if not b["approve"]:
        await _move(conn, entry, "township", "rejected", reason=b["reason"])
    elif len(done) + 1 == len(approvers):
        await _move(conn, entry, "township", "approved")


async def _move(conn: aiosqlite.Connection, entry: Entry, frm: str, to: str, **columns: Any) -> None:
    """Move a project from ``frm`` to ``to``, setting ``columns``; raise when it is not in ``frm``."""
    sets = "".join(f", {c} = ?" for c in columns)
    cur = await conn.execute(
        f"UPDATE small_project_projects SET status = ?, updated_at = ?{sets} WHERE id = ? AND status = ?",
        (to, entry.ts, *columns.values(), entry.body["project_id"], frm),
    )
    if cur.rowcount != 1:
        raise KeyError(f"{entry.body['project_id']} 不在“{STATUS[frm]}”状态")


async def recommended(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The village's contractor and commitment; a later one replaces them until the township fixes the draw."""
    b = entry.body
    inputs = await draw_inputs(conn, b["project_id"])
    if inputs is not None and inputs["fixed"] is not None:
        raise KeyError(f"{b['project_id']} 的抽取依据已固定")
    cur = await conn.execute(
        "UPDATE small_project_projects SET recommended = ?, updated_at = ? WHERE id = ? AND status = 'approved'",
        (_json(b["contractor"]), entry.ts, b["project_id"]),
    )
    if cur.rowcount != 1:
        raise KeyError(f"{b['project_id']} 不在“已批准”状态")
    await conn.execute("INSERT OR REPLACE INTO small_project_draw_inputs (project_id, commitment) VALUES (?, ?)",
                       (b["project_id"], b["commitment"]))  # fmt: skip


async def draw_inputs(conn: aiosqlite.Connection, project_id: str) -> dict[str, Any] | None:
    async with conn.execute("SELECT * FROM small_project_draw_inputs WHERE project_id = ?", (project_id,)) as cur:
        found = _rows(cur, await cur.fetchall())
    return {**found[0], "fixed": json.loads(found[0]["fixed"]) if found[0]["fixed"] else None} if found else None


async def fixed(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The township fixed the draw's inputs: kept only when they carry this village's own commitment, its
    recommended contractor and the project's category (else an anomaly)."""
    b = entry.body
    row, inputs = await project(conn, b["project_id"]), await draw_inputs(conn, b["project_id"])
    if row is None or inputs is None or row["status"] != "approved" or inputs["fixed"] is not None:
        raise KeyError(f"{b['project_id']} 不在待抽取状态")
    if (b["village_commitment"], b["recommended"], b["category"]) != (inputs["commitment"], row["recommended"]["id"], row["category"]):
        raise ValueError(f"{b['project_id']}：固定的抽取依据与本村的承诺、推荐或工程类别不符")
    await conn.execute("UPDATE small_project_draw_inputs SET fixed = ? WHERE project_id = ?", (_json(b), b["project_id"]))


async def revealed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    inputs = await draw_inputs(conn, b["project_id"])
    if inputs is None or inputs["fixed"] is None or inputs["value"] is not None:
        raise KeyError(f"{b['project_id']} 的抽取尚未固定或已公布随机值")
    if rules.commitment_of(b["value"]) != inputs["commitment"]:
        raise ValueError(f"{b['project_id']}：随机值与承诺不符")
    await conn.execute("UPDATE small_project_draw_inputs SET value = ? WHERE project_id = ?", (b["value"], b["project_id"]))


async def drawn(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The township's draw: re-run here from its record, and applied only when it matches and names the
    village's recommended contractor (a draw that does not is an anomaly)."""
    b = entry.body
    result, problems = rules.verify_draw(b["record"])
    if problems:
        raise ValueError("；".join(problems))
    row = await project(conn, b["project_id"])
    ours = row["recommended"] if row else None
    if row is None or b["record"].get("category") != row["category"]:
        raise KeyError(f"{b['project_id']}：抽取记录的工程类别与本工程不符")
    if ours is None or ours["id"] != b["record"]["recommended"]:
        raise KeyError(f"{b['project_id']}：抽取记录中的村推荐承包商与本村登记的不符")
    inputs = await draw_inputs(conn, b["project_id"])
    if inputs is None or inputs["value"] is None or b["record"].get("seed_sources", [None])[0] != f"village:{inputs['value']}":
        raise ValueError(f"{b['project_id']}：抽取记录的种子来源中没有本村公布的随机值")
    if inputs["fixed"]["pool_hash"] != b["record"]["pool_hash"]:
        raise ValueError(f"{b['project_id']}：抽取所用的库与固定时公布的不符")
    names = {c.id: c.name for c in rules.parse_pool(b["record"]["pool"])}
    invited = [ours, *({"id": i, "name": names[i]} for i in result.drawn)]
    await _move(conn, entry, "approved", "drawn", invited=_json(invited), draw=_json(b["record"]))


async def quoting(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The township invited the three: the window's close, and its hotline ("121") on the notice from now on."""
    b = entry.body
    row = await project(conn, b["project_id"])
    if row is None or row["status"] != "drawn" or [c["id"] for c in b["invited"]] != [c["id"] for c in row["invited"]]:
        raise KeyError(f"{b['project_id']}：报价邀请与本工程的报价人不符")
    await conn.execute("INSERT INTO small_project_quoting (project_id, closes_at, hotline, entry) VALUES (?, ?, ?, ?)",
                       (b["project_id"], b["closes_at"], b["hotline"], entry.index))  # fmt: skip
    await _supervised(conn, entry, "hotline", entry.ts[:10], "", b["hotline"])


async def quoting_of(conn: aiosqlite.Connection, project_id: str) -> dict[str, Any] | None:
    async with conn.execute("SELECT * FROM small_project_quoting WHERE project_id = ?", (project_id,)) as cur:
        found = _rows(cur, await cur.fetchall())
    return found[0] if found else None


async def opened(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The township's opening of the sealed quotes: applied only when the winner and each quote's validity are
    what :func:`rules.winner` gives over the project's invited contractors and budget (else an anomaly)."""
    b = entry.body
    winner = b.get("winner")
    row = await project(conn, b["project_id"])
    if row is None or row["invited"] is None:
        raise KeyError(f"{b['project_id']} 尚未抽取报价人")
    amounts = [(q["contractor"], q["amount_fen"]) for q in b["quotes"]]
    again = rules.opening(row["invited"], amounts, b.get("blacklisted", []), int(row["total_fen"]))
    stated = {"quotes": [{k: q[k] for k in ("contractor", "name", "amount_fen", "invalid")} for q in b["quotes"]],
              "winner": winner}  # fmt: skip
    if again != stated:
        raise ValueError(f"{b['project_id']}：开标结果与报价按规则重算的不符")
    await _move(conn, entry, "drawn", "awarded" if winner else "failed", quotes=_json(b["quotes"]), observer=b["observer"],
                winner=_json(winner) if winner else None, opened_on=b["opened_on"])  # fmt: skip
    if b.get("hotline") and await quoting_of(conn, b["project_id"]) is None:  # "121": its number, if not yet shown
        await _supervised(conn, entry, "hotline", b["opened_on"], "", b["hotline"])


async def _supervised(conn: aiosqlite.Connection, entry: Entry, kind: str, day: str, who: str, text: str) -> None:
    await conn.execute(
        "INSERT INTO small_project_supervision (project_id, kind, day, who, text, entry) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.body["project_id"], kind, day, who, text, entry.index),
    )


async def progress(conn: aiosqlite.Connection, entry: Entry) -> None:
    b, f = entry.body, entry.body["file"]
    await conn.execute(
        "INSERT INTO small_project_progress (project_id, stage, day, note, sha256, name, size, account, entry, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (b["project_id"], b["stage"], b["day"], b["note"], f["sha256"], f["name"], int(f["size"]), b["account"], entry.index, entry.ts),
    )  # fmt: skip


async def progress_of(conn: aiosqlite.Connection, project_id: str | None = None) -> list[dict[str, Any]]:
    """The works' steps shown (of one project, or all), in the order recorded."""
    where = " WHERE project_id = ?" if project_id else ""
    async with conn.execute(f"SELECT * FROM small_project_progress{where} ORDER BY entry", (project_id,) if project_id else ()) as cur:
        return _rows(cur, await cur.fetchall())


async def uploaded_since(conn: aiosqlite.Connection, account: str, since: str) -> int:
    """Bytes ``account`` has added to the notice board since ``since`` (UTC ISO), for the daily quota."""
    async with conn.execute("SELECT COALESCE(SUM(size), 0) FROM small_project_progress WHERE account = ? AND at >= ?",
                            (account, since)) as cur:  # fmt: skip
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def checked(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    row = await project(conn, b["project_id"])
    if row is None or row["status"] not in ("awarded", "completed"):
        raise KeyError(f"{b['project_id']} 尚未定标")
    await _supervised(conn, entry, "check", b["day"], b["inspector"], b["findings"])


async def complaint(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    if await project(conn, b["project_id"]) is None:
        raise KeyError(f"没有工程 {b['project_id']}")
    await _supervised(conn, entry, "complaint", b["received_on"], "匿名" if b["anonymous"] else "实名", b["summary"])


async def supervision(conn: aiosqlite.Connection, project_id: str | None = None) -> list[dict[str, Any]]:
    """The "121" records of a project (of all, without one), in the order they came."""
    where = " WHERE project_id = ?" if project_id else ""
    async with conn.execute(f"SELECT * FROM small_project_supervision{where} ORDER BY entry", (project_id,) if project_id else ()) as cur:
        return _rows(cur, await cur.fetchall())


async def completed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await _move(conn, entry, "awarded", "completed", accepted_on=b["accepted_on"], settled_fen=int(b["settled_fen"]))


PROJECTION: Mapping[str, Handler] = {
    K.CATALOGUE: catalogue,
    K.FILED: filed,
    K.APPROVAL: approval,
    K.APPROVED: village_approved,
    K.TOWNSHIP_STEP: township_step,
    K.REJECTED: _decided("rejected"),
    K.RECOMMENDED: recommended,
    K.FIXED: fixed,
    K.REVEALED: revealed,
    K.DRAWN: drawn,
    K.QUOTING: quoting,
    K.OPENED: opened,
    K.PROGRESS: progress,
    K.CHECKED: checked,
    K.COMPLAINT: complaint,
    K.COMPLETED: completed,
}


# -- reading the working state ------------------------------------------------------------------------------


def _rows(cur: aiosqlite.Cursor, rows: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def current_catalogue(conn: aiosqlite.Connection) -> rules.Catalogue | None:
    """The catalogue in force: the latest effective date, then the latest received."""
    async with conn.execute(
        "SELECT version, effective, items FROM small_project_catalogues ORDER BY effective DESC, entry DESC LIMIT 1"
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return rules.parse_catalogue({"version": row[0], "effective": row[1], "items": json.loads(row[2])})


_JSON_COLUMNS = ("lines", "route", "done", "recommended", "invited", "draw", "quotes", "winner")


def _project(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{c: json.loads(row[c]) if row[c] is not None else None for c in _JSON_COLUMNS}}


async def projects(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT * FROM small_project_projects"
        + (" WHERE status = ?" if status else "")
        + " ORDER BY filed_at DESC, id DESC"
    )
    async with conn.execute(sql, (status,) if status else ()) as cur:
        return [_project(r) for r in _rows(cur, await cur.fetchall())]


async def project(conn: aiosqlite.Connection, project_id: str) -> dict[str, Any] | None:
    async with conn.execute("SELECT * FROM small_project_projects WHERE id = ?", (project_id,)) as cur:
        found = _rows(cur, await cur.fetchall())
    return _project(found[0]) if found else None


async def township_steps(conn: aiosqlite.Connection, project_id: str) -> list[dict[str, Any]]:
    async with conn.execute(
        "SELECT approver, approve, reason, at FROM small_project_township_steps WHERE project_id = ? ORDER BY entry",
        (project_id,),
    ) as cur:
        return _rows(cur, await cur.fetchall())


async def count(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT COUNT(*) FROM small_project_projects") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
