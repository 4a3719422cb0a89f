"""户主大会 household assembly: the yearly meeting of household heads, as one part of the village edge.

The register of households, each meeting on the 4+X agenda with its notices, the printed QR sign-in sheet,
questions, two tellers' tally sheets, the published attendance and satisfaction rates, and the commitments
tracked to the next meeting. See README.md in this folder.

Its files import one another as ``import edge.modules.household_assembly.<module> as <module>``: the layer test
reads ``from <package> import <module>`` as importing this package, whose imports below would close a cycle.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.household_assembly import board, cli, demo, summary, web
from edge.modules.household_assembly.kinds import KINDS, NAME
from edge.modules.household_assembly.projection import PROJECTION, SCHEMA
from edge.modules.household_assembly.settings import SECTION

HOUSEHOLD_ASSEMBLY = Part(
    name=NAME,
    title="户主大会",
    kinds=KINDS,
    schema=SCHEMA,
    schema_version=1,
    projection=PROJECTION,
    config=SECTION,
    cli=cli.register,
    router=web.router,
    templates=web.TEMPLATES,
    nav=web.NAV,
    exports=board.EXPORTS,
    publishes=board.published,
    demo=demo.seed,
    summarize=summary.summarize,
)
