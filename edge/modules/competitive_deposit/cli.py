"""``qinglian deposit tender FILE.json [--config EDGE.toml] [--json]``: recompute a tender from its inputs.

FILE.json is ``{"as_of": "YYYY-MM-DD", "accounts": [{"village", "account", "idle_yuan", "idle_since"}],
"bids": [{"bank", "rate_percent", "operating_score", "agri_support_score"}]}`` (amounts, rates and scores as
decimal strings), and optionally ``"rate_points"`` (the tender's, "80" when absent: a county may set another and
records it with the tender); the answer is ``{"eligible": [account, ...], "total_yuan", "ranking": [{"bank",
"score", ...}], "winner"}``, computed by the same rules as the console and the central (:mod:`rules`). Each
ranking line also carries what its score is made of (``rate_percent``, ``rate_points``: the rate's points to two
decimals, ``operating_score``, ``agri_support_score``) so an outsider adds it up; every score is exact decimals
rounded half up to two decimals once, on the total. The thresholds are the defaults (3,000,000.00 yuan, more
than 6 months) or the ``[competitive_deposit]`` table of ``--config``. A bid's order in the file is its order in
time (the tie-break's "earlier bid"). Bad input: exit 2, naming the line.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import edge.modules.competitive_deposit.rules as rules
from edge.kernel.clikit import EXIT_OK, EXIT_USAGE, output
from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError
from edge.kernel.fmt import AmountError, parse_yuan
from edge.modules.competitive_deposit.settings import MAX_FEN, DepositSettings, settings_of

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 10_000


class BadInput(Exception):
    """Input the command refuses; the message names the line (or the item) at fault."""


def _item_lines(text: str, key: str) -> list[int]:
    """The line each element of the top-level array ``key`` starts on, to name the line at fault."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    at = text.find(f'"{key}"')
    at = text.find("[", at) + 1 if at >= 0 else 0
    while 0 < at < len(text):
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        if at >= len(text) or text[at] == "]":
            break
        lines.append(text.count("\n", 0, at) + 1)
        try:
            at = decoder.raw_decode(text, at)[1]
        except ValueError:
            break
    return lines


def _where(lines: list[int], key: str, i: int) -> str:
    return f"第 {lines[i]} 行（{key}[{i}]）" if i < len(lines) else f"{key}[{i}]"


def _field(item: Any, name: str, where: str) -> str:
    if not isinstance(item, dict):
        raise BadInput(f"{where}：应为对象")
    value = item.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise BadInput(f"{where}：{name} 应为非空字符串（金额、利率、评分写成小数文字）")
    return value.strip()


def _rate_points(raw: dict[str, Any], text: str) -> Decimal:
    given = raw.get("rate_points", str(rules.DEFAULT_RATE_POINTS))
    if not isinstance(given, str) or not given.isascii() or not given.isdigit() or not 1 <= int(given) <= 80:
        line = text.count("\n", 0, max(text.find('"rate_points"'), 0)) + 1
        raise BadInput(f"第 {line} 行：rate_points 应为 1 到 80 的整数文字，例如 \"80\"")
    return Decimal(given)


def parse_tender(text: str) -> tuple[date, list[rules.IdleAccount], list[rules.Bid], Decimal]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"第 {exc.lineno} 行：JSON 格式错误：{exc.msg}") from None
    if not isinstance(raw, dict):
        raise BadInput("第 1 行：应为 JSON 对象 {as_of, accounts, bids}")
    given = raw.get("as_of")
    try:
        as_of = date.fromisoformat(given) if isinstance(given, str) else None
    except ValueError:
        as_of = None
    if as_of is None:
        line = text.count("\n", 0, max(text.find('"as_of"'), 0)) + 1
        raise BadInput(f"第 {line} 行：as_of 应为日期 YYYY-MM-DD")
    rate_points = _rate_points(raw, text)
    accounts_raw, bids_raw = raw.get("accounts"), raw.get("bids")
    if not isinstance(accounts_raw, list) or not isinstance(bids_raw, list) or len(accounts_raw) + len(bids_raw) > MAX_ITEMS:
        raise BadInput("accounts 和 bids 应为列表（合计最多 10000 项）")
    lines = _item_lines(text, "accounts")
    accounts: list[rules.IdleAccount] = []
    for i, item in enumerate(accounts_raw):
        where = _where(lines, "accounts", i)
        village, account = _field(item, "village", where), _field(item, "account", where)
        try:
            fen = parse_yuan(_field(item, "idle_yuan", where), MAX_FEN)
            since = date.fromisoformat(_field(item, "idle_since", where))
        except (AmountError, ValueError) as exc:
            raise BadInput(f"{where}：{getattr(exc, 'message', None) or 'idle_since 应为日期 YYYY-MM-DD'}") from None
        if since > as_of:
            raise BadInput(f"{where}：idle_since 晚于 as_of")
        accounts.append(rules.IdleAccount(village, account, fen, since))
    lines = _item_lines(text, "bids")
    bids: list[rules.Bid] = []
    for i, item in enumerate(bids_raw):
        where = _where(lines, "bids", i)
        bank = _field(item, "bank", where)
        try:
            bid = rules.Bid(bank, rules.parse_rate(_field(item, "rate_percent", where)), rules.parse_score(_field(item, "operating_score", where)),
                            rules.parse_score(_field(item, "agri_support_score", where)), i)  # fmt: skip
        except rules.RuleError as exc:
            raise BadInput(f"{where}：{exc.message}") from None
        if any(b.bank == bank for b in bids):
            raise BadInput(f"{where}：银行 {bank} 重复报价")
        bids.append(bid)
    return as_of, accounts, bids, rate_points


def result_json(result: rules.TenderResult) -> dict[str, Any]:
    return {
        "eligible": [a.account for a in result.eligible],
        "total_yuan": rules.yuan_text(result.total_fen).replace(",", ""),
        "ranking": [
            {"bank": s.bank, "score": str(s.score), "rate_percent": str(s.bid.rate_percent), "rate_points": str(s.rate_points),
             "operating_score": str(s.bid.operating_score), "agri_support_score": str(s.bid.agri_support_score)}
            for s in result.ranking
        ],  # fmt: skip
        "winner": result.winner,
    }


def _tender(args: argparse.Namespace) -> int:
    try:
        s = settings_of(load_config(args.config, args.config_sections)) if args.config else DepositSettings()
        path: Path = args.file
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInput(f"文件过大（最多 {MAX_FILE_BYTES // (1024 * 1024)} MB）")
        as_of, accounts, bids, rate_points = parse_tender(path.read_text(encoding="utf-8"))
    except (BadInput, ConfigError) as exc:
        print(f"输入错误 bad input: {exc.message if isinstance(exc, ConfigError) else exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"无法读取 cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = rules.tender(as_of, accounts, bids, s.min_idle_fen, s.min_idle_months, rate_points)
    out = result_json(result)
    lines = [f"应竞争性存放 eligible: {', '.join(out['eligible']) or '无'}（合计 {rules.yuan_text(result.total_fen)} 元）"]
    lines += [f"  {n}. {r['bank']}  {r['score']} = {r['rate_points']} + {r['operating_score']} + {r['agri_support_score']}（利率 {r['rate_percent']}%）"
              for n, r in enumerate(out["ranking"], 1)]  # fmt: skip
    lines.append(f"中标 winner: {out['winner'] or '无'}")
    output(args, out, "\n".join(lines))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser("deposit", help="竞争性存放 competitive deposit of idle village funds")
    actions = group.add_subparsers(dest="deposit_command", required=True, metavar="ACTION")
    tender = actions.add_parser("tender", help="按规则重算一次招标 recompute a tender: eligibility, scores, winner")
    tender.add_argument("file", type=Path, metavar="FILE.json")
    tender.add_argument("--config", type=Path, help="边缘配置，读取 [competitive_deposit] 门槛 the thresholds' config")
    tender.add_argument("--json", action="store_true")
    tender.set_defaults(func=_tender)
