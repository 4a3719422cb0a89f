"""``qinglian edge ...``, ``qinglian request ...`` and ``qinglian demo``.

Steps that change something (file, approve, reject, enrol) go to the writer
of the data folder through the command queue (edge/commands.py), so they work
the same whether or not ``qinglian edge run`` is running. Reading (list,
show, status) reads the shared database directly.

Exit codes: 0 done, 1 refused or bad input (the message says why), 2 bad
configuration or usage.

``qinglian edge sync --data DIR --central URL`` pushes what is pending now,
with the agent's own :class:`edge.sync.SyncClient`, under the id the edge
syncs with (:func:`edge.ledger.wire.edge_id_of`). With no agent running it is the
ledger's writer for the moment (it signs the tail and records configuration
sent down); beside a running agent it reads the ledger and pushes what the
agent's checkpoints cover, the two taking turns on ``sync.lock``. Exit codes:
0 the store accepted everything pushed, 1 the store refused (its reason on
stderr; it may have flagged the edge), 2 the store is unreachable or
unavailable (try again later), no ledger in DIR, or unusable arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge import demo
from edge.agent import submit
from edge.kernel.accounts import host_operator
from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, config_command, output
from edge.kernel.config import SEAL_KINDS, SEAL_NAMES, EdgeConfig
from edge.kernel.documents import store_document
from edge.kernel.errors import InputError
from edge.kernel.fmt import yuan
from edge.ledger.localtime import local_time
from edge.modules import PARTS
from edge.seal.db import STATUS_NAMES, EdgeDB
from edge.seal.desk import amount_from_text, check_filing
from edge.seal.enrolment import choose_device, store_key
from edge.seal.firmware import MANIFEST
from edge.seal.keystore import MasterKey, read_identity_file

log = logging.getLogger("edge.cli")
SECTIONS = [part.config for part in PARTS if part.config is not None]  # each registered part reads its own table


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_edge(subparsers)
    _register_request(subparsers)
    demo.register(subparsers, serve=_serve_demo)


def _serve_demo(args: argparse.Namespace) -> int:
    from edge.web.demo import serve_main  # the console's imports only when it is asked for

    return serve_main(args)


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="配置文件 the edge's TOML config")


def _register_edge(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    edge = subparsers.add_parser("edge", help="边缘代理 edge agent: run, enrol, status, sync")
    actions = edge.add_subparsers(dest="edge_command", required=True, metavar="ACTION")

    run = actions.add_parser("run", help="运行边缘代理 run the agent until SIGTERM")
    _config_arg(run)
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    run.set_defaults(func=config_command(_run, SECTIONS))

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
    enrol.set_defaults(func=config_command(_enrol, SECTIONS))

    allow = actions.add_parser(
        "allow-release",
        help="允许固件发布 put a signed firmware release on the allow-list",
        description="Verify a release folder's manifest with [firmware] release_pubkey and record it in the ledger; "
        "seals running any other firmware get no grants.",
    )
    _config_arg(allow)
    allow.add_argument("release", type=Path, help="发布目录或清单 release folder or its manifest.json")
    allow.add_argument("--json", action="store_true")
    allow.set_defaults(func=config_command(_allow_release, SECTIONS))

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
    maint.set_defaults(func=config_command(_maintenance, SECTIONS))

    status = actions.add_parser("status", help="设备状态 device status")
    _config_arg(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=config_command(_status, SECTIONS))

    sync = actions.add_parser(
        "sync",
        help="立即同步到中心库 push pending ledger entries to the central store now",
        description="One sync round, as `qinglian edge run` does on its schedule: push every pending entry and "
        "exit 0 when the store accepted all of it, 1 with the store's reason when it refused, 2 when it cannot "
        "be reached. Safe while the agent runs on the same data folder.",
    )
    sync.add_argument("--data", type=Path, required=True, help="数据目录 data directory holding ledger.sqlite3")
    sync.add_argument("--central", required=True, help="中心库地址 the central store's URL, http(s)://...")
    sync.add_argument("--json", action="store_true", help="输出 JSON print the outcome as one JSON object")
    sync.set_defaults(func=_sync)


def _register_request(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    request = subparsers.add_parser("request", help="用印申请 seal requests: file, approve, reject, list, show")
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
    file.set_defaults(func=config_command(_file, SECTIONS))

    approve = actions.add_parser("approve", help="批准 approve a request")
    common(approve, True)
    approve.add_argument("request_id")
    approve.set_defaults(func=config_command(_approve, SECTIONS))

    reject = actions.add_parser("reject", help="驳回 reject a request")
    common(reject, True)
    reject.add_argument("request_id")
    reject.add_argument("--reason", required=True, help="驳回理由 why")
    reject.set_defaults(func=config_command(_reject, SECTIONS))

    listing = actions.add_parser("list", help="申请列表 list requests")
    common(listing, False)
    listing.add_argument("--status", choices=sorted(STATUS_NAMES), help="只看此状态 only this status")
    listing.set_defaults(func=config_command(_list, SECTIONS))

    show = actions.add_parser("show", help="申请详情 show one request")
    common(show, False)
    show.add_argument("request_id")
    show.set_defaults(func=config_command(_show, SECTIONS))


# -- plumbing ------------------------------------------------------------------------------


def _whole_number(text: str) -> int:
    """An argument that must be a whole number; its range is checked with the rest of the step."""
    digits = text.strip()
    # A long number is still a number: the range check then says what it is out of ("too large").
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 40):
        raise argparse.ArgumentTypeError(f"应为整数 expected a whole number, got {text!r:.40}")
    return int(digits)

# -- edge ----------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, config: EdgeConfig) -> int:
    from edge.agent import EdgeAgent

    logging.basicConfig(level=args.log_level, format="%(asctime)s edge %(levelname)s %(name)s: %(message)s")
    agent = await EdgeAgent.open(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = None
    try:
        await agent.start()
        log.info("边缘代理运行中 edge agent running: village %s, data %s", config.village, config.data_dir)
        if config.web.enabled:  # [web]: the console, on this loop (edge/web/server.py)
            from edge.web.server import start_console

            console = await start_console(agent)
            log.info("网页控制台 web console at %s", console.url)
        await stop.wait()
        log.info("stopping")
    finally:
        if console is not None:
            await console.close()
        await agent.close()
    return EXIT_OK


async def _enrol(args: argparse.Namespace, config: EdgeConfig) -> int:
    identity = read_identity_file(args.key_file)
    device = choose_device(config, identity, args.device, args.device_id)
    master = MasterKey.load(config.key_file)
    db = await EdgeDB.open(config.data_dir)
    try:
        await store_key(db, master, identity)
    finally:
        await db.close()
    result = await submit(
        config, "enrol", {"device_name": device.name, "device_id": identity.device_id, "fingerprint": identity.fingerprint}
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
    result = await submit(config, "allow_release", {"manifest": manifest})
    output(
        args,
        result,
        f"已允许固件 allowed firmware {result['version']} (security version {result['security_version']}, "
        f"{result['target']}): {result['firmware_hash']}",
    )
    return EXIT_OK


async def _maintenance(args: argparse.Namespace, config: EdgeConfig) -> int:
    result = await submit(config, "maintenance", {"device_name": args.device, "seconds": args.seconds})
    output(args, result, f"维护窗口已请求 maintenance grant {result['no']} sent to {args.device} for {args.seconds} s")
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from edge.kernel.sync import SyncError, SyncRefused, SyncUnavailable
    from edge.ledger import LedgerError
    from edge.ledger.schema import DB_FILENAME

    def fail(exit_code: int, code: str, message: str) -> int:
        if args.json:
            print(json.dumps({"ok": False, "error": {"code": code, "message": message}}, ensure_ascii=False))
        print(f"错误 error [{code}]: {message}", file=sys.stderr)
        return exit_code

    if not args.central.startswith(("http://", "https://")):
        return fail(EXIT_USAGE, "usage", f"--central 应为 http(s):// 地址 expected an http(s):// URL: {args.central!r}")
    if not (args.data / DB_FILENAME).is_file():
        return fail(EXIT_USAGE, "no_ledger", f"找不到台账 no ledger in {args.data}")
    try:
        report = asyncio.run(_sync_round(args.data, args.central))
    except SyncRefused as exc:
        flagged = "; 中心库已标记本边缘 the store has flagged this edge" if exc.flagged else ""
        return fail(EXIT_FAILED, exc.code, f"中心库拒绝 refused: {exc.reason}{flagged}")
    except SyncUnavailable as exc:
        return fail(EXIT_USAGE, exc.code, f"{exc} — 稍后重试 try again later")
    except (LedgerError, OSError, ValueError) as exc:
        return fail(EXIT_USAGE, "ledger", str(exc))
    except SyncError as exc:  # this edge cannot go on (e.g. no checkpoint to end a batch on)
        return fail(EXIT_FAILED, exc.code, str(exc))
    except KeyboardInterrupt:
        return EXIT_FAILED
    left = report["local_size"] - report["next_index"]
    human = (
        f"中心库已接受 the store accepted all: {report['stored']} new entries in {report['batches']} batches "
        f"({report['duplicates']} already held); it now holds {report['next_index']} entries of {report['edge']}"
    )
    if left:
        human += f"\n{left} 条未签检查点, 留给运行中的代理 entries beyond the agent's checkpoints: it pushes them"
    output(args, {"ok": True, **report, "pending": left}, human)
    return EXIT_OK


async def _sync_round(data_dir: Path, central_url: str) -> dict[str, Any]:
    """One :meth:`SyncClient.sync_once` as the ledger's writer, or beside the running agent as a reader."""
    from edge.kernel.sync import SyncClient
    from edge.kernel.writerlock import WriterLock
    from edge.ledger import Ledger
    from edge.ledger.wire import edge_id_of

    edge_id = edge_id_of(data_dir)
    lock = WriterLock.try_acquire(data_dir)
    try:
        ledger = await (Ledger.open(data_dir) if lock is not None else Ledger.open_reader(data_dir))
        try:
            client = SyncClient(ledger, central_url, edge_id)
            try:
                result = await client.sync_once()
            finally:
                await client.stop()
        finally:
            await ledger.close()
    finally:
        if lock is not None:
            lock.release()
    mode = "writer" if lock is not None else "beside_agent"
    return {"edge": edge_id, "mode": mode, **asdict(result)}


# -- requests ------------------------------------------------------------------------------


async def _file(args: argparse.Namespace, config: EdgeConfig) -> int:
    amount_fen = args.amount_fen if args.amount_fen is not None else amount_from_text(config, args.amount)
    # Everything the config decides is checked before the document is copied in.
    filing = check_filing(config, args.person, args.matter, args.seal, args.presses, amount_fen, args.device)
    stored = store_document(config.data_dir, args.document)
    result = await submit(
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
    result = await submit(config, "approve", {"request_id": args.request_id, "approver": args.person, "account": host_operator()})
    output(args, result, f"已批准 approved by {args.person}\n{format_request(result, config)}")
    return EXIT_OK


async def _reject(args: argparse.Namespace, config: EdgeConfig) -> int:
    config.person(args.person)
    result = await submit(
        config, "reject", {"request_id": args.request_id, "approver": args.person, "reason": args.reason, "account": host_operator()}
    )
    output(args, result, f"已驳回 rejected by {args.person}\n{format_request(result, config)}")
    return EXIT_OK


async def _list(args: argparse.Namespace, config: EdgeConfig) -> int:
    from edge.agent import filter_for_person

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
    from edge.kernel.errors import NotFound

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
        f"{r['id']}  {STATUS_NAMES.get(r['status'], r['status'])}({r['status']})  "
        f"{SEAL_NAMES.get(r['seal'], r['seal'])}×{r['presses']}  {yuan(r['amount_fen'])}  "
        f"申请人 {r['applicant']}  {r['matter']}"
    )


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
