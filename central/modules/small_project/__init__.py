"""限额工程 at the central: the township publishes its guide-price catalogue down to its villages' edges. See
README.md beside the edge half (edge/modules/small_project/) for the whole module and what is left here."""

from __future__ import annotations

from central.contract import CentralPart
from central.modules.small_project import web
from central.modules.small_project.catalogue import CATALOGUE, NAME, catalogues

CENTRAL_SMALL_PROJECT = CentralPart(
    name=NAME,
    title="限额工程",
    tables=(catalogues,),
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    decisions={CATALOGUE: "发布指导价目录"},
)
