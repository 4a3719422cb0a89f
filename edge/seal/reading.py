"""The route of a seal request after its original is read at filing: a pure rule.

An applicant types the amount; the original states one too. A ¥28,000 contract filed as ¥2,500 must not take
the small-amount route, so where the edge reads originals ([camera]: the OCR workers of the photo evidence) a
request is filed in the READING state (``seal_request.filed`` with ``"reading": true``), nobody may decide it
yet, and once the original is read ``seal_request.routed`` freezes the route by the larger of the declared and
the read amount. Approvers see both amounts; a read amount that differs from the declared one is an anomaly
(``amount_mismatch``) and marks the request red; an original that cannot be read says so.

The same function decides for the live edge and for anyone recomputing the decision from the ledger: it reads
the config's routes, the request as filed, and the reading recorded in ``document.ocr``.
"""

from __future__ import annotations

from typing import Any

from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError
from edge.kernel.routing import check_route_possible
from edge.seal import projection as P
from edge.seal.db import RequestView

READ, NO_AMOUNT_READ, UNREADABLE = "read", "no_amount", "unreadable"
#: What the approvers are told about the original, by the state of its reading.
READ_NAMES = {READ: "已识别", NO_AMOUNT_READ: "原件上未识别出金额", UNREADABLE: "原件无法识别，请人工核对金额"}
MISMATCH = "amount_mismatch"


def read_amount(reading: dict[str, Any] | None) -> int | None:
    """The amount the original states, in fen, as the OCR read it (figures and capitals reconciled): of a PDF's
    pages, the largest."""
    if reading is None:
        return None
    amounts = [(page.get("fields") or {}).get("amount_fen") for page in reading.get("pages") or [reading]]
    read = [fen for fen in amounts if type(fen) is int and fen >= 0]
    return max(read) if read else None


def route_after_read(config: EdgeConfig, request: RequestView, reading: dict[str, Any] | None, error: str | None = None) -> tuple[str, dict[str, Any]]:
    """The entry that ends a request's READING state: ``seal_request.routed`` with the route frozen by the larger
    of the declared and the read amount, or ``seal_request.failed`` when nobody could approve the request
    under that route (the applicant or custodian is on its chain)."""
    declared = request.amount_fen
    read_fen = read_amount(reading)
    state = UNREADABLE if reading is None else READ if read_fen is not None else NO_AMOUNT_READ
    route_fen = max(declared, read_fen or 0)
    about: dict[str, Any] = {
        "request_id": request.id, "declared_fen": declared, "read_fen": read_fen, "read": state, "route_fen": route_fen,
        "document": request.document.get("sha256"),
    }  # fmt: skip
    if error is not None:
        about["error"] = error
    if read_fen is not None and read_fen != declared:
        about["anomaly"] = MISMATCH
    try:
        route = config.route_for(request.seal, route_fen)
        check_route_possible(
            route.name, route.mode, route.n, route.approvers, {request.applicant, request.custodian},
            f"request {request.id} ({route_fen} fen as read)",
        )  # fmt: skip
    except InputError as exc:
        return P.FAILED_KIND, {**about, "reason": exc.code, "message": exc.message}
    return P.ROUTED, {**about, "route": route.to_body()}
