"""``qinglian firmware ...`` and ``qinglian flash``: the technician's commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.firmware import load_public_key
from tools import release, releasekey


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fw = subparsers.add_parser("firmware", help="固件发布 build and sign firmware releases")
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True, metavar="WHAT")

    keygen = fw_sub.add_parser("keygen", help="生成发布签名密钥 make a release signing key")
    keygen.add_argument("--out", type=Path, required=True, help="private key file to create (the .pub.pem goes beside it)")
    keygen.set_defaults(func=_keygen)

    build = fw_sub.add_parser("build", help="编译并签名固件 compile and sign a release")
    build.add_argument("--out", type=Path, required=True, help="empty folder for the release")
    build.add_argument("--key", type=Path, required=True, help="release private key (from `qinglian firmware keygen`)")
    build.add_argument("--security-version", type=int, required=True, help="raise it when a release fixes a security flaw")
    build.add_argument("--target", choices=release.TARGETS, default="xtensawin", help="xtensawin for the ESP32, source for hostsim")
    build.set_defaults(func=_build)

    check = fw_sub.add_parser("verify", help="校验固件发布 verify a release folder")
    check.add_argument("release", type=Path)
    check.add_argument("--pubkey", type=Path, required=True, help="release public key")
    check.set_defaults(func=_verify)


def _keygen(args: argparse.Namespace) -> int:
    try:
        releasekey.generate(args.out)
    except FileExistsError:
        print(f"错误 error: {args.out} exists; a release key is never overwritten", file=sys.stderr)
        return 2
    print(f"发布密钥已生成 release key written: {args.out} (public: {releasekey.public_path(args.out)})")
    return 0


def _build(args: argparse.Namespace) -> int:
    try:
        built = release.build(args.out, releasekey.load_private(args.key), args.security_version, args.target)
    except (release.ReleaseError, OSError, ValueError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    size = sum((args.out / name).stat().st_size for name in built.files)
    print(json.dumps({"release": str(args.out), "version": built.version, "security_version": built.security_version,
                      "target": built.manifest["target"], "files": len(built.files), "bytes": size,
                      "firmware_hash": built.firmware_hash}, ensure_ascii=False))  # fmt: skip
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        checked = release.load(args.release, load_public_key(args.pubkey))
    except (release.ReleaseError, OSError, ValueError) as exc:
        print(f"校验失败 verification failed: {exc}", file=sys.stderr)
        return 1
    print(f"校验通过 release verified: version {checked.version}, security version {checked.security_version}, firmware {checked.firmware_hash}")
    return 0
