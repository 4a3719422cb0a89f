"""Every module's central half, in one static tuple (as the edge's ``edge.modules.PARTS``): registering one is a
line here. Nothing in ``central`` but the app that composes the service imports this."""

from __future__ import annotations

from central.contract import CentralPart
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.modules.procurement import PROCUREMENT
from central.modules.small_project import CENTRAL_SMALL_PROJECT
from central.modules.whistleblower import CENTRAL_WHISTLEBLOWER
from central.modules.work_order import CENTRAL_WORK_ORDER

CENTRAL_PARTS: tuple[CentralPart, ...] = (
    PROCUREMENT,
    CENTRAL_COMPETITIVE_DEPOSIT,
    CENTRAL_WHISTLEBLOWER,
    CENTRAL_SMALL_PROJECT,
    CENTRAL_WORK_ORDER,
)
