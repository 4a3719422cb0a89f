"""A part that exists only for the tests: everything a governance module registers, through the contract alone.

It writes its ledger kinds (an item filed for one approver; the decisions, recorded by the kernel's routing
desk under its prefix), keeps one table,
shows a page with a nav tab, answers a CLI command, offers an export, puts its pending items in the
console's 待审批 inbox and its decided ones on the village notice board. Nothing in the kernel, the seal
or the web shell names it: tests open the agent with ``(*PARTS, EXAMPLE)``.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from edge.kernel.clikit import EXIT_OK, config_command, output
from edge.kernel.config import EdgeConfig
from edge.kernel.contract import Awaiting, Export, NavItem, Part, Published
from edge.kernel.db import DB_FILENAME
from edge.kernel.errors import NotFound, Refused
from edge.kernel.routing import RefusalBudget, Routed, RouteDesk
from edge.ledger import Entry

NAME = "example"
FILED, APPROVAL, DECIDED, REFUSED, REJECTED = (f"{NAME}.{k}" for k in ("filed", "approval", "approved", "approval_refused", "rejected"))
SCHEMA = """
CREATE TABLE IF NOT EXISTS example_items (
    id       TEXT PRIMARY KEY,
    title    TEXT NOT NULL,
    approver TEXT NOT NULL,   -- the person of the roster who decides it
    phone    TEXT NOT NULL,   -- personal: the board and the export must never show it
    status   TEXT NOT NULL,   -- pending | approved
    filed_at TEXT NOT NULL,
    decided_at TEXT
);
"""
STATUS_NAMES = {"pending": "待审批", "approved": "已同意"}
REFUSALS = RefusalBudget()  # refused approvals on record, per person and item and hour, as the seal keeps them


async def filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO example_items (id, title, approver, phone, status, filed_at) VALUES (?, ?, ?, ?, 'pending', ?)",
        (b["id"], b["title"], b["approver"], b["phone"], entry.ts),
    )


async def decided(conn: aiosqlite.Connection, entry: Entry) -> None:
    await conn.execute("UPDATE example_items SET status = 'approved', decided_at = ? WHERE id = ?", (entry.ts, entry.body["id"]))


async def items(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM example_items" + (" WHERE status = ?" if status else "") + " ORDER BY filed_at, id"
    async with conn.execute(sql, (status,) if status else ()) as cur:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


def routed(row: dict[str, Any]) -> Routed:
    """An item as the kernel's routing rules read it: one approver, who decides alone."""
    pending = row["status"] == "pending"
    route = {"rule": "example", "mode": "chain", "n": 1, "approvers": [row["approver"]]}
    return Routed(row["id"], row["status"], STATUS_NAMES[row["status"]], pending, route, () if pending else (row["approver"],))


# -- the console: a page, its tab, a decision, the inbox --------------------------------------------------


async def inbox(shell: Any, p: Any) -> list[Awaiting]:
    async with shell.console.agent.recorder.step():
        pending = await items(shell.console.agent.db.conn, "pending")
    return [
        Awaiting(r["id"], r["title"], "示例事项", f"/example#{r['id']}", r["filed_at"], routed(r))
        for r in pending if r["approver"] == p.person_id
    ]  # fmt: skip


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/example", include_in_schema=False)
    async def page(request: Request) -> Response:
        p = await shell.principal_of(request)
        async with shell.console.agent.recorder.step():
            rows = await items(shell.console.agent.db.conn)
        return await shell.render(request, "example/items.html", items=rows, STATUS_NAMES=STATUS_NAMES, me=p.person_id)  # type: ignore[no-any-return]

    @api.post("/example/{item_id}/approve", include_in_schema=False)
    async def approve(request: Request, item_id: str) -> Response:
        p = await shell.acting(request)
        agent = shell.console.agent
        async with agent.recorder.step():
            row = next((r for r in await items(agent.db.conn, "pending") if r["id"] == item_id), None)
            if row is None:
                raise NotFound("没有此待审批事项")
            if p.person is None:
                raise Refused("您的账号没有审批权限", "not_approver")
            await RouteDesk(agent.recorder, NAME, "id", REFUSALS).approve(routed(row), p.person, p.account.username)
        await shell.flash(request, "ok", f"已同意 {item_id}")
        return RedirectResponse("/example", 303)

    return api


# -- lists: an export for logged-in staff, a public list on the board -------------------------------------


async def export_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    return [(r["id"], r["title"], STATUS_NAMES[r["status"]]) for r in await items(conn)]


async def publishes(conn: aiosqlite.Connection, village: str) -> list[Published]:
    done = await items(conn, "approved")
    if not done:
        return []
    # The phone column is read but published only to prove the board masks it: a real part leaves it out.
    rows = tuple((r["title"], r["phone"], r["decided_at"][:10]) for r in done)
    return [Published("示例公示", DECIDED, max(r["decided_at"] for r in done), ("事项", "联系电话", "同意日期"), rows)]


# -- the command line: `qinglian example count --config PATH [--json]` --------------------------------------


async def _count(args: argparse.Namespace, config: EdgeConfig) -> int:
    path = config.data_dir / DB_FILENAME
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        counts = dict(db.execute("SELECT status, COUNT(*) FROM example_items GROUP BY status").fetchall())
    output(args, counts, "  ".join(f"{STATUS_NAMES[k]} {v}" for k, v in sorted(counts.items())) or "没有示例事项")
    return EXIT_OK


def cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(NAME, help="示例部分 example part (tests only)")
    actions = group.add_subparsers(dest="example_command", required=True, metavar="ACTION")
    count = actions.add_parser("count", help="事项数 items by status")
    count.add_argument("--config", type=Path, required=True)
    count.add_argument("--json", action="store_true")
    count.set_defaults(func=config_command(_count))


EXAMPLE = Part(
    name=NAME,
    title="示例",
    kinds={FILED: "示例事项提交", APPROVAL: "示例审批同意", DECIDED: "示例事项通过", REFUSED: "示例审批被拒(规则)", REJECTED: "示例事项驳回"},
    schema=SCHEMA,
    schema_version=1,
    projection={FILED: filed, DECIDED: decided},
    routing_kinds=("example_item",),
    cli=cli,
    router=router,
    templates=Path(__file__).parent / "templates",
    nav=(NavItem("/example", "示例", ("approver", "supervisor")),),
    exports=(Export("items", "示例事项清单", ("编号", "事项", "状态"), export_rows),),
    publishes=publishes,
    inbox=inbox,
)
