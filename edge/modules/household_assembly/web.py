"""The household assembly's console pages (phone-first, Chinese): the register, each meeting from its notices
to its published results, the sign-in sheet and its QR codes, the hall's attendance screen, commitments.

Village staff (村务人员) keep the register and run the meeting; supervisors (监督员) read everything and record
the township's talk with a flagged cadre. Each form posts, the desk decides, and the page comes back with a
flash saying what happened (or why nothing did).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

import edge.modules.household_assembly.rules as rules  # noqa: PLR0402
import edge.modules.household_assembly.store as store  # noqa: PLR0402
import edge.modules.household_assembly.tokens as tokens  # noqa: PLR0402
from edge.kernel.contract import NavItem
from edge.kernel.errors import EdgeError, InputError, Refused
from edge.modules.household_assembly.desk import CATEGORIES, CHANNELS, HOW, AssemblyDesk
from edge.modules.household_assembly.kinds import NAME
from edge.modules.household_assembly.settings import settings

TEMPLATES = Path(__file__).parent / "templates"
STAFF = ("village_staff",)
READERS = ("village_staff", "supervisor")
TOWNSHIP = ("supervisor",)
NAV = (NavItem(f"/{NAME}", "户主大会", READERS),)
BASE = f"/{NAME}"
_UPLOAD_READ = 2 << 20  # read one byte past the register file's limit, so an oversize file is refused, not cut


def desk_of(shell: Any) -> AssemblyDesk:
    agent = shell.console.agent
    return AssemblyDesk(agent.recorder, tokens.token_key(agent), agent.desk.clock)


def _need(p: Any, roles: tuple[str, ...]) -> None:
    if not p.roles.intersection(roles):
        raise Refused("您的账号没有户主大会的此项权限", "forbidden")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def meeting_view(conn: Any, meeting_id: str, today: date) -> dict[str, Any] | None:
    """Everything the meeting page shows, read in one step."""
    m = await store.meeting(conn, meeting_id)
    if m is None:
        return None
    households = await store.households(conn)
    notices = await store.notices(conn, meeting_id)
    signins = await store.signins(conn, meeting_id)
    every = await store.commitments(conn)
    for c in every:
        c["overdue"] = rules.overdue(date.fromisoformat(c["deadline"]), c["progress"], today)
        c["history"] = await store.progress_history(conn, c["id"])
    commitments = [c for c in every if c["meeting_id"] == meeting_id]
    held = date.fromisoformat(m["held_on"])
    return {
        "m": m, "households": households, "notices": notices, "signins": signins,
        "unreached": [h for h in households.values() if h.id not in notices],
        "attendance": rules.percent(len(signins), len(households)) if households else "0.00",
        "suggestions": await store.suggestions(conn, meeting_id), "questions": await store.questions(conn, meeting_id),
        "sheets": await store.sheets(conn, meeting_id), "talks": await store.talks(conn, meeting_id),
        "commitments": commitments, "targets": [*m["cadres"], rules.WORK],
        # The meeting opens with the report on what earlier meetings committed to (ids are HA-<year>).
        "earlier": [c for c in every if c["meeting_id"] < meeting_id],
        "honours_open": rules.honours_in_time(today, held), "honours_last_day": held.toordinal() - rules.HONOURS_LEAD_DAYS,
    }  # fmt: skip


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    agent = shell.console.agent

    async def read(fn: Callable[[Any], Awaitable[Any]]) -> Any:
        async with agent.recorder.step():
            return await fn(agent.db.conn)

    async def step(
        request: Request, back: str, roles: tuple[str, ...], act: Callable[[Any, Any, str], Awaitable[str]]
    ) -> Response:
        """A form's post: the role checked, the desk's step run, its answer (or refusal) flashed on the page."""
        p = await shell.acting(request)
        _need(p, roles)
        form = await request.form()
        try:
            message = await act(form, desk_of(shell), p.account.username)
        except EdgeError as exc:
            if exc.code == "forbidden":
                raise
            await shell.flash(request, "error", exc.message)
        else:
            await shell.flash(request, "ok", message)
        return RedirectResponse(back, 303)

    # -- the register and the meetings -------------------------------------------------------------------------

    @api.get(BASE, include_in_schema=False)
    async def home(request: Request) -> Response:
        p = await shell.principal_of(request)
        _need(p, READERS)
        today = desk_of(shell).today()

        async def load(conn: Any) -> dict[str, Any]:
            households = await store.households(conn)
            groups: dict[str, int] = {}
            for h in households.values():
                groups[h.group] = groups.get(h.group, 0) + 1
            earlier = await store.commitments(conn)
            for c in earlier:
                c["overdue"] = rules.overdue(date.fromisoformat(c["deadline"]), c["progress"], today)
            return {
                "households": households,
                "groups": groups,
                "meetings": await store.meetings(conn),
                "commitments": earlier,
            }

        data = await read(load)
        return await shell.render(request, f"{NAME}/home.html", **data, staff=bool(p.roles.intersection(STAFF)),  # type: ignore[no-any-return]
                                  FIXED_AGENDA=rules.FIXED_AGENDA, settings=settings(agent.config))  # fmt: skip

    @api.post(f"{BASE}/register", include_in_schema=False)
    async def import_register(request: Request) -> Response:
        async def act(form: Any, desk: AssemblyDesk, by: str) -> str:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InputError("请选择名册文件（CSV 或 XLSX）", "bad_input")
            data = await upload.read(_UPLOAD_READ + 1)
            changed = await desk.import_register(upload.filename, data, by)
            return f"名册已导入：新增或变更 {changed} 户" if changed else "名册与文件一致，没有变更"

        return await step(request, BASE, STAFF, act)

    @api.post(f"{BASE}/meetings", include_in_schema=False)
    async def create_meeting(request: Request) -> Response:
        created: list[str] = []

        configured = settings(agent.config)

        async def act(form: Any, desk: AssemblyDesk, by: str) -> str:
            mid = await desk.create_meeting(
                _text(form, "held_on"), _text(form, "place"), _text(form, "items").splitlines(),
                _text(form, "cadres").splitlines(), by, _text(form, "line_percent").strip() or configured.line_percent,
                configured.formula,
            )  # fmt: skip
            created.append(mid)
            return f"已创建会议 {mid}"

        answer = await step(request, BASE, STAFF, act)
        return RedirectResponse(f"{BASE}/{created[0]}", 303) if created else answer

    # -- one meeting ---------------------------------------------------------------------------------------------

    @api.get(BASE + "/{meeting_id}", include_in_schema=False)
    async def meeting(request: Request, meeting_id: str) -> Response:
        p = await shell.principal_of(request)
        _need(p, READERS)
        today = desk_of(shell).today()
        view = await read(lambda conn: meeting_view(conn, meeting_id, today))
        if view is None:
            raise InputError(f"没有此会议 {meeting_id[:40]}", "not_found")
        return await shell.render(  # type: ignore[no-any-return]
            request, f"{NAME}/meeting.html", **view, staff=bool(p.roles.intersection(STAFF)),
            township=bool(p.roles.intersection(TOWNSHIP)), RATINGS=rules.RATINGS, CATEGORIES=CATEGORIES,
            CHANNELS=CHANNELS, HOW=HOW, last_day=date.fromordinal(view["honours_last_day"]).isoformat(),
        )  # fmt: skip

    def meeting_form(
        path: str, roles: tuple[str, ...], act: Callable[[str, Any, AssemblyDesk, str], Awaitable[str]]
    ) -> None:
        async def post(request: Request, meeting_id: str) -> Response:
            return await step(
                request, f"{BASE}/{meeting_id}", roles, lambda form, desk, by: act(meeting_id, form, desk, by)
            )

        api.add_api_route(BASE + "/{meeting_id}/" + path, post, methods=["POST"], include_in_schema=False)

    async def documents(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        await desk.post_documents(mid, _text(form, "report"), _text(form, "honours_method"), by)
        return "年度工作报告和表彰评选办法已公示"

    async def honours(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        await desk.publish_honours(mid, _text(form, "result"), by)
        return "表彰结果已公示"

    async def suggestion(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        return f"已记录意见 {await desk.record_suggestion(mid, _text(form, 'household'), _text(form, 'category'), _text(form, 'text'), by)}"

    async def notices(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        chosen = [h for h in form.getlist("household") if isinstance(h, str)]
        if not chosen:
            raise InputError("请勾选已通知到的户", "bad_input")
        return f"已记录通知 {await desk.record_notices(mid, chosen, _text(form, 'channel') or 'hand', by)} 户"

    async def question(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        return f"已记录质询 {await desk.record_question(mid, _text(form, 'cadre'), _text(form, 'question'), _text(form, 'answer'), by)}"

    async def tally(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        m = await read(lambda conn: store.meeting(conn, mid))
        if m is None:
            raise InputError("没有此会议", "not_found")
        targets = [*m["cadres"], rules.WORK]
        counts = {t: [_text(form, f"t{i}_{j}") for j in range(len(rules.RATINGS))] for i, t in enumerate(targets)}
        sheet = _text(form, "sheet").strip()
        if not sheet.isascii() or not sheet.isdigit() or len(sheet) > 3:
            raise InputError("计票单编号应为 1–999", "bad_input")
        state = await desk.enter_tally(mid, int(sheet), counts, by)
        return f"第 {sheet} 号计票单" + ("已录入，待另一名计票人复核" if state == "entered" else "两次录入一致，已确认")

    async def publish(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        result = await desk.publish_results(mid, by)
        return f"评议结果已公布：到会率 {result['attendance_rate']}%"

    async def talk(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        await desk.record_talk(mid, _text(form, "cadre"), _text(form, "note"), by)
        return "约谈已记录"

    async def commitment(mid: str, form: Any, desk: AssemblyDesk, by: str) -> str:
        cid = await desk.make_commitment(
            mid, _text(form, "text"), _text(form, "owner"), _text(form, "deadline"), by, _text(form, "suggestion")
        )
        return f"已登记承诺 {cid}"

    for path, roles, act in (
        ("documents", STAFF, documents), ("honours", STAFF, honours), ("suggestions", STAFF, suggestion),
        ("notices", STAFF, notices), ("questions", STAFF, question), ("tally", STAFF, tally), ("publish", STAFF, publish),
        ("talks", TOWNSHIP, talk), ("commitments", STAFF, commitment),
    ):  # fmt: skip
        meeting_form(path, roles, act)

    @api.post(BASE + "/commitments/{commitment_id}/progress", include_in_schema=False)
    async def progress(request: Request, commitment_id: str) -> Response:
        async def act(form: Any, desk: AssemblyDesk, by: str) -> str:
            await desk.report_progress(commitment_id, _text(form, "progress"), _text(form, "note"), by)
            return f"{commitment_id} 进度已更新"

        return await step(request, f"{BASE}/{commitment_id.rpartition('-C')[0]}#{commitment_id}", STAFF, act)

    # -- sign-in: the list, the QR sheet, the scan, the hall's screen ----------------------------------------------

    @api.get(BASE + "/{meeting_id}/signin", include_in_schema=False)
    async def signin_list(request: Request, meeting_id: str, group: str = "", q: str = "") -> Response:
        p = await shell.principal_of(request)
        _need(p, STAFF)
        view = await read(lambda conn: meeting_view(conn, meeting_id, desk_of(shell).today()))
        if view is None:
            raise InputError("没有此会议", "not_found")
        groups = sorted({h.group for h in view["households"].values()})
        # A group's households, or those whose number or head's name holds what was typed (a hall of hundreds).
        wanted = q.strip()[:20]
        shown = [
            h
            for h in view["households"].values()
            if (not group or h.group == group) and (not wanted or wanted in h.id or wanted in h.head)
        ]
        return await shell.render(
            request, f"{NAME}/signin.html", **view, groups=groups, group=group, q=wanted, shown=shown, HOW=HOW
        )  # type: ignore[no-any-return]

    @api.post(BASE + "/{meeting_id}/signin", include_in_schema=False)
    async def signin_tick(request: Request, meeting_id: str) -> Response:
        async def act(form: Any, desk: AssemblyDesk, by: str) -> str:
            household = _text(form, "household")
            await desk.sign_in(meeting_id, household, "list", by, _text(form, "proxy"))
            return f"{household} 已签到"

        group = request.query_params.get("group", "")
        back = f"{BASE}/{meeting_id}/signin" + (f"?group={group}" if group else "")
        return await step(request, back, STAFF, act)

    @api.get(BASE + "/{meeting_id}/scan/{household}", include_in_schema=False)
    async def scan(request: Request, meeting_id: str, household: str, t: str = "") -> Response:
        """Where a printed QR code leads: the phone's camera opens it in the logged-in console."""
        p = await shell.principal_of(request)
        _need(p, STAFF)
        desk = desk_of(shell)
        valid = tokens.verify(desk.key, meeting_id, household, t)

        async def load(conn: Any) -> tuple[Any, Any, Any]:
            return (await store.meeting(conn, meeting_id), (await store.households(conn)).get(household),
                    (await store.signins(conn, meeting_id)).get(household))  # fmt: skip

        m, h, signed = await read(load)
        return await shell.render(request, f"{NAME}/scan.html", m=m, h=h if valid else None, valid=valid and m is not None,  # type: ignore[no-any-return]
                                  signed=signed, token=t, HOW=HOW)  # fmt: skip

    @api.post(BASE + "/{meeting_id}/scan/{household}", include_in_schema=False)
    async def scan_sign(request: Request, meeting_id: str, household: str) -> Response:
        async def act(form: Any, desk: AssemblyDesk, by: str) -> str:
            await desk.sign_in(meeting_id, household, "qr", by, _text(form, "proxy"), _text(form, "t"))
            return f"{household} 扫码签到成功"

        return await step(request, f"{BASE}/{meeting_id}/signin", STAFF, act)

    @api.get(BASE + "/{meeting_id}/sheet", include_in_schema=False)
    async def sheet(request: Request, meeting_id: str) -> Response:
        """The printed sign-in sheet: one QR code per household, each a signed token of this meeting."""
        p = await shell.principal_of(request)
        _need(p, STAFF)
        desk = desk_of(shell)
        m = await read(lambda conn: store.meeting(conn, meeting_id))
        if m is None:
            raise InputError("没有此会议", "not_found")
        households = await read(store.households)
        origin = str(request.base_url).rstrip("/")
        cards = []
        for h in households.values():
            url = f"{origin}{BASE}/{meeting_id}/scan/{h.id}?t={tokens.sign(desk.key, meeting_id, h.id)}"
            cards.append({"h": h, "url": url, "svg": segno.make(url, error="m").svg_inline(scale=2, border=2)})
        return await shell.render(request, f"{NAME}/sheet.html", m=m, cards=cards)  # type: ignore[no-any-return]

    @api.get(BASE + "/{meeting_id}/screen", include_in_schema=False)
    async def screen(request: Request, meeting_id: str) -> Response:
        """The hall's screen: the attendance rate, reloaded every few seconds."""
        p = await shell.principal_of(request)
        _need(p, READERS)
        view = await read(lambda conn: meeting_view(conn, meeting_id, desk_of(shell).today()))
        if view is None:
            raise InputError("没有此会议", "not_found")
        return await shell.render(request, f"{NAME}/screen.html", **view)  # type: ignore[no-any-return]

    return api
