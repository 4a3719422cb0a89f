"""``qinglian labour dispatch --pool POOL.json --jobs JOBS.json [--json]``: recompute a rotation from published inputs;
``qinglian labour audit --data DIR [--json]``: recompute every dispatch of the edge's ledger (exit 1 on a mismatch).

POOL.json is ``{"workers": [{"id", "name", "trade", "order", "blacklisted", "available"}]}`` (the ``order``
field, not the file's order, decides) and JOBS.json a list of ``{"id", "trade", "workers"}`` handled in
order, each trade's cursor starting before its first worker. It prints
``{"assignments": [{"job", "workers": [...]}], "skipped": [{"job", "worker", "reason"}]}`` with the same
rule the console's dispatch applies (``rules.rotate``). Exit 2, with a clear message, on bad input or when a
trade has fewer eligible workers than a job asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, output
from edge.kernel.errors import InputError
from edge.ledger import Entry, Ledger, LedgerError
from edge.modules.work_order.audit import audit
from edge.modules.work_order.rules import Candidate, rotate

MAX_FILE_BYTES = 10 * 1024 * 1024


def _read(path: Path, what: str) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{what} 文件过大 {path} is larger than {MAX_FILE_BYTES} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"无法读取{what} cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{what}不是有效的 JSON {path} is not valid JSON: {exc}") from None


def _field(item: Any, key: str, kind: type, where: str) -> Any:
    value = item.get(key) if isinstance(item, dict) else None
    if type(value) is not kind or (kind is str and not value):
        raise InputError(f"{where} 的 {key} 应为 {kind.__name__} {where}: {key} must be a {kind.__name__}")
    return value


def pools(data: Any) -> dict[str, list[Candidate]]:
    """POOL.json as candidates per trade."""
    if not isinstance(data, dict) or not isinstance(data.get("workers"), list):
        raise InputError('名库应为 {"workers": [...]} pool must be {"workers": [...]}')
    by_trade: dict[str, list[Candidate]] = {}
    for i, w in enumerate(data["workers"]):
        where = f"workers[{i}]"
        _field(w, "name", str, where)
        candidate = Candidate(_field(w, "id", str, where), _field(w, "order", int, where),
                              _field(w, "available", bool, where), _field(w, "blacklisted", bool, where))  # fmt: skip
        by_trade.setdefault(_field(w, "trade", str, where), []).append(candidate)
    ids = [c.id for cs in by_trade.values() for c in cs]
    if len(set(ids)) != len(ids):
        raise InputError("名库中工人编号重复 duplicate worker id")
    return by_trade


def run(pool: Any, jobs: Any) -> dict[str, Any]:
    """Every job in order, each trade with its own cursor."""
    by_trade = pools(pool)
    if not isinstance(jobs, list):
        raise InputError("任务应为列表 jobs must be a list")
    cursors: dict[str, int | None] = {}
    assignments, skipped = [], []
    for i, job in enumerate(jobs):
        where = f"jobs[{i}]"
        job_id, trade, count = _field(job, "id", str, where), _field(job, "trade", str, where), _field(job, "workers", int, where)
        if trade not in by_trade:
            raise InputError(f"{where}: 名库中没有工种 {trade!r:.40} no worker of this trade")
        try:
            result = rotate(by_trade[trade], cursors.get(trade), count)
        except InputError as exc:
            raise InputError(f"{where} ({job_id}): {exc.message}") from None
        cursors[trade] = result.cursor_after
        assignments.append({"job": job_id, "workers": list(result.workers)})
        skipped += [{"job": job_id, "worker": w, "reason": r} for w, r in result.skipped]
    return {"assignments": assignments, "skipped": skipped}


def _dispatch(args: argparse.Namespace) -> int:
    try:
        result = run(_read(args.pool, "名库 POOL"), _read(args.jobs, "任务 JOBS"))
    except InputError as exc:
        print(f"错误 error [{exc.code}]: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    human = "\n".join(f"{a['job']}: {', '.join(a['workers'])}" for a in result["assignments"])
    output(args, result, human or "没有任务 no jobs")
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    async def read() -> list[Entry]:
        ledger = await Ledger.open_reader(args.data)
        try:
            return await ledger.entries()
        finally:
            await ledger.close()

    try:
        result = audit(asyncio.run(read()))
    except (FileNotFoundError, LedgerError) as exc:
        print(f"错误 error: 无法读取台账 cannot read the ledger in {args.data}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    lines = [f"第 {m['entry']} 条 {m['order_id']}: 记录 {m['recorded']} ≠ 复算 {m['recomputed']}" for m in result["mismatches"]]
    human = "\n".join([f"复算派工 {result['dispatches']} 次，不符 {len(lines)} 次 dispatches recomputed, mismatches", *lines])
    output(args, result, human)
    return EXIT_FAILED if result["mismatches"] else EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser("labour", help="用工派工 labour dispatch")
    actions = group.add_subparsers(dest="labour_command", required=True, metavar="ACTION")
    dispatch = actions.add_parser("dispatch", help="按公开轮派顺序复算派工 recompute a rotation from POOL.json and JOBS.json")
    dispatch.add_argument("--pool", type=Path, required=True, help='{"workers": [{"id", "name", "trade", "order", "blacklisted", "available"}]}')
    dispatch.add_argument("--jobs", type=Path, required=True, help='[{"id", "trade", "workers"}], handled in order')
    dispatch.add_argument("--json", action="store_true")
    dispatch.set_defaults(func=_dispatch)
    check = actions.add_parser("audit", help="由台账复算每次派工 recompute every dispatch of this edge's ledger")
    check.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_audit)
