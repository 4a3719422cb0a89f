"""The seal's commands: ``qinglian edge enrol|allow-release|maintenance|status`` and ``qinglian request ...``.

Registered through the seal's part (``Part.cli``) into the ``edge`` group the edge CLI makes (edge/cli.py,
which keeps ``run`` and ``sync``) and as the ``request`` group. Steps that change something (file, approve,
reject, enrol, allow-release, maintenance) go to the writer of the data folder through the command queue
(edge/kernel/commands.py), so they work the same whether or not ``qinglian edge run`` is running; when none
runs, this process becomes the writer for a moment (``args.drain``, set by the edge CLI). Reading (list,
show, status) reads the shared database directly.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge.kernel import commands
from edge.kernel.accounts import host_operator
from edge.kernel.clikit import EXIT_OK, config_command, output
from edge.kernel.config import SEAL_KINDS, SEAL_NAMES, EdgeConfig
from edge.kernel.documents import store_document
from edge.kernel.errors import InputError, NotFound
from edge.kernel.fmt import yuan
from edge.ledger.localtime import local_time
from edge.seal.db import STATUS_NAMES, EdgeDB, status_name
from edge.seal.desk import amount_from_text, check_filing, filter_for_person
from edge.seal.enrolment import choose_device, store_key
from edge.seal.firmware import MANIFEST
from edge.seal.keystore import MasterKey, read_identity_file


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    edge = subparsers.choices["edge"]  # made by edge/cli.py, with `run` before these and `sync` after
    actions = next(a for a in edge._actions if isinstance(a, argparse._SubParsersAction))
    enrol = actions.add_parser(
        "enrol",
        help="登记设备 enrol a seal device from its identity file",
        description="Read the identity.json the technician copied from the board's flash; seal its key under the "
        "master key; record the enrolment in the ledger. Never reads a key off the serial line.",
    )
    _config_arg(enrol)
    enrol.add_argument("--key-file", type=Path, required=True, help="设备身份文件 the board's identity.json")
    enrol.add_argument("--device-id", help="核对设备编号 check the identity is this device id")
    enrol.add_argument("--device", help="配置中的设备名 the configured device name (default: by id, or the only one)")
    enrol.add_argument("--json", action="store_true")
    enrol.set_defaults(func=config_command(_enrol))

    allow = actions.add_parser(
        "allow-release",
        help="允许固件发布 put a signed firmware release on the allow-list",
        description="Verify a release folder's manifest with [firmware] release_pubkey and record it in the ledger; "
        "seals running any other firmware get no grants.",
    )
    _config_arg(allow)
    allow.add_argument("release", type=Path, help="发布目录或清单 release folder or its manifest.json")
    allow.add_argument("--json", action="store_true")
    allow.set_defaults(func=config_command(_allow_release))

    maint = actions.add_parser(
        "maintenance",
        help="开维护窗口 open a device's REPL for a while (authenticated, recorded)",
        description="Sends a maintenance grant: the seal hands its UART to the MicroPython REPL for --seconds, "
        "then resets. Refused while a seal request is in use. Use mpremote with `resume` (a soft reset ends the window).",
    )
    _config_arg(maint)
    maint.add_argument("--device", required=True, help="配置中的设备名 the configured device name")
    maint.add_argument("--seconds", type=int, default=600)
    maint.add_argument("--json", action="store_true")
    maint.set_defaults(func=config_command(_maintenance))

    status = actions.add_parser("status", help="设备状态 device status")
    _config_arg(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=config_command(_status))
    _register_request(subparsers)


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="配置文件 the edge's TOML config")


def _register_request(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    request = subparsers.add_parser("request", help="用印申请 seal requests: file, approve, reject, hand over, list, show")
    actions = request.add_subparsers(dest="request_command", required=True, metavar="ACTION")

    def common(parser: argparse.ArgumentParser, person_required: bool) -> None:
        _config_arg(parser)
        parser.add_argument("--as", dest="person", required=person_required, help="操作人 who is acting (person id)")
        parser.add_argument("--json", action="store_true")

    file = actions.add_parser("file", help="提交用印申请 file a seal request")
    common(file, True)
    file.add_argument("--matter", required=True, help="用印事项 what the seal is for")
    file.add_argument("--seal", required=True, choices=SEAL_KINDS, help="印章种类 seal kind")
    file.add_argument("--presses", type=_whole_number, required=True, help="用印次数 number of presses (1..100)")
    file.add_argument("--document", type=Path, required=True, help="原件 the original document (scan, photo, PDF)")
    money = file.add_mutually_exclusive_group()
    money.add_argument("--amount-fen", type=_whole_number, help="金额(分) amount in fen")
    money.add_argument("--amount", help="金额(元) amount in yuan, e.g. 1200.50")
    file.add_argument("--device", help="设备名 device name (when several hold this seal)")
    file.set_defaults(func=config_command(_file))

    approve = actions.add_parser("approve", help="批准 approve a request")
    common(approve, True)
    approve.add_argument("request_id")
    approve.set_defaults(func=config_command(_approve))

    reject = actions.add_parser("reject", help="驳回 reject a request")
    common(reject, True)
    reject.add_argument("request_id")
    reject.add_argument("--reason", required=True, help="驳回理由 why")
    reject.set_defaults(func=config_command(_reject))

    hand_over = actions.add_parser("hand-over", help="转交 hand your step of a request to another approver")
    common(hand_over, True)
    hand_over.add_argument("request_id")
    hand_over.add_argument("--to", required=True, help="转交给 the approver who takes the step (person id)")
    hand_over.add_argument("--reason", required=True, help="转交理由 why")
    hand_over.set_defaults(func=config_command(_hand_over))

    urgent = actions.add_parser("urgent", help="加急用印 urgent use outside the seal's hours (applicant)")
    common(urgent, True)
    urgent.add_argument("request_id")
    urgent.add_argument("--reason", required=True, help="加急理由 why it cannot wait for the seal's hours")
    urgent.set_defaults(func=config_command(_urgent))

    listing = actions.add_parser("list", help="申请列表 list requests")
    common(listing, False)
    listing.add_argument("--status", choices=sorted(STATUS_NAMES), help="只看此状态 only this status")
    listing.set_defaults(func=config_command(_list))

    show = actions.add_parser("show", help="申请详情 show one request")
    common(show, False)
    show.add_argument("request_id")
    show.set_defaults(func=config_command(_show))


def _whole_number(text: str) -> int:
    """An argument that must be a whole number; its range is checked with the rest of the step."""
    digits = text.strip()
    # A long number is still a number: the range check then says what it is out of ("too large").
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 40):
        raise argparse.ArgumentTypeError(f"应为整数 expected a whole number, got {text!r:.40}")
    return int(digits)


async def _submit(args: argparse.Namespace, config: EdgeConfig, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await commands.submit(config, kind, payload, args.drain)


async def _enrol(args: argparse.Namespace, config: EdgeConfig) -> int:
    identity = read_identity_file(args.key_file)
    device = choose_device(config, identity, args.device, args.device_id)
    master = MasterKey.load(config.key_file)
    db = await EdgeDB.open(config.data_dir)
    try:
        await store_key(db, master, identity)
    finally:
        await db.close()
    result = await _submit(
        args, config, "enrol", {"device_name": device.name, "device_id": identity.device_id, "fingerprint": identity.fingerprint}
    )
    output(
        args,
        result,
        f"已登记 enrolled {identity.device_id} as {device.name} ({SEAL_NAMES[device.seal]} {device.seal}), "
        f"key fingerprint {identity.fingerprint}",
    )
    return EXIT_OK


async def _status(args: argparse.Namespace, config: EdgeConfig) -> int:
    db = await EdgeDB.open(config.data_dir)
    try:
        devices = [d.to_dict() for d in await db.devices()]
    finally:
        await db.close()
    lines = []
    for d in devices:
        state = "在线 online" if d["online"] else "离线 offline"
        lock = (d["last_status"] or {}).get("lock", "?")
        lines.append(
            f"{d['name']:<14} {d['device_id']:<16} {state:<12} lock={lock} presses_total={d['presses_total']} "
            f"last_grant={d['last_grant_no']} events={d['last_event_id']} anomalies={d['anomalies']}"
        )
    enrolled = {d["name"] for d in devices}
    for device in config.devices:
        if device.name not in enrolled:
            lines.append(f"{device.name:<14} {'-':<16} 未登记 not enrolled (qinglian edge enrol)")
    output(args, devices, "\n".join(lines) or "无设备 no devices")
    return EXIT_OK


async def _allow_release(args: argparse.Namespace, config: EdgeConfig) -> int:
    path = args.release / MANIFEST if args.release.is_dir() else args.release
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"无法读取清单 cannot read {path}: {exc}", "bad_release") from None
    result = await _submit(args, config, "allow_release", {"manifest": manifest})
    output(
        args,
        result,
        f"已允许固件 allowed firmware {result['version']} (security version {result['security_version']}, "
        f"{result['target']}): {result['firmware_hash']}",
    )
    return EXIT_OK


async def _maintenance(args: argparse.Namespace, config: EdgeConfig) -> int:
    result = await _submit(args, config, "maintenance", {"device_name": args.device, "seconds": args.seconds})
    output(args, result, f"维护窗口已请求 maintenance grant {result['no']} sent to {args.device} for {args.seconds} s")
    return EXIT_OK


async def _file(args: argparse.Namespace, config: EdgeConfig) -> int:
    amount_fen = args.amount_fen if args.amount_fen is not None else amount_from_text(config, args.amount)
    # Everything the config decides is checked before the document is copied in.
    filing = check_filing(config, args.person, args.matter, args.seal, args.presses, amount_fen, args.device)
    stored = store_document(config.data_dir, args.document)
    result = await _submit(
        args,
        config,
        "file_request",
        {
            "applicant": args.person, "matter": args.matter, "seal": args.seal, "presses": args.presses,
            "amount_fen": amount_fen, "device": filing.device.name, "document": stored.to_body(),
        },
    )  # fmt: skip
    output(args, result, f"已提交 filed {result['id']}\n{format_request(result, config)}")
    return EXIT_OK


async def _approve(args: argparse.Namespace, config: EdgeConfig) -> int:
    config.person(args.person)
    result = await _submit(args, config, "approve", {"request_id": args.request_id, "approver": args.person, "account": host_operator()})
    output(args, result, f"已批准 approved by {args.person}\n{format_request(result, config)}")
    return EXIT_OK


async def _reject(args: argparse.Namespace, config: EdgeConfig) -> int:
    config.person(args.person)
    result = await _submit(
        args, config, "reject", {"request_id": args.request_id, "approver": args.person, "reason": args.reason, "account": host_operator()}
    )
    output(args, result, f"已驳回 rejected by {args.person}\n{format_request(result, config)}")
    return EXIT_OK


async def _hand_over(args: argparse.Namespace, config: EdgeConfig) -> int:
    config.person(args.person)
    result = await _submit(
        args, config, "hand_over",
        {"request_id": args.request_id, "approver": args.person, "to": args.to, "reason": args.reason, "account": host_operator()},
    )  # fmt: skip
    output(args, result, f"已转交 handed over by {args.person} to {args.to}\n{format_request(result, config)}")
    return EXIT_OK


async def _urgent(args: argparse.Namespace, config: EdgeConfig) -> int:
    config.person(args.person)
    result = await _submit(
        args, config, "urgent", {"request_id": args.request_id, "applicant": args.person, "reason": args.reason, "account": host_operator()}
    )
    output(args, result, f"已申请加急 urgent use asked by {args.person}\n{format_request(result, config)}")
    return EXIT_OK


async def _list(args: argparse.Namespace, config: EdgeConfig) -> int:
    if args.person:
        config.person(args.person)
    db = await EdgeDB.open(config.data_dir)
    try:
        requests = filter_for_person(await db.requests(status=args.status), args.person)
    finally:
        await db.close()
    data = [r.to_dict() for r in requests]
    output(args, data, "\n".join(format_request_line(r) for r in data) or "无申请 no requests")
    return EXIT_OK


async def _show(args: argparse.Namespace, config: EdgeConfig) -> int:
    db = await EdgeDB.open(config.data_dir)
    try:
        request = await db.request(args.request_id)
        if request is None:
            raise NotFound(f"没有此申请 no request {args.request_id!r}")
        data = request.to_dict()
        data["grants"] = [asdict(g) for g in await db.grants(request_id=request.id)]
        data["press_events"] = await db.press_events(request.id)
    finally:
        await db.close()
    output(args, data, format_request(data, config))
    return EXIT_OK


def format_request_line(r: dict[str, Any]) -> str:
    return (
        f"{r['id']}  {status_name(r['status'], r.get('reason'), r.get('presses_used', 0))}({r['status']})  "
        f"{SEAL_NAMES.get(r['seal'], r['seal'])}×{r['presses']}  {yuan(r['amount_fen'])}  "
        f"申请人 {r['applicant']}  {r['matter']}" + _amount_read(r)
    )


def _amount_read(r: dict[str, Any]) -> str:
    """The original's amount beside the declared one, when they differ (an anomaly) or the original was unreadable."""
    read = r.get("original_read") or {}
    if read.get("mismatch"):
        return f"  ⚠ 原件金额 read on the original {yuan(read.get('amount_fen') or 0)} (amount_mismatch)"
    if read.get("state") == "unreadable":
        return "  ⚠ 原件无法识别 original unreadable"
    return ""


def format_request(r: dict[str, Any], config: EdgeConfig) -> str:
    def who(person_id: str) -> str:
        person = config.people.get(person_id)
        return f"{person.name}({person_id})" if person else person_id

    route = r["route"]
    mode = "顺序审批 chain" if route["mode"] == "chain" else f"{route['n']}/{len(route['approvers'])} 会签 n-of-m"
    lines = [
        format_request_line(r),
        f"  设备 device: {r['device_name']} ({r['device_id']}), 印章管理员 custodian {who(r['custodian'])}",
        f"  原件 document: {r['document']['name']} sha256={r['document']['sha256']} ({r['document']['size']} bytes)",
        f"  审批路线 route: {route['rule']} {mode}: {', '.join(who(a) for a in route['approvers'])}",
        *([f"  加急用印 urgent use: {route['urgent']}"] if route.get("urgent") else []),
        f"  提交 filed {local_time(r['filed_at'])}; 批准 approved {local_time(r.get('approved_at'))}; "
        f"结束 ended {local_time(r.get('ended_at'))}",
    ]
    for a in r.get("approvals", []):
        verb = "批准 approved" if a["decision"] == "approve" else f"驳回 rejected: {a['reason']}"
        lines.append(f"  - {who(a['person'])} {verb} at {local_time(a['at'])}")
    if r.get("grant_no") is not None:
        lines.append(f"  授权号 grant no {r['grant_no']}")
    lines.append(f"  已用 presses used {r['presses_used']}/{r['presses']}" + (f"; 原因 reason: {r['reason']}" if r.get("reason") else ""))
    for g in r.get("grants", []):
        lines.append(f"  授权 grant {g['no']} {g['status']}" + (f" ({g['reason']})" if g.get("reason") else "") + f" at {local_time(g['issued_at'])}")
    for p in r.get("press_events", []):
        lines.append(f"  盖章 press {p['n']} (device total {p['total']}) at {local_time(p['at'])}")
    return "\n".join(lines)
