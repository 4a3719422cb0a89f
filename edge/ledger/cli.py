"""``qinglian ledger verify|show``: check and read a ledger without the running agent.

Exit codes: 0 intact / shown, 1 verification failed (tampered or unreadable),
2 no ledger or unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .entry import Entry
from .keys import load_public_key
from .schema import DB_FILENAME, ENTRY_COLUMNS, connect_readonly
from .verify import verify_ledger

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Times are stored in UTC and shown in China Standard Time (no DST since 1991),
# without depending on the tz database being installed on the Pi.
_SHANGHAI = timezone(timedelta(hours=8), "CST")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ledger verify`` and ``ledger show`` to the ``qinglian`` command."""
    ledger = subparsers.add_parser("ledger", help="台账 tamper-evident ledger: verify, show")
    actions = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="离线核验台账 verify a ledger offline")
    verify.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    verify.add_argument(
        "--pubkey", type=Path, help="用此公钥核验签名 check signatures against this PEM key (default: the ledger's own)"
    )
    verify.add_argument("--json", action="store_true", help="输出 JSON print the report as JSON")
    verify.set_defaults(func=_verify)

    show = actions.add_parser("show", help="显示台账条目 print ledger entries")
    show.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    show.add_argument("--kind", help="只显示此类条目 only entries of this kind")
    show.add_argument(
        "--limit",
        type=_non_negative,
        default=50,
        help="显示最后 N 条, 0 为全部 show the last N entries, 0 for all (default 50)",
    )
    show.add_argument("--json", action="store_true", help="每行一个 JSON one JSON object per line")
    show.set_defaults(func=_show)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"必须 ≥ 0 must be ≥ 0: {text}")
    return value


def _verify(args: argparse.Namespace) -> int:
    try:
        key = load_public_key(args.pubkey) if args.pubkey else None
        report = verify_ledger(args.data, key)
    except (OSError, ValueError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    elif report.ok:
        print(f"✓ {report.reason}")
    else:
        where = "" if report.first_bad_index is None else f" — 首个问题条目 first bad entry: {report.first_bad_index}"
        print(f"✗ 台账核验失败 ledger verification FAILED{where} — {report.reason}")
    return EXIT_OK if report.ok else EXIT_FAILED


def _local_time(ts: str) -> str:
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return moment.astimezone(_SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _show(args: argparse.Namespace) -> int:
    where, params = ("WHERE kind = ?", (args.kind,)) if args.kind else ("", ())
    try:
        conn = connect_readonly(args.data / DB_FILENAME)
    except FileNotFoundError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        rows: Iterable[tuple[Any, ...]]
        query = f"SELECT {ENTRY_COLUMNS} FROM entries {where} ORDER BY idx"
        if args.limit:  # the last N, printed oldest first
            rows = conn.execute(f"{query} DESC LIMIT ?", (*params, args.limit)).fetchall()
            rows.reverse()
        else:  # everything, streamed
            rows = conn.execute(query, params)
        for row in rows:
            try:
                entry = Entry.from_row(row)
            except (TypeError, ValueError):
                print(
                    f"✗ 第 {row[0]} 条无法解析 entry {row[0]} is unreadable; run `qinglian ledger verify`",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            if args.json:
                print(json.dumps(entry.to_dict(), ensure_ascii=False))
            else:
                body = json.dumps(entry.body, ensure_ascii=False, sort_keys=True)
                print(f"#{entry.index:<6} {_local_time(entry.ts)}  {entry.kind}  {body}")
    finally:
        conn.close()
    return EXIT_OK
