"""``qinglian merkle verify FILE.json``: check an inclusion or consistency proof offline.

The file is in the JSON layout of the transparency-dev/merkle test data (see
:mod:`.prooffile`); one written by ``qinglian ledger proof`` also carries the
entry, the signed checkpoint and the edge's public key, and those are checked
too. ``--key`` pins the public key the checkpoint must be signed with (the one
the central store enrolled), since a key inside the file vouches for nothing.

Exit codes: 0 valid, 1 not valid (the reason is printed), 2 unreadable or
malformed file, or unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .keys import parse_public_key
from .prooffile import ProofFileError, check

EXIT_VALID, EXIT_INVALID, EXIT_MALFORMED = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``merkle verify`` to the ``qinglian`` command."""
    merkle = subparsers.add_parser("merkle", help="默克尔证明 Merkle proofs (RFC 6962): verify")
    actions = merkle.add_subparsers(dest="merkle_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="离线核验证明 check an inclusion or consistency proof",
        description="Check a proof given as JSON in the transparency-dev/merkle layout (inclusion: leafIdx, treeSize, "
        "root, leafHash, proof; consistency: size1, size2, root1, root2, proof; hashes in base64). "
        "Exit 0 valid, 1 not valid, 2 unreadable or malformed.",
    )
    verify.add_argument("file", type=Path, metavar="FILE.json", help="证明文件 the proof file")
    verify.add_argument(
        "--key", help="只认此公钥 the checkpoint must be signed by this key (base64, or a ledger_pub.pem path)"
    )
    verify.add_argument("--json", action="store_true", help="输出 JSON print the verdict as JSON")
    verify.set_defaults(func=_verify)


def _malformed(message: str) -> int:
    print(f"错误 error: {message}", file=sys.stderr)
    return EXIT_MALFORMED


def _verify(args: argparse.Namespace) -> int:
    try:
        trusted = parse_public_key(args.key) if args.key else None
    except (OSError, ValueError) as exc:
        return _malformed(f"--key: {exc}")
    try:
        document = json.loads(args.file.read_bytes())
    except OSError as exc:
        return _malformed(f"无法读取 cannot read {args.file}: {exc}")
    except ValueError as exc:  # also bad UTF-8
        return _malformed(f"{args.file} 不是 JSON is not JSON: {exc}")
    try:
        verdict = check(document, trusted)
    except ProofFileError as exc:
        return _malformed(f"{args.file}: {exc}")
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    elif verdict.ok:
        names = {"inclusion": "包含证明 inclusion proof", "consistency": "一致性证明 consistency proof"}
        print(f"✓ {names[verdict.kind]} 有效 valid")
        for line in verdict.checked:
            print(f"  ✓ {line}")
    else:
        print(f"✗ 证明无效 proof NOT valid: {verdict.reason}")
    return EXIT_VALID if verdict.ok else EXIT_INVALID
