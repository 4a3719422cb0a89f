"""``qinglian projects draw`` and ``qinglian projects verify-draw``: anyone re-runs a published draw.

``qinglian projects draw --pool POOL.json --recommended ID --seed HEX [--category C] [--json]``: POOL.json is a
list of ``{"id", "name", "categories": [...], "blacklisted": bool}``; the answer is ``{"drawn": [id, id],
"pool_hash": ..., "seed": ...}``. ``qinglian projects verify-draw RECORD.json``: RECORD.json is a published draw,
``{"pool": [...], "recommended", "seed", "category" (optional), "pool_hash", "drawn": [id, id]}`` and optionally
``"seed_sources": [...]`` (then the seed must be their combination); exit 0 when it matches, 1 when not.
Both use :func:`rules.draw`, as the central does. Bad input (or fewer than two eligible): exit 2 with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, output

MAX_FILE_BYTES = 4 * 1024 * 1024


class BadInput(Exception):
    """Input the command refuses; the message says where."""


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInput(f"{path}：文件过大（最多 {MAX_FILE_BYTES // (1024 * 1024)} MB）")
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} 第 {exc.lineno} 行：JSON 格式错误：{exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"无法读取 cannot read {path}: {exc}") from None


def draw_json(result: rules.Draw) -> dict[str, Any]:
    return {"drawn": list(result.drawn), "pool_hash": result.pool_hash, "seed": result.seed}


def _refuse(exc: BadInput | rules.RuleError) -> int:
    print(f"输入错误 bad input: {exc.message if isinstance(exc, rules.RuleError) else exc}", file=sys.stderr)
    return EXIT_USAGE


def _draw(args: argparse.Namespace) -> int:
    try:
        pool = rules.parse_pool(_read_json(args.pool))
        result = rules.draw(pool, args.recommended, args.seed, args.category)
    except (BadInput, rules.RuleError) as exc:
        return _refuse(exc)
    out = draw_json(result)
    human = (f"库哈希 pool_hash: {result.pool_hash}\n种子 seed: {result.seed}\n"
             f"可抽 eligible: {', '.join(result.eligible)}\n抽中 drawn: {', '.join(result.drawn)}")  # fmt: skip
    output(args, out, human)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    try:
        record = _read_json(args.record)
        if not isinstance(record, dict):
            raise BadInput("记录应为 JSON 对象 {pool, recommended, seed, pool_hash, drawn}")
        result, problems = rules.verify_draw(record)
    except (BadInput, rules.RuleError) as exc:
        return _refuse(exc)
    out = {"ok": not problems, **draw_json(result), "problems": problems}
    output(args, out, "\n".join(problems) if problems else f"一致 matches: {', '.join(result.drawn)}")
    return EXIT_FAILED if problems else EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser("projects", help="限额工程 small projects: the verifiable contractor draw")
    actions = group.add_subparsers(dest="projects_command", required=True, metavar="ACTION")
    draw = actions.add_parser("draw", help="从承包商库抽取两家 draw two contractors (RFC 3797 style)")
    draw.add_argument("--pool", type=Path, required=True, metavar="POOL.json")
    draw.add_argument("--recommended", required=True, metavar="ID", help="村推荐的承包商 the village's recommended one")
    draw.add_argument("--seed", required=True, metavar="HEX")
    draw.add_argument("--category", metavar="C", help="工程类别 only those qualified for it")
    draw.add_argument("--json", action="store_true")
    draw.set_defaults(func=_draw)
    verify = actions.add_parser("verify-draw", help="重算一次公布的抽取 re-run a published draw: exit 0 match, 1 not")
    verify.add_argument("record", type=Path, metavar="RECORD.json")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=_verify)
