"""The pushes every routed item gets, worded the same way in every part, the seal's included.

A part lists its pushes through its ``notices`` hook (``edge.kernel.contract.Part``): the notifier calls it with
the running agent and each new entry under the part's prefixes, once the working database has applied the entry,
and delivers the :class:`~edge.kernel.contract.Notice` values it returns as it delivers the seal's: to each person's
devices by Web Push, and to the village's group robots for an item awaiting approval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from edge.kernel.contract import Awaiting, Notice
from edge.kernel.routing import to_tell

if TYPE_CHECKING:
    from edge.ledger import Entry

AWAITING, APPROVED, REJECTED = "awaiting_approval", "approved", "rejected"


def awaiting(item_id: str, approvers: Sequence[str], what: str, link: str, name_of: Callable[[str], str]) -> list[Notice]:
    """The push telling ``approvers`` that an item awaits them (nothing when nobody new is awaited)."""
    if not approvers:
        return []
    names = "、".join(name_of(a) for a in approvers)
    return [Notice(AWAITING, item_id, f"待审批 {item_id}", f"{what}。待 {names} 审批。", link, tuple(approvers), group=True)]


def routed(
    entry: Entry, prefix: str, filed: str, item: Awaiting, applicant: str | None, name_of: Callable[[str], str]
) -> list[Notice]:
    """The pushes of one step of a routed item, as the console's inbox shows it (``item``): ``entry`` filed it
    (its kind is ``filed``) or is the routing desk's decision under ``prefix``; ``applicant`` is told the outcome
    (nobody when an account without a person on the roster filed it)."""
    told = [applicant] if applicant else []
    what = f"{item.title}：{item.summary}"
    if entry.kind == filed:
        return awaiting(item.id, to_tell(item.routed.route, item.routed.barred, None), what, item.link, name_of)
    if entry.kind == f"{prefix}.approval":
        return awaiting(item.id, to_tell(item.routed.route, (), int(entry.body.get("count", 0))), what, item.link, name_of)
    if entry.kind == f"{prefix}.approved":
        return decided(item.id, what, item.link, told)
    if entry.kind == f"{prefix}.rejected":
        return decided(item.id, what, item.link, told, rejected=str(entry.body.get("reason", "")))
    return []


def decided(item_id: str, what: str, link: str, applicant: Sequence[str], rejected: str | None = None, then: str = "审批已通过") -> list[Notice]:
    """The push telling the applicant the outcome: approved (``then``: what happens next), or rejected with its reason."""
    if rejected is None:
        return [Notice(APPROVED, item_id, f"已批准 {item_id}", f"{what}。{then}。", link, tuple(applicant))]
    return [Notice(REJECTED, item_id, f"已驳回 {item_id}", f"{what}。驳回理由：{rejected}", link, tuple(applicant))]
