"""``qinglian firmware ...`` and ``qinglian flash``: the technician's commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from edge.agent import EdgeAgent
from edge.kernel.config import ConfigError, DeviceConfig, EdgeConfig, load_config
from edge.kernel.errors import EdgeError
from edge.seal.firmware import load_public_key
from tools import flash, harden, release, releasekey


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


    fl = subparsers.add_parser(
        "flash",
        help="刷写并配置设备 flash a release onto a seal and provision it",
        description="Copy a signed release to the device with mpremote, check every file by hash, provision a "
        "new board's identity, reset it, wait for its boot and enrol it with the edge. Stop the edge agent first: "
        "this needs its serial port and its data folder.",
    )
    fl.add_argument("--port", required=True, help="串口 /dev/ttyUSB0, or socket://HOST:PORT for hostsim")
    fl.add_argument("--config", type=Path, default=Path(os.environ.get("QINGLIAN_CONFIG", "/etc/qinglian/edge.toml")),
                    help="the edge's config (default $QINGLIAN_CONFIG or /etc/qinglian/edge.toml)")  # fmt: skip
    fl.add_argument("--release", type=Path, help="release folder (default: [firmware] release_dir of the config)")
    fl.add_argument("--device", help="配置中的设备名 the configured device (default: the only one)")
    fl.add_argument("--micropython-image", type=Path, help="write this MicroPython firmware image first (esptool)")
    fl.add_argument("--json", action="store_true")
    hardening = fl.add_argument_group(
        "生产加固 production hardening (--harden)",
        "Burn the board's eFuses for flash encryption (release mode), Secure Boot v2 and a locked download mode, "
        "step by step: each step is printed with its commands, and each that writes the board asks for the chip's "
        "MAC address first. Irreversible. Refused on a simulated board.",
    )
    hardening.add_argument("--harden", action="store_true", help="加固真实板 harden a real board instead of flashing a release")
    hardening.add_argument("--chip", choices=harden.CHIPS, default="esp32", help="esp32 (v3.0 or later), esp32s3 or esp32c3")
    hardening.add_argument("--keys", type=Path, default=Path("hardening-keys"), help="folder for the keys made on this computer")
    hardening.add_argument("--image-dir", type=Path, default=Path("build"),
                           help="the production MicroPython build for the chip (bootloader/, partition_table/, micropython.bin)")  # fmt: skip
    hardening.add_argument("--yes", action="store_true", help="run the steps on this computer without asking (never the board's)")
    hardening.add_argument("--burn-mac", metavar="MAC", help="unattended: write the board without asking, if and only if its MAC is this")
    fl.set_defaults(func=_flash)


def _flash(args: argparse.Namespace) -> int:
    if args.harden:
        return _harden(args)
    try:
        report = asyncio.run(_flash_async(args))
    except (flash.FlashError, release.ReleaseError, ConfigError, EdgeError) as exc:
        print(f"刷写失败 flash failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(report), ensure_ascii=False) if args.json else
          f"已刷写 flashed {report.device} ({report.device_id}): {report.version}, {report.files} files, {report.seconds} s")  # fmt: skip
    return 0


async def _flash_async(args: argparse.Namespace) -> flash.FlashReport:
    config = load_config(args.config, args.config_sections)
    folder = args.release or config.firmware.release_dir
    if folder is None:
        raise flash.FlashError("请用 --release 指定发布目录 name the release folder with --release")
    if config.firmware.release_pubkey is None:
        raise flash.FlashError("配置中没有发布公钥 set [firmware] release_pubkey: only signed releases are flashed")
    checked = release.load(folder, load_public_key(config.firmware.release_pubkey))
    device = config.device(args.device) if args.device else _only_device(config)
    agent = await EdgeAgent.open(config, lock=flash.writer_lock_or_fail(config.data_dir))
    try:
        return await flash.flash(args.port, checked, agent, device, args.micropython_image)
    finally:
        await agent.close()


def _harden(args: argparse.Namespace) -> int:
    ask = input if sys.stdin.isatty() else None  # no terminal: nothing is written to the board without --burn-mac
    try:
        harden.harden(args.chip, args.port, harden.Files(args.keys, args.image_dir), args.yes, args.burn_mac, ask)
    except harden.HardenError as exc:
        print(f"加固未完成 hardening stopped: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("加固已中断 hardening interrupted", file=sys.stderr)
        return 1
    return 0


def _only_device(config: EdgeConfig) -> DeviceConfig:
    if len(config.devices) != 1:
        raise flash.FlashError("配置中有多台设备，请用 --device 指定 the config has several devices: name one with --device")
    return config.devices[0]


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
