"""``qinglian whistleblower rate --year YYYY --data DIR [--json]``: the year's ratings recomputed from the ledger
alone (read-only, beside a running agent), with the rules the year's rating run recorded (the defaults if none
ran). Prints ``{"station", "ratings": [{"person", "rating", "clues", "confirmed", "solved"}], "figures": {"clues",
"review_meetings", "qa_meetings", "solved"}}`` — a contract outside tools rely on.

For the township discipline officer, on their own machine (their private key never reaches an edge):
``qinglian whistleblower township-key --out FILE`` makes their key pair (the private half wrapped by a passphrase
read from the terminal or stdin) and prints the public half for the edges' ``[whistleblower] township_public_key``;
``qinglian whistleblower open --key FILE --file CLUE.json`` opens the sealed envelopes downloaded from the central
store's ``/m/whistleblower``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import edge.modules.whistleblower.crypto as crypto
from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, output
from edge.kernel.errors import InputError
from edge.ledger import Ledger, LedgerError
from edge.ledger.private import open_private
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


def _passphrase(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


def _township_key(args: argparse.Namespace) -> int:
    if args.out.exists():
        print(f"错误 error: {args.out} 已存在 already exists", file=sys.stderr)
        return EXIT_USAGE
    key = X25519PrivateKey.generate()
    try:
        wrapped = crypto.wrap_private(key, _passphrase("口令 passphrase: "))
    except InputError as exc:
        print(f"错误 error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    with open_private(args.out, exclusive=True) as f:
        f.write(wrapped)
    public = crypto.public_text(key.public_key())
    output(
        args,
        {"public_key": public, "fingerprint": crypto.fingerprint(key.public_key())},
        f'township_public_key = "{public}"',
    )
    return EXIT_OK


def _open(args: argparse.Namespace) -> int:
    try:
        key = crypto.unwrap_private(args.key.read_bytes(), _passphrase("口令 passphrase: "))
        bundle = json.loads(args.file.read_text(encoding="utf-8"))
        opened = []
        for item in bundle["items"]:
            content = crypto.open_sealed(item["envelope"], key, f"{item['clue']}:{item['kind']}")
            content.pop("reporter_key", None)
            opened.append({"kind": item["kind"], "author": item["author"], "at": item["at"], **content})
    except InputError as exc:
        print(f"错误 error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"错误 error: 无法读取 cannot read {exc}", file=sys.stderr)
        return EXIT_FAILED
    human = "\n".join(f"[{o['kind']}] {o['at']}  {o.get('text', '')}" for o in opened)
    output(args, {"clue": bundle.get("clue"), "village": bundle.get("village"), "items": opened}, human)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(NAME, help="廉情吹哨人 integrity whistleblowers")
    actions = group.add_subparsers(dest="whistleblower_command", required=True, metavar="ACTION")
    rate = actions.add_parser("rate", help="按台账重算年度评定 recompute a year's ratings from the ledger")
    rate.add_argument("--year", type=int, required=True)
    rate.add_argument("--data", type=Path, required=True, help="数据目录 the edge's data folder")
    rate.add_argument("--json", action="store_true")
    rate.set_defaults(func=_rate)
    made = actions.add_parser("township-key", help="乡镇纪委生成密钥对 make the township officer's key pair")
    made.add_argument("--out", type=Path, required=True, help="私钥文件（口令加密）the wrapped private key file")
    made.add_argument("--json", action="store_true")
    made.set_defaults(func=_township_key)
    opening = actions.add_parser("open", help="乡镇纪委打开加密线索 open a clue downloaded from the central store")
    opening.add_argument("--key", type=Path, required=True, help="township-key 生成的私钥文件")
    opening.add_argument("--file", type=Path, required=True, help="从中心库下载的线索 JSON")
    opening.add_argument("--json", action="store_true")
    opening.set_defaults(func=_open)
