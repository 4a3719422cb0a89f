"""Re-issuing a grant whose window lapsed unused: a pure rule.

A custodian who missed the window (the grant's minutes on the device passed before any press) used to need a
new request and two new approvals. The final approver may instead re-issue the grant once, with one tap, while
the approval is still alive (``approval_ttl_s`` from the final approval): ``seal_request.regranted`` records who
did, and the request is approved again, so the agent sends the device a new grant as for any approval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from edge.seal.db import RequestView


def final_approver(request: RequestView) -> str | None:
    done = request.approvers_done
    return done[-1] if done else None


def regrant_refusal(request: RequestView, person: str, now: datetime, approved_until: datetime | None) -> tuple[str, str] | None:
    """(code, Chinese message) when ``person`` may not re-issue ``request``'s grant at ``now``; None when they may.
    ``approved_until``: when the approval's lifetime ends (None: never approved)."""
    if not request.lapsed_unused:
        return "not_lapsed", "只有授权过期未用印的申请可以重新授权"
    if request.regranted:
        return "regranted_once", "此申请已重新授权过一次，请重新提交申请"
    if person != final_approver(request):
        return "not_final_approver", "只有最后一位审批人可以重新授权"
    if approved_until is None or approved_until <= now:
        return "approval_expired", "批准已超过有效期，请重新提交申请"
    return None


def approval_lifetime_end(approved_at: str | None, ttl_s: int) -> datetime | None:
    return None if approved_at is None else datetime.fromisoformat(approved_at) + timedelta(seconds=ttl_s)
