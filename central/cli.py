"""``qinglian central ...``: run the store and administer it.

    qinglian central run        --db URL --listen HOST:PORT
    qinglian central enrol      --db URL --edge ID --key KEY [--village 村 --township 镇 --county 县]
    qinglian central publish    --db URL --scope county:NAME --kind firmware --file allow.json
    qinglian central issue-token --db URL --scope township:NAME [--label 张三]
    qinglian central status     --db URL [--json]
    qinglian central clear-flag --db URL --edge ID
    qinglian central user add|passwd|list|disable|enable --db URL ...   (central/accounts/cli.py)

``--db`` is ``sqlite:///path`` (default ``sqlite:///data/central.sqlite3``) or ``postgresql://user@host/db``.
``enrol`` takes what ``qinglian ledger pubkey --data DIR --json`` prints on the edge (``--key`` is the
base64 key, or the path of its ``ledger_pub.pem``). A place not given stays as it was, or 未定 for a new
edge until an administrator enrols it again with the place; township and county decide which
supervisors see the edge.
Exit codes: 0 done, 1 refused (bad input, nothing changed), 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from central.accounts import cli as accounts_cli

DEFAULT_DB = "sqlite:///data/central.sqlite3"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    central = subparsers.add_parser("central", help="中心库 central store: run, enrol edges, publish config, status")
    actions = central.add_subparsers(dest="central_command", required=True, metavar="ACTION")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text)
        p.add_argument(
            "--db", default=DEFAULT_DB, help=f"数据库 sqlite:///PATH or postgresql://... (default {DEFAULT_DB})"
        )
        return p

    run = add("run", "运行中心库服务 run the HTTP service")
    run.add_argument(
        "--listen", default="127.0.0.1:8700", help="HOST:PORT (port 0 picks a free one; default 127.0.0.1:8700)"
    )
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument(
        "--data", type=Path, help="中心库数据目录 the central's data folder: its decision log is DATA/decisions "
        "(default: beside a SQLite database, the folder of its name, e.g. data/central; with PostgreSQL the "
        "central takes no decisions unless given)",
    )  # fmt: skip
    run.set_defaults(func=_run)

    enrol = add("enrol", "登记边缘主机及其台账公钥 enrol an edge and its ledger public key")
    enrol.add_argument("--edge", required=True, help="边缘编号 edge id, as `qinglian ledger pubkey` prints it")
    enrol.add_argument(
        "--key", required=True, help="台账公钥 ledger public key: base64 as `qinglian ledger pubkey` prints it, "
        "or the path of the edge's ledger_pub.pem",
    )  # fmt: skip
    enrol.add_argument("--village", help="村 village name (default: unchanged, 未定 for a new edge)")
    enrol.add_argument("--township", help="乡镇 township name (default: unchanged, 未定 for a new edge)")
    enrol.add_argument("--county", help="县(市、区) county name (default: unchanged, 未定 for a new edge)")
    enrol.add_argument("--json", action="store_true")
    enrol.set_defaults(func=_enrol)

    publish = add("publish", "发布配置文档 publish a configuration document")
    publish.add_argument("--scope", required=True, help="county:NAME | township:NAME | village:NAME")
    publish.add_argument("--kind", required=True, choices=["roster", "routing", "firmware", "blacklist", "procurement"])
    publish.add_argument("--file", required=True, type=Path, help="JSON document")
    publish.add_argument("--by", help="发布人 who publishes (recorded)")
    publish.add_argument("--json", action="store_true")
    publish.set_defaults(func=_publish)

    token = add("issue-token", "发放督查只读令牌 issue a read-only supervisor token")
    token.add_argument("--scope", required=True, help="county:NAME | township:NAME | all")
    token.add_argument("--label", default="", help="持有人 who holds it")
    token.set_defaults(func=_issue_token)

    status = add("status", "各边缘同步状态 per-edge entries, checkpoint, last sync, flag")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)

    clear = add("clear-flag", "调查后清除标记 clear an edge's flag after investigation")
    clear.add_argument("--edge", required=True, help="边缘编号 edge id")
    clear.set_defaults(func=_clear_flag)

    accounts_cli.register(actions, DEFAULT_DB)


def _fail(message: str, code: int = EXIT_REFUSED) -> int:
    print(f"错误 error: {message}", file=sys.stderr)
    return code


async def _with_store(url: str, action: Any) -> Any:
    from central.store import CentralStore

    store = await CentralStore.open(url)
    try:
        return await action(store)
    finally:
        await store.close()


def _admin(args: argparse.Namespace, action: Any) -> tuple[int, Any]:
    from central.configdocs import ConfigDocError
    from central.db import DatabaseURLError
    from central.store import AdminError

    try:
        return EXIT_OK, asyncio.run(_with_store(args.db, action))
    except DatabaseURLError as exc:
        return _fail(str(exc), EXIT_USAGE), None
    except (AdminError, ConfigDocError) as exc:
        return _fail(str(exc)), None
    except OSError as exc:
        return _fail(f"无法连接数据库 cannot reach the database: {exc}", EXIT_USAGE), None


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen 应为 HOST:PORT expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from central.app import create_app
    from central.db import DatabaseURLError, driver_url

    try:
        driver_url(args.db)
        host, port = _parse_listen(args.listen)
    except (DatabaseURLError, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        return _fail(f"无法监听 cannot listen on {host}:{port}: {exc}", EXIT_USAGE)
    sock.listen(512)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Edges sync every few seconds over one keep-alive connection; uvicorn's 5 s default would close it
    # just as the next round reuses it.
    data_dir = args.data or default_data_dir(args.db)
    config = uvicorn.Config(
        create_app(db_url=args.db, data_dir=data_dir), log_level=args.log_level, access_log=False, lifespan="on",
        timeout_keep_alive=75,
    )  # fmt: skip
    server = uvicorn.Server(config)
    print(f"中心库 central store listening on http://{shown}:{bound_port}", flush=True)
    if data_dir is None:
        print("未给 --data: 中心库不作决定 no --data: the central takes no decisions", flush=True)
    else:
        print(f"决定台账 decision log: {data_dir / 'decisions'}  (公钥 key: /central/pubkey)", flush=True)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return EXIT_OK


def default_data_dir(db_url: str) -> Path | None:
    """The central's data folder when ``--data`` is not given: beside a SQLite file, the folder of its name
    (``data/central.sqlite3`` -> ``data/central``); none for PostgreSQL (no file says where)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(db_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).expanduser().with_suffix("")


def _enrol(args: argparse.Namespace) -> int:
    from edge.ledger.keys import parse_public_key, public_key_pem

    try:
        pem = public_key_pem(parse_public_key(args.key)).decode()
    except OSError as exc:
        return _fail(f"无法读取公钥 cannot read the public key {args.key}: {exc}", EXIT_USAGE)
    except ValueError as exc:
        return _fail(f"--key: {exc}")
    code, result = _admin(args, lambda s: s.enrol_edge(args.edge, args.village, args.township, args.county, pem))
    if code == EXIT_OK:
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            from central.store import UNPLACED

            verb = "已登记 enrolled" if result["created"] else "已更新 updated"
            print(
                f"{verb} {result['edge_id']} ({result['county']} {result['township']} {result['village']}) key {result['key_id'][:16]}"
            )
            if UNPLACED in (result["county"], result["township"], result["village"]):
                print("地点未定 place not set yet: add --village --township --county to this command to set it")
    return code


def _publish(args: argparse.Namespace) -> int:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        return _fail(f"无法读取 cannot read {args.file}: {exc}", EXIT_USAGE)
    except ValueError as exc:
        return _fail(f"{args.file} 不是有效的 JSON is not valid JSON: {exc}")
    code, result = _admin(args, lambda s: s.publish(args.scope, args.kind, document, args.by))
    if code == EXIT_OK:
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(
                f"已发布 published {result['kind']} for {result['scope']}: version {result['version']} ({result['sha256'][:16]})"
            )
    return code


def _issue_token(args: argparse.Namespace) -> int:
    code, token = _admin(args, lambda s: s.issue_token(args.scope, args.label))
    if code == EXIT_OK:
        print(token)
    return code


def _status(args: argparse.Namespace) -> int:
    code, rows = _admin(args, lambda s: s.status())
    if code != EXIT_OK:
        return code
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return code
    if not rows:
        print("尚无登记的边缘 no edges enrolled")
    for r in rows:
        cp = r["checkpoint"]
        cp_text = f"cp {cp['tree_size']} {cp['root_hash'][:12]} @ {cp['timestamp']}" if cp else "no checkpoint"
        flag = f"  FLAGGED {r['flag_code']}: {r['flag_reason']}" if r["flagged"] else ""
        owed = f"  {r['reactions_owed']} 条待重新处理 entries owed to a central part" if r["reactions_owed"] else ""
        print(f"{r['edge_id']:<24} {r['county']}/{r['township']}/{r['village']}  entries {r['entries']}  {cp_text}  "
              f"last sync {r['last_sync_at'] or '-'}{flag}{owed}")  # fmt: skip
    return code


def _clear_flag(args: argparse.Namespace) -> int:
    code, done = _admin(args, lambda s: s.clear_flag(args.edge))
    if code == EXIT_OK and not done:
        return _fail(f"没有此边缘 no such edge {args.edge}")
    if code == EXIT_OK:
        print(f"已清除标记 flag cleared for {args.edge}")
    return code
