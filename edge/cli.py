"""``qinglian edge run|sync``, each registered part's commands (the seal's: edge/seal/cli.py) and ``qinglian demo``.

A composition module like the agent: it hands the parser to every part (``Part.cli``) and gives their queued
steps the writer to become when no agent runs (``args.drain``).

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
from edge.agent import drain
from edge.kernel.clikit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, config_command, output
from edge.kernel.config import EdgeConfig
from edge.modules import PARTS

log = logging.getLogger("edge.cli")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_edge(subparsers)
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
    run.set_defaults(func=config_command(_run))

    for part in PARTS:  # the parts' own actions (the seal's enrol, allow-release, maintenance, status; request)
        if part.cli is not None:
            before = set(subparsers.choices)
            part.cli(subparsers)
            for name in set(subparsers.choices) - before:
                subparsers.choices[name].set_defaults(drain=drain)
    edge.set_defaults(drain=drain)  # their queued steps: this process becomes the writer when no agent runs

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


# -- plumbing ------------------------------------------------------------------------------


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


