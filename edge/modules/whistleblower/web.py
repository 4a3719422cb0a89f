"""The console's pages for the station's team (logged in): the station with its roster and deadlines, the clue
list (states and deadlines, never content), a clue's page (read only with the head's unlocked key), the loop's
steps, meetings and the year's rating. Supervisors and admins see the lists; an admin saves the roster."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

import edge.modules.whistleblower.crypto as crypto
import edge.modules.whistleblower.keyring as keyring
import edge.modules.whistleblower.projection as P
import edge.modules.whistleblower.rules as R
from edge.kernel.contract import NavItem
from edge.kernel.errors import InputError, NotFound, Refused
from edge.ledger.localtime import SHANGHAI
from edge.modules.whistleblower.desk import MISCONDUCT, Attachment, WhistleDesk, check_reporter, now_of
from edge.modules.whistleblower.settings import settings_of

NAV = (NavItem("/whistleblower", "吹哨人", ("village_staff", "supervisor", "admin")),)
STEPS = ("acknowledge", "verify", "resolve", "feedback", "reply", "escalate")


def parse_roster(text: str) -> list[dict[str, str]]:
    """One member a line: 职位 账号 姓名 来源 (spaces or commas between), as the roster form takes them."""
    roles = {v: k for k, v in R.ROLE_NAMES.items()}
    groups = {v: k for k, v in R.GROUPS.items()}
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        cells = [c for c in line.replace("，", ",").replace(",", " ").split() if c]
        if not cells:
            continue
        if len(cells) != 4:
            raise InputError(f"第 {n} 行应为“职位 账号 姓名 来源”四项，例如：站长 zhoujian 周建 村民代表", "bad_roster")
        role, pid, name, group = cells
        out.append({"role": roles.get(role, role), "id": pid, "name": name, "group": groups.get(group, group)})
    return out


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    unlocked = keyring.Unlocked(settings_of(shell.console.config).unlock_minutes)

    def agent() -> Any:
        return shell.console.agent

    def desk() -> WhistleDesk:
        return WhistleDesk(agent().recorder, agent().config)

    async def viewer(
        request: Request, acting: bool = False
    ) -> tuple[Any, dict[str, Any] | None, dict[str, Any] | None]:
        """The principal, the station, and their place in its roster; only the team, supervisors and admins."""
        p = await (shell.acting(request) if acting else shell.principal_of(request))
        async with agent().recorder.step():
            station = await P.station(agent().db.conn)
        member = next((m for m in station["roster"] if m["id"] == p.account.username), None) if station else None
        if member is None and not (p.roles & {"supervisor", "admin"}):
            raise Refused("只有本联络站的吹哨人、监督员和管理员可以查看", "forbidden")
        return p, station, member

    async def session_id(request: Request) -> str:
        session = await shell.session_of(request)
        return str(session.token_hash) if session is not None else ""

    @api.get("/whistleblower", include_in_schema=False)
    async def overview(request: Request) -> Response:
        p, station, member = await viewer(request)
        conn = agent().db.conn
        async with agent().recorder.step():
            clues, meetings, ratings = await P.clues(conn), await P.meetings(conn), await P.ratings(conn)
            visits = await P.visits_of(conn, now_of(agent()).astimezone(SHANGHAI).year)
        names = {m["id"]: m["name"] for m in station["roster"]} if station else {}
        key_open = unlocked.key(await session_id(request)) is not None
        return await shell.render(  # type: ignore[no-any-return]
            request, "whistleblower/station.html", station=station, member=member, clues=clues, meetings=meetings, ratings=ratings,
            names=names, key_open=key_open, R=R, township=settings_of(agent().config).township_public_key, this_year=now_of(agent()).astimezone(SHANGHAI).year,
            is_admin=p.is_admin,
            visits=visits,
        )  # fmt: skip

    @api.post("/whistleblower/station", include_in_schema=False)
    async def save_station(request: Request) -> Response:
        p = await shell.acting(request)
        if not p.is_admin:
            raise Refused("只有管理员可以保存联络站名册", "forbidden")
        form = await request.form()
        roster = await desk().save_station(str(form.get("name") or ""), parse_roster(str(form.get("roster") or "")))
        await shell.flash(request, "ok", f"名册已保存：站长 1 名、联络员 2 名、信息员 {len(roster) - 3} 名")
        return RedirectResponse("/whistleblower", 303)

    @api.post("/whistleblower/keys", include_in_schema=False)
    async def set_keys(request: Request) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        passphrase = str(form.get("passphrase") or "")
        if passphrase != str(form.get("passphrase2") or ""):
            raise InputError("两次输入的口令不一致", "bad_passphrase")
        fingerprint = await desk().set_keys(p.account.username, passphrase)
        await shell.flash(request, "ok", f"密钥已设置（指纹 {fingerprint}）。请牢记口令：遗失后无法解密线索。")
        return RedirectResponse("/whistleblower", 303)

    @api.post("/whistleblower/unlock", include_in_schema=False)
    async def unlock(request: Request) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        key = await desk().unlock(p.account.username, str(form.get("passphrase") or ""))
        unlocked.unlock(await session_id(request), key)
        await shell.flash(request, "ok", f"已解锁，{unlocked.minutes} 分钟内可阅读线索")
        return RedirectResponse(
            str(form.get("next") or "/whistleblower")
            if str(form.get("next") or "").startswith("/whistleblower")
            else "/whistleblower",
            303,
        )

    @api.post("/whistleblower/lock", include_in_schema=False)
    async def lock(request: Request) -> Response:
        await viewer(request, acting=True)
        unlocked.lock(await session_id(request))
        return RedirectResponse("/whistleblower", 303)

    @api.get("/whistleblower/new", include_in_schema=False)
    async def new_form(request: Request) -> Response:
        _, _, member = await viewer(request)
        return await shell.render(request, "whistleblower/new.html", member=member)  # type: ignore[no-any-return]

    @api.post("/whistleblower/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        p, _, member = await viewer(request, acting=True)
        form = await request.form()
        files = [
            Attachment(f.filename or "附件", await f.read()) for f in form.getlist("files") if isinstance(f, UploadFile)
        ]
        source = "liaison" if form.get("for_villager") and member and member["role"] == "liaison" else "team"
        reporter = check_reporter(form.get("name"), form.get("phone")) if source == "liaison" else None
        filed = await desk().file_clue(
            source, str(form.get("text") or ""), now_of(agent()), reporter, files, by=p.account.username, credited=not form.get("anonymous"),
        )  # fmt: skip
        return await shell.render(request, "whistleblower/filed.html", clue_id=filed.id, code=R.show_code(filed.code))  # type: ignore[no-any-return]

    @api.get("/whistleblower/clues/{clue_id}", include_in_schema=False)
    async def clue(request: Request, clue_id: str) -> Response:
        _, station, member = await viewer(request)
        conn = agent().db.conn
        async with agent().recorder.step():
            row = await P.clue(conn, clue_id)
            items = await P.sealed_items(conn, clue_id) if row else []
        if row is None:
            raise NotFound("没有此线索")
        key = unlocked.key(await session_id(request))
        opened = desk().read(clue_id, items, key) if key is not None else None
        names = {m["id"]: m["name"] for m in station["roster"]} if station else {}
        return await shell.render(  # type: ignore[no-any-return]
            request, "whistleblower/clue.html", clue=row, items=items, opened=opened, member=member, names=names, R=R,
            is_head=bool(member and member["role"] == "head"), key_open=key is not None,
        )  # fmt: skip

    @api.get("/whistleblower/clues/{clue_id}/attachments/{n}", include_in_schema=False)
    async def attachment(request: Request, clue_id: str, n: int) -> Response:
        await viewer(request)
        key = unlocked.key(await session_id(request))
        if key is None:
            raise Refused("请站长先解锁密钥", "forbidden")
        async with agent().recorder.step():
            items = await P.sealed_items(agent().db.conn, clue_id)
        if not items:
            raise NotFound("没有此线索")
        files = crypto.open_sealed(items[0]["sealed"], key, f"{clue_id}:clue").get("attachments") or []
        if not 0 <= n < len(files):
            raise NotFound("没有此附件")
        f = files[n]
        return Response(
            crypto.unb64(f["data"]),
            media_type=f["type"],
            headers={"Content-Disposition": f'attachment; filename="attachment-{n + 1}"', "Cache-Control": "no-store"},
        )

    @api.post("/whistleblower/clues/{clue_id}/{step}", include_in_schema=False)
    async def step(request: Request, clue_id: str, step: str) -> Response:
        p, _, _ = await viewer(request, acting=True)
        if step not in STEPS:
            raise NotFound("没有此操作")
        form = await request.form()
        who, now, d = p.account.username, now_of(agent()), desk()
        text = str(form.get("text") or "")
        if step == "acknowledge":
            await d.acknowledge(clue_id, who, now)
        elif step == "verify":
            await d.verify(clue_id, who, text, now)
        elif step == "resolve":
            await d.resolve(clue_id, who, str(form.get("outcome") or ""), bool(form.get("solved")), text, now)
        elif step == "escalate":
            await d.escalate(clue_id, who, now)
        else:
            key = unlocked.key(await session_id(request))
            if key is None:
                raise Refused("反馈和留言须由站长解锁密钥后填写", "forbidden")
            await (d.feedback if step == "feedback" else d.reply)(clue_id, who, text, key, now)
        await shell.flash(
            request,
            "ok",
            f"{clue_id}：{ {'reply': '留言已发送', 'escalate': '已直报乡镇纪委'}.get(step) or R.STEP_NAMES[step] + '已记录' }",
        )
        return RedirectResponse(f"/whistleblower/clues/{clue_id}", 303)

    @api.post("/whistleblower/meetings/{kind}", include_in_schema=False)
    async def meeting(request: Request, kind: str) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        try:
            held_on = date.fromisoformat(str(form.get("held_on") or ""))
        except ValueError:
            raise InputError("请填写会议日期", "bad_date") from None
        attendees = [str(a) for a in form.getlist("attendees")]
        now = now_of(agent())
        if kind == "review":
            await desk().review_meeting(
                p.account.username,
                held_on,
                attendees,
                [str(c) for c in form.getlist("clues")],
                str(form.get("minutes") or ""),
                now,
            )
        elif kind == "qa":
            counts = []
            for field in ("villagers", "questions", "answered"):
                value = str(form.get(field) or "0")
                if not value.isdigit() or len(value) > 5:
                    raise InputError("人数应为整数", "bad_count")
                counts.append(int(value))
            villagers, questions, answered = counts
            await desk().qa_meeting(
                p.account.username,
                held_on,
                attendees,
                villagers,
                questions,
                answered,
                str(form.get("summary") or ""),
                now,
            )
        else:
            raise NotFound("没有此会议类型")
        await shell.flash(request, "ok", "会议已记录")
        return RedirectResponse("/whistleblower", 303)

    @api.post("/whistleblower/visits/plan", include_in_schema=False)
    async def plan_visits(request: Request) -> Response:
        p, station, _ = await viewer(request, acting=True)
        form = await request.form()
        roster = [m["id"] for m in station["roster"]] if station else []
        targets = {m: form.get(f"plan-{m}") for m in roster if form.get(f"plan-{m}") is not None}
        year = str(form.get("year") or "")
        if not year.isdigit() or len(year) != 4:
            raise InputError("年度应为 4 位数字", "bad_year")
        plan = await desk().plan_visits(p.account.username, int(year), targets, now_of(agent()))
        await shell.flash(request, "ok", f"{year} 年走访计划已保存，共 {sum(plan.values())} 户")
        return RedirectResponse("/whistleblower#visits", 303)

    @api.post("/whistleblower/visits", include_in_schema=False)
    async def record_visit(request: Request) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        try:
            on = date.fromisoformat(str(form.get("visited_on") or ""))
        except ValueError:
            raise InputError("请填写走访日期", "bad_date") from None
        person = str(form.get("person") or p.account.username)
        await desk().record_visit(p.account.username, person, on, form.get("households"), now_of(agent()))
        await shell.flash(request, "ok", "走访已记录")
        return RedirectResponse("/whistleblower#visits", 303)

    @api.post("/whistleblower/misconduct", include_in_schema=False)
    async def misconduct(request: Request) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        year = str(form.get("year") or "")
        if not year.isdigit() or len(year) != 4:
            raise InputError("年度应为 4 位数字", "bad_year")
        await desk().misconduct(
            p.account.username, str(form.get("person") or ""), int(year), str(form.get("what") or ""), now_of(agent())
        )
        await shell.flash(request, "ok", f"已记录：{MISCONDUCT.get(str(form.get('what')), '')}")
        return RedirectResponse("/whistleblower", 303)

    @api.post("/whistleblower/rate", include_in_schema=False)
    async def rate(request: Request) -> Response:
        p, _, _ = await viewer(request, acting=True)
        form = await request.form()
        year = str(form.get("year") or "")
        if not year.isdigit() or len(year) != 4:
            raise InputError("年度应为 4 位数字", "bad_year")
        ratings = await desk().rate(p.account.username, int(year), agent().ledger, now_of(agent()))
        await shell.flash(request, "ok", f"{year} 年度评定已记录（{len(ratings)} 人）")
        return RedirectResponse("/whistleblower#ratings", 303)

    return api
