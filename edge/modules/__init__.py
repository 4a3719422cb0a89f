"""Every part of the edge, in one static tuple: the seal first, then each governance module.

Static on purpose (not entry points): a ledger's projection must never depend on what happens to be
installed. Registering a part is one line here; each module is a package ``edge/modules/<name>/`` named as
its ledger prefix, URL segment and central key (see README). The kernel never imports this: the composition
root (``edge/agent.py``), the CLI and the web shell pass it in.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.kernel.toml import ConfigSection
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT
from edge.modules.household_assembly import HOUSEHOLD_ASSEMBLY
from edge.modules.procurement import PROCUREMENT
from edge.modules.small_project import SMALL_PROJECT
from edge.modules.whistleblower import WHISTLEBLOWER
from edge.modules.work_order import WORK_ORDER
from edge.seal.part import SEAL

PARTS: tuple[Part, ...] = (
    SEAL,
    HOUSEHOLD_ASSEMBLY,
    WORK_ORDER,
    PROCUREMENT,
    COMPETITIVE_DEPOSIT,
    WHISTLEBLOWER,
    SMALL_PROJECT,
)
#: Each part's own table of edge.toml: every reader of the file reads it with all of them.
SECTIONS: tuple[ConfigSection, ...] = tuple(part.config for part in PARTS if part.config is not None)
