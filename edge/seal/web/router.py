"""The seal's pages and /api: requests with their originals and photos, approving and rejecting, the devices,
the desk camera, the simulated press, and the search of stamped pages by their text.

Mounted by the console's shell (edge/web/app.py) like every part's router: sessions, CSRF, rendering and
the error envelope come from :class:`edge.web.shell.Shell`; the templates sit beside this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from edge.kernel.config import SEAL_KINDS, SEAL_NAMES
from edge.kernel.contract import Awaiting, NavItem
from edge.kernel.errors import InputError, NotFound, Refused, chinese
from edge.kernel.fmt import yuan
from edge.ledger.localtime import local_time
from edge.seal.db import STATUS_NAMES, RequestView
from edge.seal.desk import routed
from edge.seal.personcam import PersonStore, person_photos_for
from edge.seal.photos import PhotoStore
from edge.seal.summary import REFUSAL_MESSAGES, reason_name
from edge.seal.web.service import SealConsole
from edge.web import ledgerview as L
from edge.web.service import Principal
from edge.web.shell import API_ERRORS, OkOut, Shell
from edge.web.uploads import ACCEPT, content_type_of

TEMPLATES = Path(__file__).parent / "templates"
NAV = (
    NavItem("/requests", "申请"),
    NavItem("/requests/new", "新申请", ("applicant", "custodian")),  # person roles: held only when backed by the roster
    NavItem("/devices", "设备", ("custodian", "supervisor", "admin", "village_staff")),
    NavItem("/search", "检索"),
)


#: The request list's tabs (?tab=), for an account that stands for a person.
TABS = {"todo": "待我审批", "done": "我已审批", "mine": "我发起的"}


class ApprovalOut(BaseModel):
    person: str
    decision: str
    reason: str | None = None
    at: str


class RequestOut(BaseModel):
    id: str
    status: str
    status_name: str
    applicant: str
    matter: str
    seal: str
    presses: int
    amount_fen: int
    device_id: str
    device_name: str
    custodian: str
    document: dict[str, Any]
    route: dict[str, Any]
    filed_at: str
    approved_at: str | None = None
    ended_at: str | None = None
    grant_no: int | None = None
    presses_used: int
    reason: str | None = None
    approvals: list[ApprovalOut]
    amount_read_fen: int | None = Field(
        None, description="the amount read on the original at filing (OCR); null while reading, when none was read, "
        "or for a request filed before originals were read"
    )
    amount_mismatch: bool = Field(False, description="the original states another amount than amount_fen: an anomaly")
    lapsed_unused: bool = Field(False, description="closed because the grant's window passed before any press (授权过期未用印)")
    regranted: bool = Field(False, description="the final approver re-issued the lapsed grant (allowed once)")
    original_read: dict[str, Any] | None = Field(
        None, description="the reading at filing: state (read | no_amount | unreadable), amount_fen, mismatch, error"
    )


class DeliveryOut(BaseModel):
    id: int
    request_id: str | None
    event: str
    backend: str
    kind: str
    recipient: str
    status: str = Field(description="queued | retrying | sent | failed")
    status_name: str
    attempts: int
    next_at: float | None = Field(description="Unix time of the next attempt while queued or retrying")
    last_error: str | None
    created_at: str
    updated_at: str


class RequestDetailOut(RequestOut):
    grants: list[dict[str, Any]]
    press_events: list[dict[str, Any]] = Field(
        description="each press; photo, OCR flags and what its impression read as (impression) once recorded"
    )
    handovers: list[dict[str, Any]] = Field(description="转交: approver, to, reason, at")
    person_photos: list[dict[str, Any]] | None = Field(
        description="the person at the desk at the unlock and the last press; null when this account may not see them"
    )
    deliveries: list[DeliveryOut]


class SearchHitOut(BaseModel):
    photo_sha256: str = Field(description="the photo, served at /requests/{request_id}/photos/{photo_sha256}")
    village: str
    seal: str
    request_id: str | None
    press_no: int | None
    taken_at: str
    title: str | None = Field(description="the title read on the page")
    amount_fen: int | None = Field(description="the amount read on the page")
    flags: list[str] = Field(description="what differed from the approved original (amount, title, text, blank, ...)")
    snippet: str = Field(description="the matching text, the match in [brackets]")
    request: RequestOut


class HandOverIn(BaseModel):
    to: str = Field(min_length=1, description="the approver who takes the step (person id)")
    reason: str = Field(min_length=1, max_length=500, description="转交理由, recorded with the hand-over")


class RemindOut(BaseModel):
    reminded: list[str] = Field(description="the approvers reminded (person ids)")


class ApproveIn(BaseModel):
    comment: str | None = Field(None, max_length=500, description="审批意见, recorded with the approval")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class DeviceOut(BaseModel):
    name: str
    seal: str
    custodian: str
    enrolled: bool
    device_id: str | None = None
    online: bool = False
    lock: str | None = Field(None, description="locked | unlocked, from the device's last status")
    presses_total: int | None = None
    boots: int | None = None
    fw: str | None = Field(None, description="SHA-256 of the firmware the device runs")
    last_grant_no: int | None = None
    last_event_id: int | None = None
    last_seen: str | None = None
    anomalies: int | None = None
    grant: dict[str, Any] | None = None
    blocked: dict[str, Any] | None = Field(
        None, description="no grants until re-provisioned: it used a grant the edge never issued (no, reason, entry, at)"
    )


class CameraOut(BaseModel):
    configured: bool = Field(description="false: the edge has no [camera] section and takes no photos")
    connected: bool | None = Field(None, description="the camera delivers frames now")
    last_error: str | None = Field(None, description="why it does not, while it does not")
    reconnects: int | None = None
    captures: int | None = Field(None, description="photos taken since the agent started")
    capture_failures: int | None = Field(None, description="presses since the start left without a photo (flagged)")
    in_progress: int | None = Field(None, description="captures and OCR checks still running")
    ocr_backend: str | None = None


def require_devices(p: Principal) -> None:
    if not p.may_see_devices:
        raise Refused("您的账号不能查看设备", "forbidden")


async def inbox(shell: Shell, p: Principal) -> list[Awaiting]:
    """The pending seal requests on ``p``'s route, for the console's 待审批 inbox."""
    items = []
    for r in await SealConsole(shell.console).inbox(p):
        seal = f"{SEAL_NAMES.get(r.seal, r.seal)}×{r.presses}"
        amount = yuan(r.amount_fen) if r.amount_fen else "金额未填"
        if r.amount_mismatch:
            amount += f"（⚠ 原件 {yuan(r.amount_read_fen or 0)}）"
        summary = f"{seal} · {amount} · {shell.console.name_of(r.applicant)} · {local_time(r.filed_at)}"
        items.append(Awaiting(r.id, r.matter, summary, f"/requests/{r.id}", r.filed_at, routed(r), r.to_dict()))
    return items


def router(shell: Shell) -> APIRouter:
    console, store, ledger = shell.console, shell.store, shell.ledger
    service = SealConsole(console)  # one for the app: its upload lock spans every request
    api = APIRouter()
    shell.templates.env.globals.update(
        SEAL_NAMES=SEAL_NAMES, SEAL_KINDS=SEAL_KINDS, STATUS_NAMES=STATUS_NAMES, ACCEPT=ACCEPT,
        max_upload_mb=shell.settings.max_upload_bytes // (1024 * 1024),
    )
    shell.templates.env.filters.update(reason_name=reason_name)

    @api.get("/requests", include_in_schema=False)
    async def requests_page(request: Request, status: str | None = None, tab: str | None = None) -> Response:
        p = await shell.principal_of(request)
        status = status if status in STATUS_NAMES else None
        tab = tab if tab in TABS and p.person_id is not None else None
        items = await service.visible_requests(p, status)
        if tab is not None:
            items = [r for r in items if service.in_tab(p, r, tab)]
        return await shell.render(request, "requests.html", requests=items, status=status, tab=tab, TABS=TABS)

    @api.get("/requests/new", include_in_schema=False)
    async def new_request_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        if not p.may_file:
            raise Refused("您的账号不能提交用印申请（需要申请人或印章管理员角色）", "not_applicant")
        return await shell.render(
            request, "request_new.html", form={}, devices=console.config.devices, reads_originals=console.config.camera is not None
        )

    @api.post("/requests/new", include_in_schema=False)
    async def new_request_submit(
        request: Request,
        matter: Annotated[str, Form()] = "",
        seal: Annotated[str, Form()] = "",
        presses: Annotated[str, Form()] = "",
        amount: Annotated[str, Form()] = "",
        device: Annotated[str, Form()] = "",
        document: Annotated[UploadFile | None, File()] = None,
        draft: Annotated[str, Form()] = "",
    ) -> Response:
        p = await shell.acting(request)
        form = {"matter": matter, "seal": seal, "presses": presses, "amount": amount, "device": device}
        try:
            filed = await service.file(p, matter, seal, presses, amount, device or None, document, draft)
        except InputError as exc:
            return await shell.render(
                request, "request_new.html", 400, form=form, devices=console.config.devices, error=chinese(exc.message),
                reads_originals=console.config.camera is not None, draft=service.drafts.current(p.account.username),
            )  # fmt: skip
        await shell.flash(request, "ok", f"已提交用印申请 {filed.id}，等待审批。")
        return RedirectResponse(f"/requests/{filed.id}", 303)

    async def request_context(request: Request, p: Principal, request_id: str) -> dict[str, Any]:
        view, detail = await service.view_and_detail(p, request_id)
        path = service.document_file(view)
        ctype = await asyncio.to_thread(content_type_of, path) if path.exists() else None
        text = None
        if ctype and ctype.startswith("text/"):
            text = (await asyncio.to_thread(path.read_bytes))[:20000].decode("utf-8", "replace")
        return {
            "r": detail, "view": view, "doc_type": ctype, "doc_text": text,
            "turn": service.turn(p, view) if p.may_decide else None,
            "on_route": p.person_id in view.route.get("approvers", ()),
            "decided": any(a["person"] == p.person_id for a in view.approvals),
            "may_regrant": service.may_regrant(p, view),
            "handover_to": service.handover_to(p, view),
            "hours": service.hours(view),
        }  # fmt: skip

    @api.get("/requests/{request_id}", include_in_schema=False)
    async def request_page(request: Request, request_id: str) -> Response:
        p = await shell.principal_of(request)
        return await shell.render(request, "request.html", **(await request_context(request, p, request_id)))

    @api.get("/requests/{request_id}/live", include_in_schema=False)
    async def request_live(request: Request, request_id: str) -> Response:
        p = await shell.principal_of(request)
        context = await request_context(request, p, request_id)
        return await shell.fragment(request, p, "_request_live.html", **context)

    @api.get("/requests/{request_id}/document", include_in_schema=False)
    async def request_document(request: Request, request_id: str) -> Response:
        p = await shell.principal_of(request)
        return await document_response(p, request_id)

    async def document_response(p: Principal, request_id: str) -> Response:
        view = await service.request_for(p, request_id)
        path = service.document_file(view)
        if not path.exists():
            raise NotFound("原件文件不在本机的文档库中")
        ctype = await asyncio.to_thread(content_type_of, path)
        name = str(view.document.get("name") or "原件")
        headers = {"Cache-Control": "private, max-age=3600"}
        if ctype is None:
            return FileResponse(path, media_type="application/octet-stream", filename=name, headers=headers)
        if ctype != "application/pdf":
            headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        else:
            headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; plugin-types application/pdf"
        return FileResponse(path, media_type=ctype, filename=name, content_disposition_type="inline", headers=headers)

    @api.get("/requests/{request_id}/photos/{sha256}", include_in_schema=False)
    async def press_photo(request: Request, request_id: str, sha256: str) -> Response:
        p = await shell.principal_of(request)
        await service.request_for(p, request_id)  # one p may see
        detail = await console.agent.request_detail(request_id)
        # Only a press's own photo field: a hash elsewhere (OCR text, a reason) is anyone's to write.
        if sha256 not in {pe.get("photo") for pe in detail.get("press_events", [])}:
            raise NotFound("没有此照片")
        photos = PhotoStore(console.config.data_dir)
        if sha256 in photos:
            path = photos.path(sha256)
            ctype = await asyncio.to_thread(content_type_of, path)
            if ctype in ("image/jpeg", "image/png"):
                return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, max-age=86400"})
        raise NotFound("照片文件不在本机")

    @api.get("/requests/{request_id}/person/{sha256}", include_in_schema=False)
    async def person_photo(request: Request, request_id: str, sha256: str) -> Response:
        """A photo of the person at the desk: the custodian, the request's approvers and supervisors only."""
        p = await shell.principal_of(request)
        view = await service.request_for(p, request_id)
        photos = person_photos_for(await console.agent.request_records(request_id), view, p.person_id, p.roles)
        if photos is None or sha256 not in {ph.sha256 for ph in photos if ph.deleted_at is None}:
            raise NotFound("没有此照片，或您无权查看")
        store = PersonStore(console.config.data_dir)
        if sha256 in store:
            return FileResponse(store.path(sha256), media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
        raise NotFound("照片文件不在本机")

    async def refusal_text(exc: Refused, p: Principal, request_id: str) -> str:
        """The rule that refused, in plain Chinese (the agent's own message is bilingual)."""
        if exc.code in REFUSAL_MESSAGES:
            return REFUSAL_MESSAGES[exc.code]
        if exc.code == "out_of_order":
            return (service.turn(p, await service.request_for(p, request_id)) or "未轮到您审批") + "。"
        return chinese(exc.message)

    def refused_to(exc: Refused, request_id: str) -> str:
        """Where a refused decision leads: to the password form when that is what stands in the way."""
        return "/account" if exc.code == "password_change_required" else f"/requests/{request_id}"

    async def decided(
        request: Request, request_id: str, what: str, step: Awaitable[Any], done: Callable[[Any], str],
        explain: Callable[[Refused], Awaitable[str]] | None = None, then: str | None = None,
    ) -> Response:
        """A form's step on a request, back to the request's page with what happened: refused (``what`` 被拒绝,
        why in plain Chinese), bad input, or ``done(result)``."""
        try:
            result = await step
        except Refused as exc:
            why = await explain(exc) if explain is not None else chinese(exc.message)
            await shell.flash(request, "error", f"{what}被拒绝：{why}")
            return RedirectResponse(refused_to(exc, request_id), 303)
        except InputError as exc:
            if isinstance(exc, NotFound):
                raise
            await shell.flash(request, "error", chinese(exc.message))
            return RedirectResponse(f"/requests/{request_id}", 303)
        await shell.flash(request, "ok", done(result))
        return RedirectResponse(then or f"/requests/{request_id}", 303)

    @api.post("/requests/{request_id}/approve", include_in_schema=False)
    async def approve_submit(request: Request, request_id: str, comment: Annotated[str, Form()] = "") -> Response:
        p = await shell.acting(request)

        def done(result: RequestView) -> str:
            then = "审批通过，授权将发送到设备。" if result.status != "pending" else "已同意，等待其他审批人。"
            return f"您已同意 {request_id}。{then}"

        return await decided(
            request, request_id, "审批", service.approve(p, request_id, comment or None), done,
            lambda exc: refusal_text(exc, p, request_id),
        )  # fmt: skip

    @api.post("/requests/{request_id}/reject", include_in_schema=False)
    async def reject_submit(request: Request, request_id: str, reason: Annotated[str, Form()] = "") -> Response:
        p = await shell.acting(request)
        return await decided(
            request, request_id, "驳回", service.reject(p, request_id, reason), lambda _: f"已驳回 {request_id}。",
            lambda exc: refusal_text(exc, p, request_id),
        )  # fmt: skip

    @api.post("/requests/{request_id}/urgent", include_in_schema=False)
    async def urgent_submit(request: Request, request_id: str, reason: Annotated[str, Form()] = "") -> Response:
        p = await shell.acting(request)
        return await decided(
            request, request_id, "加急", service.urgent(p, request_id, reason),
            lambda _: f"已申请加急 {request_id}：多一位审批人，记入台账并提示监督人员。",
        )  # fmt: skip

    @api.post("/requests/{request_id}/handover", include_in_schema=False)
    async def handover_submit(
        request: Request, request_id: str, to: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = ""
    ) -> Response:
        p = await shell.acting(request)
        return await decided(
            request, request_id, "转交", service.hand_over(p, request_id, to, reason),
            lambda _: f"已转交给 {console.name_of(to)}，您不再审批 {request_id}。",
            then="/requests?tab=todo",  # off its route, the request is no longer theirs to see
        )  # fmt: skip

    @api.post("/requests/{request_id}/withdraw", include_in_schema=False)
    async def withdraw_submit(request: Request, request_id: str) -> Response:
        p = await shell.acting(request)
        return await decided(
            request, request_id, "撤销", service.withdraw(p, request_id), lambda _: f"已撤销 {request_id}。"
        )

    @api.post("/requests/{request_id}/remind", include_in_schema=False)
    async def remind_submit(request: Request, request_id: str) -> Response:
        p = await shell.acting(request)

        def done(reminded: list[str]) -> str:
            return f"已催办：已提醒 {'、'.join(console.name_of(a) for a in reminded) or '审批人'}。"

        return await decided(request, request_id, "催办", service.remind(p, request_id), done)

    @api.post("/requests/{request_id}/regrant", include_in_schema=False)
    async def regrant_submit(request: Request, request_id: str) -> Response:
        p = await shell.acting(request)
        return await decided(
            request, request_id, "重新授权", service.regrant(p, request_id),
            lambda _: f"已重新授权 {request_id}，授权将发送到设备。",
        )  # fmt: skip

    # -- search of stamped pages -------------------------------------------------------------------------

    async def search_for(p: Principal, q: str, seal: str, since: str, until: str, flag: str) -> list[dict[str, Any]]:
        if len(q) > 200:
            raise InputError("检索词太长（最多 200 字）", "bad_query")
        first, last = L.local_day(since, "开始日期"), L.local_day(until, "结束日期")
        return await service.search_pages(p, q.strip(), seal, first, last, flag)

    @api.get("/search", include_in_schema=False)
    async def search_page(
        request: Request, q: str = "", seal: str = "", since: str = "", until: str = "", flag: str = ""
    ) -> Response:
        p = await shell.principal_of(request)
        params = {"q": q, "seal": seal, "since": since, "until": until, "flag": flag}
        try:
            hits = await search_for(p, q, seal, since, until, flag)
        except InputError as exc:
            return await shell.render(request, "search.html", 400, hits=[], params=params, error=chinese(exc.message))
        return await shell.render(request, "search.html", hits=hits, params=params)

    # -- devices -------------------------------------------------------------------------------------------

    async def devices_context() -> dict[str, Any]:
        devices = await service.devices()
        names = await console.device_names()
        for d in devices:
            status = d["status"]
            grant = ((status or {}).get("last_status") or {}).get("grant") or {}
            d["grant_request"] = await service.granted_request(grant.get("req"))  # what is being stamped, for whom
            if status is not None:
                flt = L.LedgerFilter(groups=("seal.*", "device.*", "grant.*"), device_ids=(status["device_id"],))
                events = await ledger.query(flt, None, 8)
                d["events"] = [shell.entry_out(e, names) for e in events]
            else:
                d["events"] = []
        person = console.agent.person
        return {"devices": devices, "camera": service.camera(), "face_camera": person.status() if person is not None else None}

    @api.get("/devices", include_in_schema=False)
    async def devices_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        require_devices(p)
        return await shell.render(request, "devices.html", **(await devices_context()))

    @api.get("/devices/live", include_in_schema=False)
    async def devices_live(request: Request) -> Response:
        p = await shell.principal_of(request)
        require_devices(p)
        return await shell.fragment(request, p, "_devices_live.html", **(await devices_context()))

    @api.post("/devices/{name}/press", include_in_schema=False)
    async def sim_press(request: Request, name: str) -> Response:
        p = await shell.acting(request)
        await do_sim_press(p, name)
        await shell.flash(request, "ok", f"已在模拟设备 {name} 上按压一次。")
        return RedirectResponse("/devices", 303)

    async def do_sim_press(p: Principal, name: str) -> None:
        if console.sim is None:
            raise NotFound("只有模拟设备可以在网页上按压")
        if not p.may_press_sim:
            raise Refused("只有印章管理员或管理员可以操作设备", "forbidden")
        console.config.device(name)
        await console.sim.press(await service.original_in_use(name))

    @api.get("/api/requests", tags=["requests"], response_model=list[RequestOut], responses=API_ERRORS)
    async def api_requests(request: Request, status: Annotated[str | None, Query(description="only this status")] = None) -> list[dict[str, Any]]:
        """The requests this account may see, newest first."""
        p = await shell.principal_of(request)
        return [r.to_dict() for r in await service.visible_requests(p, status)]

    @api.post(
        "/api/requests", tags=["requests"], response_model=RequestOut, status_code=201, responses=API_ERRORS,
    )  # fmt: skip
    async def api_file(
        request: Request,
        matter: Annotated[str, Form(description="用印事项")],
        seal: Annotated[str, Form(description="official | finance | contract | legal_rep")],
        presses: Annotated[str, Form(description="1..100")],
        document: Annotated[UploadFile, File(description="the original: PDF, JPEG or PNG")],
        amount: Annotated[str, Form(description="amount in yuan, e.g. 1200.50: at most 2 decimals, above 0 and at most "
                                    "the edge's ceiling ([money] max_amount_fen, 1 亿元 by default); empty: none")] = "",
        device: Annotated[str, Form(description="device name, when several hold this seal")] = "",
    ) -> dict[str, Any]:
        """File a seal request as the account's person, with its original document (multipart)."""
        p = await shell.acting(request)
        return (await service.file(p, matter, seal, presses, amount, device or None, document)).to_dict()

    @api.get("/api/requests/{request_id}", tags=["requests"], response_model=RequestDetailOut, responses=API_ERRORS)
    async def api_request(request: Request, request_id: str) -> dict[str, Any]:
        """One request with its grants, presses (photos and OCR flags when recorded) and push deliveries."""
        p = await shell.principal_of(request)
        return await service.detail_for(p, request_id)

    @api.get("/api/requests/{request_id}/document", tags=["requests"], responses=API_ERRORS)
    async def api_document(request: Request, request_id: str) -> Response:
        """The original document as filed (its type decided by its content)."""
        p = await shell.principal_of(request)
        return await document_response(p, request_id)

    @api.get("/api/requests/{request_id}/deliveries", tags=["push"], response_model=list[DeliveryOut], responses=API_ERRORS)
    async def api_deliveries(request: Request, request_id: str) -> list[dict[str, Any]]:
        p = await shell.principal_of(request)
        await service.request_for(p, request_id)
        return [d.to_dict() for d in await store.deliveries(request_id)]

    @api.post("/api/requests/{request_id}/approve", tags=["approval"], response_model=RequestOut, responses=API_ERRORS)
    async def api_approve(request: Request, request_id: str, body: ApproveIn | None = None) -> dict[str, Any]:
        """Approve as the account's person, with an optional comment (审批意见); 409 with the reason when the rules
        refuse (e.g. self-approval)."""
        p = await shell.acting(request)
        return (await service.approve(p, request_id, body.comment if body is not None else None)).to_dict()

    @api.post("/api/requests/{request_id}/reject", tags=["approval"], response_model=RequestOut, responses=API_ERRORS)
    async def api_reject(request: Request, request_id: str, body: RejectIn) -> dict[str, Any]:
        p = await shell.acting(request)
        return (await service.reject(p, request_id, body.reason)).to_dict()

    @api.post("/api/requests/{request_id}/regrant", tags=["approval"], response_model=RequestOut, responses=API_ERRORS)
    async def api_regrant(request: Request, request_id: str) -> dict[str, Any]:
        """Re-issue a grant whose window lapsed unused (授权过期未用印), as the request's final approver, once, while
        the approval is alive; 409 with the reason otherwise."""
        p = await shell.acting(request)
        return (await service.regrant(p, request_id)).to_dict()

    @api.post("/api/requests/{request_id}/handover", tags=["approval"], response_model=RequestOut, responses=API_ERRORS)
    async def api_hand_over(request: Request, request_id: str, body: HandOverIn) -> dict[str, Any]:
        """Hand the account's person's step to another approver of this village (转交), with a reason; 409 when it
        is not their turn or the taker may not approve this request (its applicant, its custodian, on its route)."""
        p = await shell.acting(request)
        return (await service.hand_over(p, request_id, body.to, body.reason)).to_dict()

    @api.post("/api/requests/{request_id}/withdraw", tags=["requests"], response_model=RequestOut, responses=API_ERRORS)
    async def api_withdraw(request: Request, request_id: str) -> dict[str, Any]:
        """The applicant takes back a request nobody has decided yet (撤销); 409 otherwise."""
        p = await shell.acting(request)
        return (await service.withdraw(p, request_id)).to_dict()

    @api.post("/api/requests/{request_id}/urgent", tags=["requests"], response_model=RequestOut, responses=API_ERRORS)
    async def api_urgent(request: Request, request_id: str, body: RejectIn) -> dict[str, Any]:
        """The applicant asks for an urgent use outside the seal's hours (加急用印): ``{"reason"}``; the route gets
        one more approver, the entry is flagged for the supervisors; 409 when the seal has no hours or it is not
        pending."""
        p = await shell.acting(request)
        return (await service.urgent(p, request_id, body.reason)).to_dict()

    @api.post("/api/requests/{request_id}/remind", tags=["requests"], response_model=RemindOut, responses=API_ERRORS)
    async def api_remind(request: Request, request_id: str) -> dict[str, Any]:
        """The applicant reminds the approvers a pending request awaits (催办), at most once an hour; 409 otherwise."""
        p = await shell.acting(request)
        return {"reminded": await service.remind(p, request_id)}

    def device_out(d: dict[str, Any]) -> dict[str, Any]:
        cfg = d["config"]
        s = d["status"] or {}
        live = s.get("last_status") or {}
        return {
            "name": cfg.name, "seal": cfg.seal, "custodian": cfg.custodian, "enrolled": d["enrolled"],
            "device_id": s.get("device_id"), "online": bool(s.get("online")), "lock": live.get("lock"),
            "presses_total": s.get("presses_total"), "boots": s.get("boots"), "fw": s.get("fw"),
            "last_grant_no": s.get("last_grant_no"), "last_event_id": s.get("last_event_id"),
            "last_seen": s.get("last_seen"), "anomalies": s.get("anomalies"), "grant": live.get("grant"),
            "blocked": {k: s["block"][k] for k in ("no", "reason", "entry", "at")} if s.get("block") else None,
        }  # fmt: skip

    @api.get("/api/devices", tags=["devices"], response_model=list[DeviceOut], responses=API_ERRORS)
    async def api_devices(request: Request) -> list[dict[str, Any]]:
        p = await shell.principal_of(request)
        require_devices(p)
        return [device_out(d) for d in await service.devices()]

    @api.get("/api/camera", tags=["devices"], response_model=CameraOut, responses=API_ERRORS)
    async def api_camera(request: Request) -> dict[str, Any]:
        """The desk camera over the stamping desk: connected or why not, and this run's photos."""
        p = await shell.principal_of(request)
        require_devices(p)
        return service.camera()

    @api.post("/api/devices/{name}/sim-press", tags=["devices"], response_model=OkOut, responses=API_ERRORS)
    async def api_sim_press(request: Request, name: str) -> dict[str, Any]:
        """Press the simulated board once (only when the console runs on hostsim: the demo)."""
        p = await shell.acting(request)
        await do_sim_press(p, name)
        return {"ok": True}

    @api.get("/api/search", tags=["search"], response_model=list[SearchHitOut], responses=API_ERRORS)
    async def api_search(
        request: Request,
        q: Annotated[str, Query(description="words on the stamped page (all must occur; Chinese needs no spaces)")] = "",
        seal: Annotated[str, Query(description="official | finance | contract | legal_rep")] = "",
        since: Annotated[str, Query(description="photographed on or after this date (Asia/Shanghai), YYYY-MM-DD")] = "",
        until: Annotated[str, Query(description="to this date inclusive")] = "",
        flag: Annotated[str, Query(description="only pages with this flag; any: with any flag")] = "",
    ) -> list[dict[str, Any]]:
        """Stamped pages found by the text OCR read on them, newest first, among the requests this account may see."""
        p = await shell.principal_of(request)
        return await search_for(p, q, seal, since, until, flag)

    return api
