"""The smart seal, registered as one part of the edge like any module (``edge/modules/__init__.py``)."""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.seal import cli
from edge.seal import demo
from edge.seal import projection as P
from edge.seal import summary
from edge.seal.commands import COMMANDS
from edge.seal.db import SCHEMA
from edge.seal.web import notice
from edge.seal.web import router as web

SEAL = Part(
    name="seal",
    title="智慧印章",
    kinds=P.KINDS,
    schema=SCHEMA,
    schema_version=4,
    projection=P.PROJECTION,
    prefixes=P.PREFIXES,
    routing_kinds=("seal_request",),
    groups={
        "seal_request": "用印申请", "grant": "授权", "seal": "设备事件", "device": "设备连接", "agent": "代理运行",
        "photo": "盖章照片", "firmware": "固件",
    },  # fmt: skip
    commands=COMMANDS,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    inbox=web.inbox,
    publishes=notice.published,
    migrate=P.mark_backfill,
    backfill=P.backfill,
    demo=demo.seed,
    summarize=summary.summarize,
)
