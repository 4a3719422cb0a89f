"""``qinglian ledger verify|show|proof|pubkey``: check and read a ledger, with or without the running agent.

    qinglian ledger verify --data DIR [--pubkey ledger_pub.pem] [--json] [--workers N]
    qinglian ledger show   --data DIR [--kind KIND] [--limit N] [--json]
    qinglian ledger proof  --data DIR --index I        # JSON for `qinglian merkle verify`
    qinglian ledger pubkey --data DIR [--json]         # {"edge": ID, "public_key": KEY}

All of them only read (``proof`` and ``pubkey`` through :meth:`Ledger.open_reader`).
Exit codes: 0 intact / shown, 1 verification failed (tampered or unreadable) or no
such entry under the latest checkpoint, 2 no ledger or unusable arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .entry import Entry
from .keys import load_public_key, public_key_b64
from .localtime import local_time
from .prooffile import inclusion_document
from .schema import DB_FILENAME, ENTRY_COLUMNS, connect_readonly
from .store import Ledger, LedgerError
from .verify import verify_ledger
from .wire import edge_id_of  # the id the edge syncs under, so a proof names it as the store does

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ledger verify|show|proof|pubkey`` to the ``qinglian`` command."""
    ledger = subparsers.add_parser("ledger", help="台账 tamper-evident ledger: verify, show, proof, pubkey")
    actions = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="离线核验台账 verify a ledger offline")
    verify.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    verify.add_argument(
        "--pubkey", type=Path, help="用此公钥核验签名 check signatures against this PEM key (default: the ledger's own)"
    )
    verify.add_argument("--json", action="store_true", help="输出 JSON print the report as JSON")
    verify.add_argument(
        "--workers",
        type=_positive,
        help="核验进程数 processes to check a large ledger on (default: one per core; 1 on a busy edge spares its CPU)",
    )
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

    proof = actions.add_parser(
        "proof",
        help="条目的包含证明 inclusion proof of one entry against the latest checkpoint",
        description="Print (JSON) a self-contained inclusion proof of entry I against the latest signed checkpoint: "
        "the entry, its leaf hash, the audit path, the checkpoint and the edge's public key, hashes in base64 in the "
        "transparency-dev/merkle layout. Check it anywhere with `qinglian merkle verify FILE.json`.",
    )
    proof.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    proof.add_argument("--index", type=_non_negative, required=True, help="条目序号 entry index, from 0")
    proof.set_defaults(func=_proof)

    pubkey = actions.add_parser(
        "pubkey",
        help="边缘编号与台账公钥 the edge's id and ledger public key, for `qinglian central enrol`",
    )
    pubkey.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    pubkey.add_argument("--json", action="store_true", help='输出 JSON print {"edge": ID, "public_key": KEY}')
    pubkey.set_defaults(func=_pubkey)


_MAX_INDEX = 2**63 - 1  # SQLite's INTEGER: no index or count of a ledger goes beyond it


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为整数 expected a whole number: {text:.40}") from None
    if not 0 <= value <= _MAX_INDEX:
        raise argparse.ArgumentTypeError(f"必须在 0..{_MAX_INDEX} 之间 must be in 0..{_MAX_INDEX}: {text:.40}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"至少为 1 must be at least 1: {text:.40}")
    return value


def _verify(args: argparse.Namespace) -> int:
    try:
        key = load_public_key(args.pubkey) if args.pubkey else None
        report = verify_ledger(args.data, key, workers=args.workers)
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
                print(f"#{entry.index:<6} {local_time(entry.ts)}  {entry.kind}  {body}")
    finally:
        conn.close()
    return EXIT_OK


async def _inclusion_document(data_dir: Path, index: int) -> dict[str, Any]:
    """The proof of entry ``index`` against the latest checkpoint; ``LookupError`` if it covers no such entry."""
    ledger = await Ledger.open_reader(data_dir)
    try:
        checkpoint = await ledger.latest_checkpoint()
        if checkpoint is None or index >= checkpoint.tree_size:
            covered = "尚无签名检查点 no signed checkpoint yet" if checkpoint is None else (
                f"最新检查点只含 0..{checkpoint.tree_size - 1} the latest checkpoint covers entries 0..{checkpoint.tree_size - 1}"
            )  # fmt: skip
            raise LookupError(
                f"第 {index} 条不在最新检查点内 entry {index} is not under the latest checkpoint: {covered}; "
                "运行中的边缘每 60 秒为新条目签一个检查点，请稍后再试 a running edge signs one every 60 s when "
                "entries came since the last, try again in a minute"
            )
        entry = await ledger.entry(index)
        proof = await ledger.inclusion_proof(index, checkpoint.tree_size)
    finally:
        await ledger.close()
    return inclusion_document(entry, proof, checkpoint, ledger.public_key, edge_id_of(data_dir))


def _proof(args: argparse.Namespace) -> int:
    try:
        document = asyncio.run(_inclusion_document(args.data, args.index))
    except LookupError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except LedgerError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(document, ensure_ascii=False, indent=1))
    return EXIT_OK


async def _public_identity(data_dir: Path) -> tuple[str, str]:
    # Through a reader, so a ledger_pub.pem that did not sign this ledger's checkpoints is caught here,
    # not after an administrator enrolled it.
    ledger = await Ledger.open_reader(data_dir)
    await ledger.close()
    return edge_id_of(data_dir), public_key_b64(ledger.public_key)


def _pubkey(args: argparse.Namespace) -> int:
    try:
        edge, key = asyncio.run(_public_identity(args.data))
    except LedgerError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ValueError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"edge": edge, "public_key": key}, ensure_ascii=False))
    else:
        print(f"边缘编号 edge:        {edge}")
        print(f"台账公钥 public key:  {key}  (Ed25519, base64)")
        print(f"中心库登记 enrol at the central store: qinglian central enrol --db URL --edge {edge} --key {key}")
    return EXIT_OK
