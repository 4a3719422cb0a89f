"""What an account may see and do with the seal: which requests it sees, filing with an original, deciding,
searching stamped pages, the devices and the desk camera.

Every step is taken as the account's person through :class:`edge.agent.EdgeAgent`, so the agent's separation
of duties applies unchanged (nobody approves their own request, the custodian never approves a use of their
seal, the route decides who and in which order). This layer adds what the agent does not know about: which
requests an account may *see*. The console's shell (:class:`edge.web.service.Console`) says who is logged in
and in which village's scope.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.kernel.config import SEAL_KINDS, EdgeConfig, Person
from edge.kernel.documents import StoredDocument, document_path, store_document
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.routing import why_not
from edge.ledger.localtime import local_today, utc_bound
from edge.ocr.search import Hit, SearchIndex
from edge.seal import projection as P
from edge.seal.db import PENDING, RequestView
from edge.seal.desk import Filing, amount_from_text, check_filing, routed, takes_part
from edge.seal.handover import takers
from edge.seal.web.drafts import Drafts
from edge.seal.hours import describe, hours_of_device
from edge.seal.personcam import person_photos_for
from edge.seal.regrant import approval_lifetime_end, regrant_refusal
from edge.web.service import PASSWORD_CHANGE_REQUIRED, Console, Principal
from edge.web.uploads import DISK_FULL, Received, disk_short, quota_exceeded, receive, sniff

log = logging.getLogger("edge.seal.web")

READ_ALL_ROLES = frozenset({"admin", "supervisor", "village_staff"})
NOT_VISIBLE = "没有此申请，或您无权查看"


def _render_last_page(pdf: Path, png: Path, max_pixels: int) -> None:
    """A PDF original's last page as a PNG, for the simulated desk camera (the demo's board)."""
    import cv2

    from edge.ocr.preprocess import render_pdf

    pages = render_pdf(pdf.read_bytes(), max_pixels)
    png.parent.mkdir(parents=True, exist_ok=True)
    partial = png.with_suffix(".part.png")
    cv2.imwrite(str(partial), pages[-1])
    partial.replace(png)


class SealConsole:
    """The seal's steps behind its pages and /api, on the console's agent, store and settings."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.agent = console.agent
        self.store = console.store
        self.settings = console.settings
        self._uploading = asyncio.Lock()
        self.drafts = Drafts(console.config.data_dir)

    @property
    def config(self) -> EdgeConfig:
        return self.console.config

    def name_of(self, person_id: str | None) -> str:
        return self.console.name_of(person_id)

    def can_see(self, p: Principal, r: RequestView) -> bool:
        if not p.roles:
            return False
        if p.roles & READ_ALL_ROLES:
            return True
        return p.person_id is not None and takes_part(r, p.person_id, p.roles)

    async def visible_requests(self, p: Principal, status: str | None = None, limit: int = 500) -> list[RequestView]:
        """Newest first: the last ``limit`` requests (of ``status``) that ``p`` may see."""
        if not p.roles:
            return []
        async with self.agent.recorder.step():  # reads in a step never see half of a recorded one
            requests = await self.agent.db.requests(status=status, limit=limit)
        return [r for r in reversed(requests) if self.can_see(p, r)]

    def in_tab(self, p: Principal, r: RequestView, tab: str) -> bool:
        """The request list's tabs: 待我审批 (todo: pending and my turn), 我已审批 (done), 我发起的 (mine)."""
        me = p.person_id
        if me is None:
            return False
        if tab == "todo":
            return r.status == PENDING and p.may_decide and me in r.route.get("approvers", ()) and self.turn(p, r) is None
        if tab == "done":
            return any(a["person"] == me for a in r.approvals)
        return r.applicant == me  # "mine"

    async def search_pages(self, p: Principal, query: str, seal: str | None, since: date | None, until: date | None,
                           flag: str | None, limit: int = 50) -> list[dict[str, Any]]:
        """Stamped pages whose OCR text matches, newest first, among the requests ``p`` may see (dates are
        local, inclusive); each with the request it belongs to."""
        if not p.roles:
            return []

        def find() -> list[Hit]:
            index = SearchIndex.for_data_dir(self.config.data_dir)
            try:
                return index.search(
                    query, village=self.config.village, seal=seal or None,
                    since=utc_bound(since) if since else None,
                    until=utc_bound(until + timedelta(days=1)) if until else None, flag=flag or None, limit=limit,
                )  # fmt: skip
            finally:
                index.close()

        requests: dict[str, RequestView | None] = {}
        shown = []
        for hit in await asyncio.to_thread(find):
            rid = hit.request_id
            if rid is not None and rid not in requests:
                try:
                    requests[rid] = await self.agent.get_request(rid)
                except NotFound:
                    requests[rid] = None
            request = requests.get(rid) if rid is not None else None
            if request is None or not self.can_see(p, request):
                continue  # a page is shown only with its request (the photo is served through it)
            shown.append({**hit.to_dict(), "request": request.to_dict()})
        return shown

    async def enrolled(self, device_name: str) -> bool:
        async with self.agent.recorder.step():
            return await self.agent.db.device_by_name(device_name) is not None

    async def original_in_use(self, device_name: str) -> Path | None:
        """The approved original of the request holding ``device_name``, as an image the simulated desk camera
        can show: an image original as it is, a PDF's last page (where the seal goes) rendered once beside it."""
        async with self.agent.recorder.step():
            device = await self.agent.db.device_by_name(device_name)
            request = await self.agent.db.active_request(device.device_id) if device is not None else None
        sha = request.document.get("sha256") if request is not None else None
        if not sha:
            return None
        path = document_path(self.config.data_dir, str(sha))
        with path.open("rb") as f:
            kind = sniff(f.read(16))
        if kind in ("png", "jpeg"):
            return path
        if kind != "pdf":
            return None
        page = self.config.data_dir / "incoming" / f"{sha}-last-page.png"
        if not page.exists():
            try:
                await asyncio.to_thread(_render_last_page, path, page, self.settings.max_page_pixels)
            except ValueError as exc:  # ImageError: a PDF pdfium cannot draw stays in the drawer
                log.warning("PDF original %s not shown to the simulated camera: %s", sha, exc)
                return None
        return page

    async def granted_request(self, request_id: object) -> RequestView | None:
        """The request a device's open grant serves, as its status names it (None when it names none we know)."""
        if not isinstance(request_id, str):
            return None
        try:
            return await self.agent.get_request(request_id)
        except NotFound:
            return None

    async def request_for(self, p: Principal, request_id: str) -> RequestView:
        try:
            request = await self.agent.get_request(request_id)
        except NotFound:
            raise NotFound(NOT_VISIBLE) from None
        if not self.can_see(p, request):
            raise NotFound(NOT_VISIBLE)
        return request

    async def detail_for(self, p: Principal, request_id: str) -> dict[str, Any]:
        """One request as its page and ``GET /api/requests/{id}`` both show it (:meth:`view_and_detail`)."""
        return (await self.view_and_detail(p, request_id))[1]

    async def view_and_detail(self, p: Principal, request_id: str) -> tuple[RequestView, dict[str, Any]]:
        """The request ``p`` may see, and its detail: grants, presses (each with what its impression read as,
        edge/ocr/impression.py), hand-overs, push deliveries, and the person photos, None when ``p`` may not see
        them. Read from the request's own records, never by scanning the ledger."""
        view = await self.request_for(p, request_id)
        detail = await self.agent.request_detail(request_id)
        records = await self.agent.request_records(request_id)
        impressions = {
            e.body.get("press_entry"): e.body["impression"] for e in records
            if e.kind == P.PHOTO_CHECK and e.body.get("impression")
        }  # fmt: skip
        for press in detail["press_events"]:
            press["impression"] = impressions.get(press["entry"])
        detail["handovers"] = [{**e.body, "at": e.ts} for e in records if e.kind == P.HANDED_OVER]
        photos = person_photos_for(records, view, p.person_id, p.roles)
        detail["person_photos"] = None if photos is None else [photo.to_dict() for photo in photos]
        detail["deliveries"] = [d.to_dict() for d in await self.store.deliveries(request_id)]
        return view, detail

    def turn(self, p: Principal, r: RequestView) -> str | None:
        """Why ``p`` cannot decide ``r`` now (Chinese), or None if it is their turn."""
        return why_not(routed(r), p.person_id if p.may_decide else None, self.name_of)

    async def inbox(self, p: Principal) -> list[RequestView]:
        """Pending requests on ``p``'s route (whether it is their turn: :meth:`turn`)."""
        if not p.may_decide:
            return []
        pending = await self.agent.list_requests(status=PENDING)
        return [r for r in pending if p.person_id in r.route.get("approvers", ()) and self.can_see(p, r)]

    async def file(
        self, p: Principal, matter: str, seal: str, presses_text: str, amount_text: str, device: str | None, upload: object,
        draft: str = "",
    ) -> RequestView:
        """File a request with its uploaded original (or, with no new file, the account's draft named by its SHA-256:
        the original of a form sent back with an error). Everything is checked before the file is stored; an
        error in the form's fields keeps a received original as the account's draft (edge/seal/web/drafts.py)."""
        if not p.may_file or p.person is None:
            raise Refused("您的账号不能提交用印申请（需要申请人或印章管理员角色）", "not_applicant")
        username = p.account.username
        received = None
        if getattr(upload, "filename", None):
            self._check_disk(0)  # before anything is written: a full disk is not filled further
            self.drafts.drop(username)  # a new file chosen: the one kept before is not what the form shows now
            received = await receive(
                upload, self.config.data_dir / "incoming", self.settings.max_upload_bytes, self.settings.max_page_pixels
            )
        elif draft:
            received = self.drafts.take(username, draft)
        try:
            filing = await self._check_fields(p.person.id, matter, seal, presses_text, amount_text, device)
        except InputError:
            if received is not None:
                self.drafts.keep(username, received)
            raise
        if received is None:
            raise InputError("请选择原件文件（PDF、JPG 或 PNG）。", "missing_file")
        async with self._uploading:  # until the request is recorded: parallel uploads cannot share one quota
            document = await self._store_original(p.person.id, received)
            return await self.agent.file_request(
                p.person.id, filing.matter, filing.seal, filing.presses, document, filing.amount_fen, filing.device.name
            )

    async def _check_fields(
        self, person_id: str, matter: str, seal: str, presses_text: str, amount_text: str, device: str | None
    ) -> Filing:
        if seal not in SEAL_KINDS:
            raise InputError("请选择印章种类", "bad_seal")
        try:
            presses = int(str(presses_text).strip())
        except ValueError:
            raise InputError("用印次数应为 1 到 100 之间的整数", "bad_presses") from None
        amount_fen = amount_from_text(self.config, amount_text)
        filing = check_filing(self.config, person_id, matter, seal, presses, amount_fen, device or None)
        if not await self.enrolled(filing.device.name):
            raise InputError(f"设备 {filing.device.name} 尚未登记，暂不能申请此印章", "not_enrolled")
        return filing

    async def _store_original(self, person_id: str, received: Received) -> StoredDocument:
        """Store a received original, within the free-space floor and the account's daily quota (its file is
        removed either way)."""
        try:
            self._check_disk(received.size)  # the store takes a copy of it
            since = utc_bound(local_today())
            async with self.agent.recorder.step():
                used = await self.agent.db.document_bytes_filed(person_id, since)
            over = quota_exceeded(used, received.size, self.settings.upload_quota_bytes)
            if over is not None:
                log.info("upload by %s refused: %d bytes today, quota %d", person_id, used, self.settings.upload_quota_bytes)
                raise InputError(over, "upload_quota")
            stored = await asyncio.to_thread(store_document, self.config.data_dir, received.path)
        finally:
            received.path.unlink(missing_ok=True)
        return StoredDocument(stored.sha256, received.name, stored.size)

    def _check_disk(self, extra: int) -> None:
        problem = disk_short(self.config.data_dir, self.settings.min_free_bytes, extra)
        if problem is not None:
            log.warning("upload refused, disk nearly full under %s: %s", self.config.data_dir, problem)
            raise InputError(DISK_FULL, "disk_full")

    async def approve(self, p: Principal, request_id: str, comment: str | None = None) -> RequestView:
        person = await self._decider(p, request_id)
        return await self.agent.approve(request_id, person.id, p.account.username, comment)

    async def reject(self, p: Principal, request_id: str, reason: str) -> RequestView:
        person = await self._decider(p, request_id)
        return await self.agent.reject(request_id, person.id, reason, p.account.username)

    async def regrant(self, p: Principal, request_id: str) -> RequestView:
        """Re-issue a lapsed, unused grant as the request's final approver (once); the agent then sends it."""
        person = await self._decider(p, request_id)
        return await self.agent.regrant(request_id, person.id, p.account.username)

    async def hand_over(self, p: Principal, request_id: str, to: str, reason: str) -> RequestView:
        """Hand ``p``'s step of the request to the approver ``to`` (转交), with a reason."""
        person = await self._decider(p, request_id)
        if not to or to not in self.config.people:
            raise InputError("请选择转交给哪位审批人", "bad_handover")
        return await self.agent.hand_over(request_id, person.id, to, reason, p.account.username)

    def handover_to(self, p: Principal, r: RequestView) -> list[Person]:
        """Whom ``p`` may hand their step of ``r`` to; none unless the step is theirs now (the desk decides again)."""
        if not p.may_decide or p.person_id is None or r.status != PENDING or self.turn(p, r) is not None:
            return []
        return takers(r, self.config.people, self.config.village)

    async def withdraw(self, p: Principal, request_id: str) -> RequestView:
        return await self.agent.withdraw(request_id, self._applicant(p), p.account.username)

    async def remind(self, p: Principal, request_id: str) -> list[str]:
        return await self.agent.remind(request_id, self._applicant(p), p.account.username)

    async def urgent(self, p: Principal, request_id: str, reason: str) -> RequestView:
        """The applicant asks for an urgent use outside the seal's hours: a written reason, one more approver."""
        await self.request_for(p, request_id)
        return await self.agent.mark_urgent(request_id, self._applicant(p), reason, p.account.username)

    def hours(self, r: RequestView) -> str | None:
        """The seal's hours of use in words, or None when it has none."""
        hours = hours_of_device(self.config, r.device_name)
        return None if hours is None else describe(hours)

    def _applicant(self, p: Principal) -> str:
        if p.person_id is None:
            raise Refused("您的账号不代表任何人，不能撤销或催办", "not_applicant")
        return p.person_id

    def may_regrant(self, p: Principal, r: RequestView) -> bool:
        """Whether the page offers ``p`` the one-tap re-issue of ``r``'s lapsed grant (the desk decides again)."""
        until = approval_lifetime_end(r.approved_at, self.config.timing.approval_ttl_s)
        now = datetime.now(UTC)
        return p.may_decide and p.person_id is not None and regrant_refusal(r, p.person_id, now, until) is None

    async def _decider(self, p: Principal, request_id: str) -> Person:
        """The person ``p`` decides for, once their account may decide at all."""
        await self.request_for(p, request_id)
        if not p.may_decide or p.person is None:
            raise Refused("您的账号没有审批权限", "not_approver")
        if p.account.must_change_password:
            # An admin knows this password: until its owner sets their own, nothing is decided in their name.
            raise Refused(PASSWORD_CHANGE_REQUIRED, "password_change_required")
        return p.person

    def document_file(self, request: RequestView) -> Path:
        return document_path(self.config.data_dir, str(request.document["sha256"]))

    def camera(self) -> dict[str, Any]:
        """The desk camera's state (``configured`` false when the edge takes no photos)."""
        evidence = self.agent.evidence
        return {"configured": False} if evidence is None else {"configured": True, **evidence.status()}

    async def devices(self) -> list[dict[str, Any]]:
        status = {d["name"]: d for d in await self.agent.device_status()}
        result = []
        for device in self.config.devices:
            data = status.get(device.name)
            result.append({"config": device, "status": data, "enrolled": data is not None})
        return result
