"""The household assembly's steps: each reads the working state, decides with ``rules``, and records the
decision in the ledger before anything changes (the projection then applies it).

Every method is one recorder step. Bad input raises :class:`InputError` and records nothing; a step a rule
refuses on the record (an honours result published too late, a tally sheet the tellers entered differently)
records the refusal and raises :class:`Refused`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import edge.modules.household_assembly.kinds as K
import edge.modules.household_assembly.registerfile as registerfile  # noqa: PLR0402
import edge.modules.household_assembly.rules as rules  # noqa: PLR0402
import edge.modules.household_assembly.store as store  # noqa: PLR0402
import edge.modules.household_assembly.tokens as tokens  # noqa: PLR0402
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.recorder import Recorder
from edge.ledger.localtime import SHANGHAI
from edge.modules.household_assembly.rules import RuleError

Clock = Callable[[], datetime]
CHANNELS = {"sms": "短信", "hand": "组长送达"}
HOW = {"qr": "扫码", "list": "名单勾选"}
CATEGORIES = ("道路交通", "水利环境", "集体经济", "村务管理", "民生服务", "其他")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
MAX_CADRES = 15


def utc_clock() -> datetime:
    return datetime.now(UTC)


def parse_day(text: object, what: str) -> date:
    if not isinstance(text, str) or not _DAY.fullmatch(text.strip()):
        raise InputError(f"{what}应为日期，例如 2026-12-20", "bad_date")
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what}不是有效的日期：{text.strip()}", "bad_date") from None
    if not 2000 <= day.year <= 2100:
        raise InputError(f"{what}的年份应在 2000–2100 之间", "bad_date")
    return day


def checked(fn: Callable[..., Any], *args: Any) -> Any:
    """A rule's answer, its refusal turned into the edge's bad-input error (nothing recorded)."""
    try:
        return fn(*args)
    except RuleError as exc:
        raise InputError(exc.message, "bad_input") from None


class AssemblyDesk:
    """``recorder``: the edge's one writer; ``key``: the sign-in token key (``tokens.token_key``); ``clock``:
    what time it is (a test passes its own, to stand exactly 7 days before a meeting)."""

    def __init__(self, recorder: Recorder[Any], key: bytes, clock: Clock = utc_clock) -> None:
        self.recorder = recorder
        self.key = key
        self.clock = clock

    @property
    def conn(self) -> Any:
        return self.recorder.db.conn

    def today(self) -> date:
        return self.clock().astimezone(SHANGHAI).date()

    async def _meeting(self, meeting_id: str) -> dict[str, Any]:
        found = await store.meeting(self.conn, meeting_id)
        if found is None:
            raise NotFound(f"没有此会议 {meeting_id[:40]!r}")
        return found

    # -- the register -----------------------------------------------------------------------------------------

    async def import_register(self, filename: str, data: bytes, by: str) -> int:
        """A register file: every row checked first; the households it adds or changes recorded in one entry.
        Returns how many changed (0: the file matches the register, nothing recorded)."""
        imported = checked(rules.read_register, checked(registerfile.read_rows, filename, data))
        async with self.recorder.step():
            changed = rules.register_changes(await store.households(self.conn), imported)
            if changed:
                await self.recorder.record(K.REGISTER_IMPORTED, {
                    "file": filename[-100:], "sha256": hashlib.sha256(data).hexdigest(), "by": by,
                    "households": [h.as_body() for h in changed],
                })  # fmt: skip
        return len(changed)

    # -- the meeting ------------------------------------------------------------------------------------------

    async def create_meeting(
        self, held_on: str, place: str, village_items: Sequence[str], cadres: Sequence[str], by: str,
        line_percent: str = rules.DEFAULT_LINE_PERCENT, formula: str = rules.DEFAULT_FORMULA,
    ) -> str:  # fmt: skip
        """A meeting of the year of ``held_on`` (one a year), with the formula and line its results will use."""
        day = parse_day(held_on, "会议日期")
        where = checked(rules.clean_text, place, "会议地点", 60)
        items = checked(rules.agenda, village_items)
        names = [checked(rules.clean_text, c, "被评议干部", 20) for c in cadres if c.strip()]
        if not names or len(names) > MAX_CADRES or len(set(names)) != len(names) or rules.WORK in names:
            raise InputError(f"被评议干部应为 1–{MAX_CADRES} 个不重复的姓名", "bad_input")
        checked(rules.line_percent, line_percent)
        if formula not in rules.FORMULAS:
            raise InputError("满意率计算方式未知", "bad_input")
        meeting_id = f"HA-{day.year}"
        async with self.recorder.step():
            if await store.meeting(self.conn, meeting_id) is not None:
                raise InputError(f"{day.year} 年的户主大会已创建（{meeting_id}）", "duplicate")
            await self.recorder.record(K.MEETING_CREATED, {
                "id": meeting_id, "year": day.year, "held_on": day.isoformat(), "place": where, "agenda": items,
                "cadres": names, "line_percent": line_percent, "formula": formula, "by": by,
            })  # fmt: skip
        return meeting_id

    async def record_suggestion(self, meeting_id: str, household: str, category: str, text: str, by: str) -> str:
        if category not in CATEGORIES:
            raise InputError(f"意见分类应为：{'、'.join(CATEGORIES)}", "bad_input")
        body = checked(rules.clean_text, text, "意见内容", 500)
        async with self.recorder.step():
            await self._meeting(meeting_id)
            hid = household.strip()
            if hid and hid not in await store.households(self.conn):
                raise InputError(f"户号 {hid[:20]} 不在名册中", "bad_input")
            sid = f"{meeting_id}-S{await store.count(self.conn, 'ha_suggestions', meeting_id) + 1:03d}"
            await self.recorder.record(K.SUGGESTION_RECORDED, {
                "meeting_id": meeting_id, "id": sid, "household": hid, "category": category, "text": body, "by": by,
            })  # fmt: skip
        return sid

    async def post_documents(self, meeting_id: str, report: str, honours_method: str, by: str) -> None:
        text = checked(rules.clean_text, report, "年度工作报告", 5000)
        method = checked(rules.clean_text, honours_method, "表彰评选办法", 2000)
        async with self.recorder.step():
            await self._meeting(meeting_id)
            await self.recorder.record(
                K.DOCUMENTS_POSTED, {"meeting_id": meeting_id, "report": text, "honours_method": method, "by": by}
            )

    async def publish_honours(self, meeting_id: str, result: str, by: str) -> None:
        """The honours result, published at least 7 days before the meeting; later it is refused, on record."""
        text = checked(rules.clean_text, result, "表彰结果", 2000)
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            if not m["posted_at"]:
                raise InputError("请先公示年度工作报告和表彰评选办法", "not_posted")
            today = self.today()
            if not rules.honours_in_time(today, date.fromisoformat(m["held_on"])):
                await self.recorder.record(
                    K.HONOURS_REFUSED,
                    {"meeting_id": meeting_id, "on": today.isoformat(), "held_on": m["held_on"], "by": by},
                )
                raise Refused(
                    f"表彰结果须在会前至少 {rules.HONOURS_LEAD_DAYS} 天公示：会议 {m['held_on']}，今天 {today} 已过期限",
                    "honours_late",
                )
            await self.recorder.record(
                K.HONOURS_PUBLISHED, {"meeting_id": meeting_id, "result": text, "on": today.isoformat(), "by": by}
            )

    async def record_notices(self, meeting_id: str, households: Sequence[str], channel: str, by: str) -> int:
        """Households notified of the time and place (by SMS, or delivered by hand by the group leader)."""
        if channel not in CHANNELS:
            raise InputError("通知方式应为短信或组长送达", "bad_input")
        async with self.recorder.step():
            await self._meeting(meeting_id)
            known = await store.households(self.conn)
            unknown = [h for h in households if h not in known]
            if unknown:
                raise InputError(f"户号不在名册中：{'、'.join(unknown[:5])[:100]}", "bad_input")
            done = await store.notices(self.conn, meeting_id)
            new = sorted(set(households) - set(done))
            if new:
                await self.recorder.record(
                    K.NOTICES_RECORDED, {"meeting_id": meeting_id, "channel": channel, "households": new, "by": by}
                )
        return len(new)

    # -- sign-in ----------------------------------------------------------------------------------------------

    async def sign_in(
        self, meeting_id: str, household: str, how: str, by: str, proxy: str = "", token: str | None = None
    ) -> None:
        """One sign-in per household: by its QR token (which must be this meeting's and this household's) or
        ticked from the list; ``proxy``: who came on the household's behalf (委托), recorded as such."""
        if how not in HOW:
            raise InputError("签到方式应为扫码或名单勾选", "bad_input")
        if how == "qr" and (token is None or not tokens.verify(self.key, meeting_id, household, token)):
            raise InputError("二维码无效：不是本次会议为此户打印的签到码", "bad_token")
        who = checked(rules.clean_text, proxy, "受托人", 20, False)
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            if m["results_at"]:
                raise InputError("评议结果已公布，签到已结束", "closed")
            if household not in await store.households(self.conn):
                raise InputError(f"户号 {household[:20]!r} 不在名册中", "bad_input")
            signed = await store.signins(self.conn, meeting_id)
            if household in signed:
                raise InputError(
                    f"户 {household} 已签到（{HOW[signed[household]['how']]}），每户只签到一次", "signed_in"
                )
            await self.recorder.record(
                K.SIGNED_IN, {"meeting_id": meeting_id, "household": household, "how": how, "proxy": who, "by": by}
            )

    # -- questions, ratings, results --------------------------------------------------------------------------

    async def record_question(self, meeting_id: str, cadre: str, question: str, answer: str, by: str) -> str:
        q = checked(rules.clean_text, question, "质询内容", 1000)
        a = checked(rules.clean_text, answer, "答复", 1000, False)
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            if cadre not in m["cadres"]:
                raise InputError("被质询人不在本次会议的评议名单上", "bad_input")
            qid = f"{meeting_id}-Q{await store.count(self.conn, 'ha_questions', meeting_id) + 1:03d}"
            await self.recorder.record(
                K.QUESTION_RECORDED,
                {"meeting_id": meeting_id, "id": qid, "cadre": cadre, "question": q, "answer": a, "by": by},
            )
        return qid

    async def enter_tally(self, meeting_id: str, sheet: int, counts: Mapping[str, object], teller: str) -> str:
        """A paper tally sheet typed by a teller. The first entry waits; a second teller typing the same counts
        confirms it; different counts are refused on record and the sheet is entered again by both. Returns
        "entered" or "confirmed"."""
        if type(sheet) is not int or not 1 <= sheet <= 999:
            raise InputError("计票单编号应为 1–999", "bad_input")
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            if m["results_at"]:
                raise InputError("评议结果已公布，不能再录入计票单", "closed")
            targets = [*m["cadres"], rules.WORK]
            typed = checked(rules.tally_counts, counts, targets)
            existing = next((s for s in await store.sheets(self.conn, meeting_id) if s["sheet"] == sheet), None)
            body: dict[str, Any] = {"meeting_id": meeting_id, "sheet": sheet, "teller": teller, "counts": typed}
            if existing is None:
                await self.recorder.record(K.TALLY_ENTERED, body)
                return "entered"
            if existing["status"] == "confirmed":
                raise InputError(f"第 {sheet} 号计票单已由两名计票人确认", "confirmed")
            if existing["first"] == teller:
                raise InputError("同一计票单须由另一名计票人复核录入", "same_teller")
            differs = rules.second_entry_agrees(existing["counts"], typed)
            if differs:
                await self.recorder.record(K.TALLY_MISMATCH, {**body, "differs": differs})
                raise Refused(f"两次录入不一致（{'、'.join(differs)}）：请两名计票人重新清点后再录入", "tally_mismatch")
            await self.recorder.record(K.TALLY_CONFIRMED, body)
            return "confirmed"

    async def publish_results(self, meeting_id: str, by: str) -> dict[str, Any]:
        """The confirmed sheets added up and the rates computed by ``rules.result``, recorded with their inputs so
        the command line can recompute them. Refused while a sheet waits for its second teller."""
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            if m["results_at"]:
                raise InputError("评议结果已公布", "published")
            sheets = await store.sheets(self.conn, meeting_id)
            if not sheets or any(s["status"] != "confirmed" for s in sheets):
                raise InputError("还有计票单未经第二名计票人复核（或尚无计票单）", "unconfirmed")
            targets = [*m["cadres"], rules.WORK]
            tallies = rules.sum_sheets([s["counts"] for s in sheets], targets)
            households = len(await store.households(self.conn))
            signed = len(await store.signins(self.conn, meeting_id))
            result = checked(
                rules.result, households, signed, tallies, rules.line_percent(m["line_percent"]), m["formula"]
            )
            await self.recorder.record(K.RESULTS_PUBLISHED, {
                "meeting_id": meeting_id, "households": households, "signed_in": signed, "line_percent": m["line_percent"],
                "formula": m["formula"],
                "result": result, "by": by,
            })  # fmt: skip
        return result  # type: ignore[no-any-return]

    async def record_talk(self, meeting_id: str, cadre: str, note: str, by: str) -> None:
        """The township's talk with a cadre whose satisfaction rate fell below the line."""
        text = checked(rules.clean_text, note, "约谈记录", 1000)
        async with self.recorder.step():
            m = await self._meeting(meeting_id)
            flagged = [c["cadre"] for c in (m["results"] or {}).get("cadres", []) if c["flagged"]]
            if cadre not in flagged:
                raise InputError("只有满意率低于警戒线的干部需要约谈记录", "not_flagged")
            await self.recorder.record(
                K.TALK_RECORDED, {"meeting_id": meeting_id, "cadre": cadre, "note": text, "by": by}
            )

    # -- commitments --------------------------------------------------------------------------------------------

    async def make_commitment(
        self, meeting_id: str, text: str, owner: str, deadline: str, by: str, suggestion: str = ""
    ) -> str:
        """A commitment made at the meeting, with its owner and deadline; ``suggestion``: the pre-meeting suggestion
        it answers, if any (one of this meeting's)."""
        what = checked(rules.clean_text, text, "承诺事项", 500)
        who = checked(rules.clean_text, owner, "责任人", 20)
        day = parse_day(deadline, "完成期限")
        async with self.recorder.step():
            await self._meeting(meeting_id)
            if suggestion and suggestion not in {s["id"] for s in await store.suggestions(self.conn, meeting_id)}:
                raise InputError("此会议没有这条意见", "bad_input")
            cid = f"{meeting_id}-C{await store.count(self.conn, 'ha_commitments', meeting_id) + 1:03d}"
            await self.recorder.record(K.COMMITMENT_MADE, {
                "meeting_id": meeting_id, "id": cid, "text": what, "owner": who, "deadline": day.isoformat(), "suggestion": suggestion,
                "by": by,
            })  # fmt: skip
        return cid

    async def report_progress(self, commitment_id: str, progress: object, note: str, by: str) -> None:
        value = checked(rules.progress_percent, progress)
        text = checked(rules.clean_text, note, "进展说明", 500)
        async with self.recorder.step():
            found = next((c for c in await store.commitments(self.conn) if c["id"] == commitment_id), None)
            if found is None:
                raise NotFound(f"没有此承诺事项 {commitment_id[:40]!r}")
            if value < found["progress"]:
                raise InputError(f"进度不能倒退（当前 {found['progress']}%）", "bad_input")
            await self.recorder.record(
                K.COMMITMENT_PROGRESS, {"id": commitment_id, "progress": value, "note": text, "by": by}
            )
