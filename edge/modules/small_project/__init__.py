"""限额工程 small projects below the tender limit, as one part of the edge.

A village files a project with a bill of quantities priced from the township's guide-price catalogue (below the
configured limit), approved along the route of its category; three contractors quote: one recommended by the
village, two drawn by the township in a way anyone can re-run (``qinglian projects draw`` / ``verify-draw``);
the lowest valid quote wins. See README.md.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.small_project import cli, demo, lists, summary, web
from edge.modules.small_project import kinds as K
from edge.modules.small_project import projection as P
from edge.modules.small_project.settings import SECTION

NAME = K.NAME

SMALL_PROJECT = Part(
    name=NAME,
    title="限额工程",
    kinds=K.KINDS,
    schema=P.SCHEMA,
    schema_version=1,
    projection=P.PROJECTION,
    routing_kinds=("small_project",),
    config=SECTION,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    exports=lists.EXPORTS,
    publishes=lists.publishes,
    inbox=web.inbox,
    notices=web.notices,
    demo=demo.seed,
    from_central=K.DOCUMENT_KINDS,
    summarize=summary.summarize,
)
