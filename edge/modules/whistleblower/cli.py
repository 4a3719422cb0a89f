"""``qinglian whistleblower rate --year YYYY --data DIR [--json]``: the year's ratings recomputed from the ledger
alone (read-only, beside a running agent), with the rules the year's rating run recorded (the defaults if none
ran). Prints ``{"station", "ratings": [{"person", "rating", "clues", "confirmed", "solved"}], "figures": {"clues",
"review_meetings", "qa_meetings", "solved"}}`` — a contract outside tools rely on."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, output
from edge.ledger import Ledger, LedgerError
from edge.modules.whistleblower.kinds import NAME
from edge.modules.whistleblower.rules import RATING_NAMES
from edge.modules.whistleblower.yearbook import YEAR_KINDS, Year, read_year


async def recompute(data: Path, year: int) -> Year:
    ledger = await Ledger.open_reader(data)
    try:
        entries = [e for kind in YEAR_KINDS for e in await ledger.entries_of_kind(kind)]
    finally:
        await ledger.close()
    return read_year(entries, year)


def _rate(args: argparse.Namespace) -> int:
    if not 2000 <= args.year <= 9999:
        print("错误 error: 年度应为 4 位数字 --year must be a year like 2025", file=sys.stderr)
        return EXIT_USAGE
    try:
        record = asyncio.run(recompute(args.data, args.year))
    except (FileNotFoundError, LedgerError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    data = record.to_json()
    lines = [f"{record.station or '（未建站）'} {args.year} 年度评定 ratings"]
    lines += [
        f"  {r['person']:<12} {RATING_NAMES[r['rating']]}  线索 {r['clues']}  查实 {r['confirmed']}  解决 {r['solved']}"
        for r in data["ratings"]
    ]
    f = data["figures"]
    lines.append(
        f"  收集线索 {f['clues']}  研判会 {f['review_meetings']}  答廉会 {f['qa_meetings']}  解决问题 {f['solved']}"
    )
    output(args, data, "\n".join(lines))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(NAME, help="廉情吹哨人 integrity whistleblowers")
    actions = group.add_subparsers(dest="whistleblower_command", required=True, metavar="ACTION")
    rate = actions.add_parser("rate", help="按台账重算年度评定 recompute a year's ratings from the ledger")
    rate.add_argument("--year", type=int, required=True)
    rate.add_argument("--data", type=Path, required=True, help="数据目录 the edge's data folder")
    rate.add_argument("--json", action="store_true")
    rate.set_defaults(func=_rate)
