"""The module's steps: each validates its input at the boundary (a clear Chinese message, nothing changed),
decides with ``rules.py`` and records one ledger entry before the working state changes (the projection then
applies it). Times come from the caller (``now``: the agent's clock, one a test controls).

Who may do what: any member of the station's roster files a clue from the console (credited to them unless they
file it anonymously); a liaison also enters what a villager told them; the station head takes the loop's steps,
records the meetings and runs the rating; reading a clue needs the head's key, unlocked for a session.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

import edge.modules.whistleblower.crypto as crypto
import edge.modules.whistleblower.keyring as keyring
import edge.modules.whistleblower.kinds as K
import edge.modules.whistleblower.projection as P
import edge.modules.whistleblower.rules as R
from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.recorder import Recorder
from edge.ledger.localtime import SHANGHAI
from edge.modules.whistleblower.settings import settings_of
from edge.modules.whistleblower.yearbook import YEAR_KINDS, read_year

MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 1024 * 1024  # each; sealed into the ledger entry, which travels to the central store
ATTACHMENT_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-"}
MISCONDUCT = {"cover_up": "隐瞒包庇", "false_report": "恶意诬告"}
_PHONE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


@dataclass(frozen=True)
class Filed:
    id: str
    code: str  # shown once to whoever filed it; never stored


def check_attachments(files: Sequence[Attachment]) -> list[dict[str, str]]:
    """Photos (JPEG, PNG) or PDF files, recognised by their first bytes, at most 3 of 1 MB each."""
    files = [f for f in files if f.data]
    if len(files) > MAX_ATTACHMENTS:
        raise InputError(f"附件最多 {MAX_ATTACHMENTS} 个", "bad_attachment")
    out = []
    for f in files:
        if len(f.data) > MAX_ATTACHMENT_BYTES:
            raise InputError(f"附件 {f.name[:40]} 超过 1 MB", "bad_attachment")
        kind = next((t for t, magic in ATTACHMENT_TYPES.items() if f.data.startswith(magic)), None)
        if kind is None:
            raise InputError(f"附件 {f.name[:40]} 不是照片（JPG、PNG）或 PDF 文件", "bad_attachment")
        out.append({"name": f.name[-80:] or "附件", "type": kind, "data": base64.b64encode(f.data).decode("ascii")})
    return out


def check_reporter(name: object, phone: object) -> dict[str, str] | None:
    """The reporter's identity, if they give one (it is sealed like the clue): a name, and a phone if any."""
    n = name.strip() if isinstance(name, str) else ""
    ph = re.sub(r"[\s-]", "", phone) if isinstance(phone, str) else ""
    if not n and not ph:
        return None
    if not n or len(n) > 20:
        raise InputError("实名举报请填写姓名（最多 20 个字）；匿名举报请姓名、电话都不填", "bad_reporter")
    if ph and not _PHONE.match(ph):
        raise InputError("手机号码应为 11 位数字", "bad_reporter")
    return {"name": n, "phone": ph}


class WhistleDesk:
    def __init__(self, recorder: Recorder[Any], config: EdgeConfig) -> None:
        self.recorder = recorder
        self.config = config
        self.settings = settings_of(config)

    @property
    def conn(self) -> Any:
        return self.recorder.db.conn

    # -- the station ----------------------------------------------------------------------------------------

    async def _station(self) -> dict[str, Any]:
        station = await P.station(self.conn)
        if station is None:
            raise InputError("尚未建立联络站名册", "no_station")
        return station

    async def _member(self, who: str) -> dict[str, Any]:
        station = await self._station()
        member = next((m for m in station["roster"] if m["id"] == who), None)
        if member is None:
            raise Refused("您不在本联络站的名册中", "forbidden")
        return member

    async def _head(self, who: str) -> dict[str, Any]:
        member = await self._member(who)
        if member["role"] != "head":
            raise Refused("只有站长可以办理此事项", "forbidden")
        return member

    async def save_station(self, name: str, members: Sequence[Mapping[str, Any]]) -> tuple[R.Member, ...]:
        """Save the station's 1+2+N roster (an admin's step: the roster says who the head is)."""
        station_name = R.check_station_name(name)
        roster = R.check_roster(members)
        async with self.recorder.step():
            await self.recorder.record(K.STATION_SET, {"name": station_name, "members": [m.to_body() for m in roster]})
        return roster

    async def set_keys(self, who: str, passphrase: str) -> str:
        """The head makes the station's key pair: the private half stored wrapped by ``passphrase``, the public
        half recorded beside the township officer's (from the config) as the keys every clue is sealed to."""
        crypto.check_passphrase(passphrase)
        township = self.settings.township_public_key
        if township is None:
            raise InputError(
                "配置中没有乡镇纪委的公钥（[whistleblower] township_public_key），无法加密线索", "no_township_key"
            )
        async with self.recorder.step():
            await self._head(who)
            key = X25519PrivateKey.generate()
            keyring.store_head_key(self.config.data_dir, key, passphrase)
            head_public = crypto.public_text(key.public_key())
            body = {
                "head": who, "head_public": head_public, "head_fingerprint": crypto.fingerprint(key.public_key()),
                "township_public": township, "township_fingerprint": crypto.fingerprint(crypto.load_public(township)),
            }  # fmt: skip
            await self.recorder.record(K.HEAD_KEY, body)
        return body["head_fingerprint"]

    async def unlock(self, who: str, passphrase: str) -> X25519PrivateKey:
        async with self.recorder.step():
            await self._head(who)
            station = await self._station()
        if not station["head_public"]:
            raise InputError("站长尚未设置密钥", "no_head_key")
        # The key derivation is slow on purpose: off the event loop, so the agent's other steps go on meanwhile.
        return await asyncio.to_thread(
            keyring.load_head_key, self.config.data_dir, station["head_public"], str(passphrase)
        )

    async def _recipients(self) -> list[X25519PublicKey]:
        station = await self._station()
        if not station["head_public"] or not station["township_public"]:
            raise InputError("联络站尚未设置加密密钥，暂不能受理线索，请联系站长", "no_head_key")
        return [crypto.load_public(station["head_public"]), crypto.load_public(station["township_public"])]

    # -- clues ------------------------------------------------------------------------------------------------

    async def file_clue(
        self, source: str, text: str, now: datetime, reporter: dict[str, str] | None = None,
        attachments: Sequence[Attachment] = (), by: str | None = None, credited: bool = True,
    ) -> Filed:  # fmt: skip
        """A clue received: from the public page (``source`` public, ``by`` None), from a team member, or
        entered by a liaison for a villager. Returns its id and the receipt code, shown once."""
        if source not in R.SOURCES:
            raise InputError("未知的线索来源", "bad_source")
        body_text = R.check_text(text, "线索内容")
        files = check_attachments(attachments)
        code = crypto.new_receipt_code()
        tag, reporter_key = await asyncio.to_thread(
            crypto.receipt_keys, code, self.config.village
        )  # scrypt: off the loop
        async with self.recorder.step():
            collector = None
            if source != "public":
                if by is None:
                    raise Refused("请先登录", "forbidden")
                member = await self._member(by)
                if source == "liaison" and member["role"] != "liaison":
                    raise Refused("只有联络员可以代录群众反映的线索", "forbidden")
                collector = by if credited else None
            recipients = await self._recipients()
            year = now.astimezone(SHANGHAI).year
            count = sum(1 for c in await P.clues(self.conn) if c["id"].startswith(f"WB-{year}-"))
            clue_id = f"WB-{year}-{count + 1:04d}"
            content = {
                "text": body_text,
                "reporter": reporter,
                "attachments": files,
                "reporter_key": crypto.b64(reporter_key),
                "by": by,
            }
            await self.recorder.record(K.CLUE_RECEIVED, {
                "id": clue_id, "source": source, "collector": collector, "received_at": R.iso(now),
                "ack_due": R.iso(R.ack_due(now)), "feedback_due": R.iso(R.feedback_due(now)), "lookup": tag.hex(),
                "sealed": crypto.seal(content, recipients, f"{clue_id}:clue"),
            })  # fmt: skip
        return Filed(clue_id, code)

    async def _clue(self, clue_id: str) -> dict[str, Any]:
        row = await P.clue(self.conn, str(clue_id))
        if row is None:
            raise NotFound("没有此线索")
        return row

    async def acknowledge(self, clue_id: str, who: str, now: datetime) -> None:
        async with self.recorder.step():
            await self._head(who)
            R.next_state((await self._clue(clue_id))["state"], "acknowledge")
            await self.recorder.record(K.CLUE_ACKNOWLEDGED, {"id": clue_id, "at": R.iso(now), "by": who})

    async def verify(self, clue_id: str, who: str, note: str, now: datetime) -> None:
        text = R.check_text(note, "核实情况")
        async with self.recorder.step():
            await self._head(who)
            R.next_state((await self._clue(clue_id))["state"], "verify")
            sealed = crypto.seal({"text": text}, await self._recipients(), f"{clue_id}:note")
            await self.recorder.record(K.CLUE_VERIFIED, {"id": clue_id, "at": R.iso(now), "by": who, "note": sealed})

    async def resolve(self, clue_id: str, who: str, outcome: str, solved: bool, reasons: str, now: datetime) -> None:
        text = R.check_text(reasons, "办结理由")
        async with self.recorder.step():
            await self._head(who)
            R.next_state((await self._clue(clue_id))["state"], "resolve", outcome)
            sealed = crypto.seal({"text": text}, await self._recipients(), f"{clue_id}:reasons")
            body = {
                "id": clue_id,
                "at": R.iso(now),
                "by": who,
                "outcome": outcome,
                "solved": bool(solved) and outcome == "confirmed",
                "reasons": sealed,
            }
            await self.recorder.record(K.CLUE_RESOLVED, body)

    async def _reporter_key(self, clue_id: str, key: X25519PrivateKey) -> bytes:
        items = await P.sealed_items(self.conn, clue_id)
        content = crypto.open_sealed(items[0]["sealed"], key, f"{clue_id}:clue")
        return crypto.unb64(content["reporter_key"])

    async def feedback(self, clue_id: str, who: str, text: str, key: X25519PrivateKey, now: datetime) -> None:
        """The loop's last step: feedback sealed to the head and the township, and boxed for the reporter."""
        said = R.check_text(text, "反馈内容")
        async with self.recorder.step():
            await self._head(who)
            R.next_state((await self._clue(clue_id))["state"], "feedback")
            rkey = await self._reporter_key(clue_id, key)
            body = {
                "id": clue_id, "at": R.iso(now), "by": who, "sealed": crypto.seal({"text": said}, await self._recipients(), f"{clue_id}:feedback"),
                "reporter": crypto.for_reporter(rkey, said, f"{clue_id}:feedback"),
            }  # fmt: skip
            await self.recorder.record(K.CLUE_FEEDBACK, body)

    async def reply(self, clue_id: str, who: str, text: str, key: X25519PrivateKey, now: datetime) -> None:
        said = R.check_text(text, "留言")
        async with self.recorder.step():
            await self._head(who)
            await self._clue(clue_id)
            rkey = await self._reporter_key(clue_id, key)
            body = {
                "id": clue_id, "at": R.iso(now), "author": "station", "sealed": crypto.seal({"text": said}, await self._recipients(), f"{clue_id}:message"),
                "reporter": crypto.for_reporter(rkey, said, f"{clue_id}:message"),
            }  # fmt: skip
            await self.recorder.record(K.MESSAGE, body)

    async def escalate(self, clue_id: str, who: str, now: datetime) -> None:
        """Hand a clue straight to the township (about the village's own cadres): it is sealed to the township
        officer from the start; this marks it for them at the central store."""
        async with self.recorder.step():
            await self._member(who)
            row = await self._clue(clue_id)
            if row["escalated_at"]:
                raise InputError("此线索已直报乡镇纪委", "bad_state")
            await self.recorder.record(K.CLUE_ESCALATED, {"id": clue_id, "at": R.iso(now), "by": who})

    def read(self, clue_id: str, items: Sequence[Mapping[str, Any]], key: X25519PrivateKey) -> list[dict[str, Any]]:
        """The clue's sealed items, opened with the head's unlocked key: (kind, author, at, content)."""
        out = []
        for item in items:
            content = crypto.open_sealed(item["sealed"], key, f"{clue_id}:{item['kind']}")
            content.pop("reporter_key", None)
            out.append({"kind": item["kind"], "author": item["author"], "at": item["at"], **content})
        return out

    # -- the reporter, by receipt code ---------------------------------------------------------------------------

    async def find_by_code(self, code: str) -> tuple[dict[str, Any], bytes] | None:
        """The clue a receipt code belongs to, with the reporter's key; None for any code that is not one.

        Every stored tag is compared, in constant time each, whatever matches: the answer's time does not say
        which clue (or whether an earlier one) matched, and a wrong code learns only that it is wrong."""
        tag, rkey = await asyncio.to_thread(crypto.receipt_keys, code, self.config.village)  # scrypt: off the loop
        async with self.recorder.step():
            rows = await P.clues(self.conn)
        found = None
        for row in rows:
            if hmac.compare_digest(bytes.fromhex(row["lookup"]), tag):
                found = row
        return (found, rkey) if found is not None else None

    async def reporter_view(self, row: Mapping[str, Any], rkey: bytes) -> list[dict[str, Any]]:
        """What the reporter reads: the station's messages and feedback, opened with their key."""
        async with self.recorder.step():
            items = await P.sealed_items(self.conn, row["id"])
        out = []
        for item in items:
            if item["reporter"] is not None:
                out.append(
                    {
                        "kind": item["kind"],
                        "author": item["author"],
                        "at": item["at"],
                        "text": crypto.open_for_reporter(rkey, item["reporter"], f"{row['id']}:{item['kind']}"),
                    }
                )
            elif item["kind"] == "message" and item["author"] == "reporter":
                out.append(
                    {"kind": "message", "author": "reporter", "at": item["at"], "text": None}
                )  # sealed: only the station reads it
        return out

    async def reporter_message(self, clue_id: str, text: str, now: datetime) -> None:
        said = R.check_text(text, "留言")
        async with self.recorder.step():
            sealed = crypto.seal({"text": said}, await self._recipients(), f"{clue_id}:message")
            await self.recorder.record(
                K.MESSAGE, {"id": clue_id, "at": R.iso(now), "author": "reporter", "sealed": sealed}
            )

    # -- meetings -------------------------------------------------------------------------------------------------

    async def _attendees(self, attendees: Sequence[str]) -> list[str]:
        roster = {m["id"] for m in (await self._station())["roster"]}
        chosen = list(dict.fromkeys(a.strip() for a in attendees if a and a.strip()))
        unknown = [a for a in chosen if a not in roster]
        if unknown:
            raise InputError(f"参会人不在名册中：{'、'.join(unknown)[:100]}", "bad_attendees")
        if not chosen:
            raise InputError("请选择参会人员", "bad_attendees")
        return chosen

    async def review_meeting(
        self, who: str, held_on: date, attendees: Sequence[str], clue_ids: Sequence[str], minutes: str, now: datetime
    ) -> str:
        """The month's review meeting: the acknowledged clues it handled are triaged; its minutes are sealed."""
        text = R.check_text(minutes, "会议纪要")
        async with self.recorder.step():
            await self._head(who)
            people = await self._attendees(attendees)
            handled = list(dict.fromkeys(str(c) for c in clue_ids))
            rows = {c: await self._clue(c) for c in handled}
            triaged = [c for c, row in rows.items() if row["state"] == "acknowledged"]
            meeting_id = f"RM-{held_on.isoformat()}-{len(await P.meetings(self.conn, 'review')) + 1}"
            await self.recorder.record(K.REVIEW_MEETING, {
                "id": meeting_id, "held_on": held_on.isoformat(), "attendees": people, "clues": handled, "triaged": triaged,
                "minutes": crypto.seal({"text": text}, await self._recipients(), f"{meeting_id}:minutes"), "by": who, "at": R.iso(now),
            })  # fmt: skip
        return meeting_id

    async def qa_meeting(
        self,
        who: str,
        held_on: date,
        attendees: Sequence[str],
        villagers: int,
        questions: int,
        answered: int,
        summary: str,
        now: datetime,
    ) -> str:
        """The quarter's public Q&A meeting: counts and a public summary (it goes on the notice board)."""
        text = R.check_text(summary, "公开摘要")
        for label, n in (("到会群众", villagers), ("群众提问", questions), ("当场答复", answered)):
            if type(n) is not int or not 0 <= n <= 10_000:
                raise InputError(f"{label}人数应为 0 到 10000 的整数", "bad_count")
        if answered > questions:
            raise InputError("当场答复数不能多于群众提问数", "bad_count")
        async with self.recorder.step():
            await self._head(who)
            people = await self._attendees(attendees)
            meeting_id = f"QA-{held_on.isoformat()}-{len(await P.meetings(self.conn, 'qa')) + 1}"
            await self.recorder.record(K.QA_MEETING, {
                "id": meeting_id, "held_on": held_on.isoformat(), "attendees": people, "villagers": villagers,
                "questions": questions, "answered": answered, "summary": text, "by": who, "at": R.iso(now),
            })  # fmt: skip
        return meeting_id

    # -- the yearly visit plan and the visits -----------------------------------------------------------------

    async def plan_visits(self, who: str, year: int, targets: Mapping[str, object], now: datetime) -> dict[str, int]:
        """The year's 走访计划 (the head's): how many households each member is to visit."""
        if not now.astimezone(SHANGHAI).year - 1 <= int(year) <= now.astimezone(SHANGHAI).year + 1:
            raise InputError("走访计划的年度应为去年、今年或明年", "bad_year")
        async with self.recorder.step():
            await self._head(who)
            roster = [m["id"] for m in (await self._station())["roster"]]
            plan = R.check_visit_plan(targets, roster)
            await self.recorder.record(K.VISIT_PLAN, {"year": int(year), "plan": plan, "by": who, "at": R.iso(now)})
        return plan

    async def record_visit(self, who: str, person: str, visited_on: date, households: object, now: datetime) -> None:
        """A visit made (by ``person``; a member records their own, the head anyone's): counts only."""
        count = R.check_households(households, "走访户数")
        if count == 0:
            raise InputError("走访户数应至少为 1", "bad_households")
        if visited_on > now.astimezone(SHANGHAI).date():
            raise InputError("走访日期不能晚于今天", "bad_date")
        async with self.recorder.step():
            member = await self._member(who)
            if person != who and member["role"] != "head":
                raise Refused("只能记录自己的走访（站长可代记）", "forbidden")
            await self._member(person)
            body = {
                "person": person,
                "visited_on": visited_on.isoformat(),
                "households": count,
                "by": who,
                "at": R.iso(now),
            }
            await self.recorder.record(K.VISIT, body)

    # -- the year -------------------------------------------------------------------------------------------------

    async def misconduct(self, who: str, person: str, year: int, what: str, now: datetime) -> None:
        """A confirmed cover-up or malicious false report by a team member (decided by the township): on record,
        it makes that member's year 黑哨."""
        if what not in MISCONDUCT:
            raise InputError("失职类型应为“隐瞒包庇”或“恶意诬告”", "bad_misconduct")
        async with self.recorder.step():
            await self._head(who)
            await self._member(person)
            await self.recorder.record(
                K.MISCONDUCT, {"person": person, "year": int(year), "what": what, "by": who, "at": R.iso(now)}
            )

    async def rate(self, who: str, year: int, ledger: Any, now: datetime) -> list[R.Rating]:
        """The year's rating run: a decision entry with its inputs, rules and figures, recomputable by
        ``qinglian whistleblower rate``."""
        if not 2000 <= int(year) <= now.astimezone(SHANGHAI).year:
            raise InputError("评定年度应为今年或以前的年份", "bad_year")
        rules = self.settings.rules
        async with self.recorder.step():
            await self._head(who)
            entries = [e for kind in YEAR_KINDS for e in await ledger.entries_of_kind(kind)]
            record = read_year(entries, int(year))
            ratings = record.ratings(rules)
            await self.recorder.record(K.RATED, {
                "year": int(year), "station": record.station, "rules": rules.to_body(),
                "inputs": [{"person": p.person, "clues": p.clues, "confirmed": p.confirmed, "solved": p.solved, "misconduct": p.misconduct} for p in record.people],
                "ratings": [r.to_body() for r in ratings], "figures": dict(record.figures), "by": who, "at": R.iso(now),
            })  # fmt: skip
        return ratings

    # -- deadlines ------------------------------------------------------------------------------------------------

    async def flag_overdue(self, now: datetime) -> list[tuple[str, str, str]]:
        """Record each step that has passed its deadline undone (once per clue and step)."""
        flagged: list[tuple[str, str, str]] = []
        async with self.recorder.step():
            for row in await P.clues(self.conn):
                due = {
                    "acknowledge": (row["ack_due"], row["state"] != "received", row["ack_overdue"]),
                    "feedback": (row["feedback_due"], row["state"] == "closed", row["feedback_overdue"]),
                }
                for step, (when, done, already) in due.items():
                    if not already and R.overdue(datetime.fromisoformat(when), now, done):
                        flagged.append((row["id"], step, when))
            if flagged:
                await self.recorder.record_many(
                    [(K.OVERDUE, {"id": c, "step": s, "due": d, "at": R.iso(now)}) for c, s, d in flagged]
                )
        return flagged


def now_of(host: Any) -> datetime:
    """What time it is for the agent: its clock (the seal desk holds the one the agent was opened with, which a
    test sets), so the module's deadlines move with the same clock as the seal's expiries."""
    return host.desk.clock()  # type: ignore[no-any-return]
