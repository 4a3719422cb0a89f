"""``qinglian procurement audit FILE.csv [--json]``: the split-purchase audit over a list of purchases; and
``qinglian procurement export-ocds --config PATH --out FILE.json [--from DAY] [--to DAY]``: the village's
demands that went up to the township, as an OCDS 1.1 release package (``ocds.py``).

FILE has the columns ``id,village,date,project,category,amount_yuan,supplier,channel`` (UTF-8, a BOM is
fine). Prints ``{"flags": [{"rule", "village", "ids", "total_yuan"}]}``: every group of one village's
purchases — one project, or one category within two months (see rules.py) — that reaches 5,000 yuan and
holds an offline purchase. Exit 0 with no flags, 1 with flags, 2 on bad input: a bad row names its line and
column, and nothing is half-read (the whole file is checked before any group is formed).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import aiosqlite

import edge.modules.procurement.db as db  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.ocds as ocds  # noqa: PLR0402  (not from the package: its __init__ imports this)
from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, config_command, output
from edge.kernel.config import EdgeConfig
from edge.kernel.db import DB_FILENAME
from edge.kernel.errors import InputError
from edge.kernel.files import write_atomic
from edge.kernel.fmt import DEFAULT_MAX_AMOUNT_FEN, AmountError, parse_yuan
from edge.ledger.entry import utc_now
from edge.ledger.localtime import local_day
from edge.modules.procurement.kinds import NAME
from edge.modules.procurement.rules import CHANNEL_NAMES, RULE_NAMES, Purchase, audit, yuan_text

COLUMNS = ("id", "village", "date", "project", "category", "amount_yuan", "supplier", "channel")
MAX_BYTES = 64 * 1024 * 1024


class BadRow(ValueError):
    pass


def read_purchases(path: Path) -> dict[str, list[Purchase]]:
    """The file's purchases by village; :class:`BadRow` naming the line and column of the first bad cell."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadRow(f"文件过大（最多 {MAX_BYTES >> 20} MB）file too large")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRow(f"无法读取 cannot read {path}: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return _rows(reader)
    except csv.Error as exc:
        raise BadRow(f"第 {reader.line_num} 行 line {reader.line_num}: CSV 格式错误 malformed CSV: {exc}") from None


def _rows(reader: Any) -> dict[str, list[Purchase]]:
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise BadRow(f"第 1 行 line 1: 表头应为 header must be {','.join(COLUMNS)}")
    by_village: dict[str, list[Purchase]] = {}
    seen: set[tuple[str, str]] = set()
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            raise BadRow(
                f"第 {line} 行 line {line}: 应有 {len(COLUMNS)} 列 expected {len(COLUMNS)} columns, got {len(row)}"
            )
        cells = dict(zip(COLUMNS, (c.strip() for c in row), strict=True))

        def bad(column: str, why: str, line: int = line) -> BadRow:
            return BadRow(f"第 {line} 行 {column} 列 line {line}, column {column}: {why}")

        for column in ("id", "village", "category"):
            if not cells[column]:
                raise bad(column, "不能为空 must not be empty")
        try:
            day = date.fromisoformat(cells["date"]) if len(cells["date"]) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise bad("date", f"应为 YYYY-MM-DD expected YYYY-MM-DD, got {cells['date']!r:.30}")
        try:
            fen = parse_yuan(cells["amount_yuan"], DEFAULT_MAX_AMOUNT_FEN)
        except AmountError as exc:
            raise bad("amount_yuan", exc.message) from None
        if cells["channel"] not in CHANNEL_NAMES:
            raise bad("channel", f"应为 platform 或 offline expected platform or offline, got {cells['channel']!r:.30}")
        if (cells["village"], cells["id"]) in seen:
            raise bad("id", f"编号重复 duplicate id {cells['id']!r:.40}")
        seen.add((cells["village"], cells["id"]))
        by_village.setdefault(cells["village"], []).append(
            Purchase(cells["id"], day, cells["category"], fen, cells["channel"], cells["project"])
        )
    return by_village


def _audit(args: argparse.Namespace) -> int:
    try:
        by_village = read_purchases(args.file)
    except BadRow as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": {"code": "bad_input", "message": str(exc)}}, ensure_ascii=False))
        print(f"错误 error [bad_input]: {exc}", file=sys.stderr)
        return EXIT_USAGE
    flags: list[dict[str, Any]] = []
    for village in sorted(by_village):
        for g in audit(by_village[village]):
            flags.append(
                {"rule": g.rule, "village": village, "ids": list(g.ids), "total_yuan": yuan_text(g.total_fen)}
            )
    if args.json:
        print(json.dumps({"flags": flags}, ensure_ascii=False))
    else:
        for f in flags:
            print(f"{f['village']} {RULE_NAMES[f['rule']]} {f['total_yuan']} 元: {', '.join(f['ids'])}")
        print(f"共 {len(flags)} 处拆分采购嫌疑 {len(flags)} flag(s)")
    return EXIT_FAILED if flags else EXIT_OK


#: A demand is public from the moment it went up to the township; before that it is the village's own draft.
UNPUBLISHED = ("pending", "rejected", "approved")


def _day_arg(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} 应为 YYYY-MM-DD must be YYYY-MM-DD, got {text!r:.30}", "bad_date") from None


async def _export_ocds(args: argparse.Namespace, config: EdgeConfig) -> int:
    since, until = _day_arg(args.since, "--from"), _day_arg(args.until, "--to")
    path = config.data_dir / DB_FILENAME
    async with aiosqlite.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        conn.row_factory = aiosqlite.Row
        releases = []
        for demand in reversed(await db.demands(conn)):
            filed = date.fromisoformat(local_day(demand["filed_at"]))
            if demand["status"] in UNPUBLISHED or (since and filed < since) or (until and filed > until):
                continue
            releases.append(
                (demand["updated_at"], ocds.release(config.village, demand, await db.payments(conn, demand["id"])))
            )
    published = max((at for at, _ in releases), default=utc_now())
    write_atomic(args.out, ocds.package(config.village, [r for _, r in releases], published))
    output(
        args,
        {"releases": len(releases), "out": str(args.out)},
        f"已导出 {len(releases)} 条采购公开数据 OCDS releases -> {args.out}",
    )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(NAME, help="一网采购 procurement")
    actions = group.add_subparsers(dest="procurement_command", required=True, metavar="ACTION")
    check = actions.add_parser("audit", help="拆分采购核查 the split-purchase audit over a CSV of purchases")
    check.add_argument("file", type=Path, metavar="FILE.csv")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_audit)
    export = actions.add_parser("export-ocds", help="开放合同数据 the demands sent up, as an OCDS 1.1 release package")
    export.add_argument("--config", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True, metavar="FILE.json")
    export.add_argument("--from", dest="since", metavar="YYYY-MM-DD", help="demands filed on or after this day")
    export.add_argument("--to", dest="until", metavar="YYYY-MM-DD", help="demands filed on or before this day")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=config_command(_export_ocds))
