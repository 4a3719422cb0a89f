"""Reading the ledger for supervisors: a filtered timeline, Chinese summaries, CSV export.

Reads ``ledger.sqlite3`` through its own read-only connection (WAL: readers
never block the agent's appends) and never writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from edge.kernel.accounts import ACCOUNTS, ROLE_NAMES
from edge.kernel.config import SEAL_NAMES, EdgeConfig
from edge.kernel.routing import REFUSAL_NAMES
from edge.kernel.errors import InputError
from edge.kernel.fmt import yuan
from edge.kernel.parts import Parts
from edge.kernel.wording import actor_name, person_name
from edge.ledger import Entry
from edge.ledger.localtime import local_time, utc_bound
from edge.ledger.schema import DB_FILENAME, ENTRY_COLUMNS
from edge.ledger.wire import ANOMALY_NAMES as WIRE_ANOMALY_NAMES
from edge.seal.person import MOMENTS as PERSON_MOMENTS
from edge.seal.projection import KINDS as SEAL_KINDS

PROJECTION_FAILED = "projection_failed"  # an entry the working state could not take (edge/projection.py)

KIND_GROUPS = {
    "seal_request.*": "用印申请", "grant.*": "授权", "seal.*": "设备事件", "device.*": "设备连接",
    "agent.*": "代理运行", "photo.*": "盖章照片", "firmware.*": "固件", "account.*": "账号",
}  # fmt: skip
KIND_NAMES = {**ACCOUNTS.kinds, **SEAL_KINDS}  # as the parts declare them (edge/kernel/accounts.py, edge/seal/projection.py)
ANOMALY_NAMES = {**WIRE_ANOMALY_NAMES, PROJECTION_FAILED: "台账条目无法应用"}

REASON_NAMES = {
    "presses_used": "次数用完", "expired": "授权到期", "tamper": "外壳被打开", "reboot": "设备重启", "closed": "授权结束",
    "approval_ttl": "批准后等待设备超时", "power": "上电", "watchdog": "看门狗复位", "hard": "硬件复位", "soft": "软件复位", "session_ended": "设备会话已更换", "window_passed": "授权时限已过",
    "device_blocked": "设备使用过本边缘从未签发的授权，已停止授权，须重新烧录后才能用印",
    "unknown_grant": "设备报告了未签发的授权号", "out_of_sequence": "设备的授权号超出本边缘签发的范围",
}  # fmt: skip
REFUSAL_MESSAGES = {
    "self_approval": "不能审批自己提交的申请。",
    "custodian_approval": "印章管理员不能审批其保管印章的用印。",
    "not_on_route": "您不在此申请的审批路线上。",
    "already_approved": "您已审批过此申请。",
    "not_pending": "申请已不在待审批状态，不能再审批。",
}


def reason_name(code: object) -> str:
    text = "" if code is None else str(code)
    if text.startswith("grant_refused:"):
        return f"设备拒绝授权（{text.removeprefix('grant_refused:')}）"
    return REASON_NAMES.get(text, text)


def anomaly_name(code: object) -> str:
    code = str(code)
    if code in ANOMALY_NAMES:
        return ANOMALY_NAMES[code]
    if code.startswith("grant_refused_"):
        return f"设备拒绝授权({code.removeprefix('grant_refused_')})"
    return code


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


@dataclass(frozen=True)
class LedgerFilter:
    kind: str | None = None  # an exact kind, or a group "seal.*"
    groups: tuple[str, ...] | None = None  # any of these groups ("seal.*", ...)
    device_ids: tuple[str, ...] | None = None  # None: any
    since: date | None = None  # local (Asia/Shanghai) dates, inclusive
    until: date | None = None
    anomaly: bool = False
    request_id: str | None = None
    failed_entries: tuple[int, ...] = ()  # entries the working state could not take: anomalies too

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.kind:
            if self.kind.endswith(".*"):
                clauses.append("kind LIKE ? ESCAPE '\\'")
                params.append(self.kind[:-1].replace("_", "\\_") + "%")
            else:
                clauses.append("kind = ?")
                params.append(self.kind)
        if self.groups:
            clauses.append("(" + " OR ".join("kind LIKE ? ESCAPE '\\'" for _ in self.groups) + ")")
            params.extend(g[:-1].replace("_", "\\_") + "%" for g in self.groups)
        if self.device_ids is not None:
            marks = ",".join("?" for _ in self.device_ids) or "NULL"
            clauses.append(f"json_extract(body, '$.device_id') IN ({marks})")
            params.extend(self.device_ids)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(utc_bound(self.since))
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(utc_bound(self.until + timedelta(days=1)))
        if self.anomaly:
            flagged = "json_extract(body, '$.anomaly') IS NOT NULL"
            if self.failed_entries:
                flagged = f"({flagged} OR idx IN ({','.join('?' * len(self.failed_entries))}))"
                params.extend(self.failed_entries)
            clauses.append(flagged)
        if self.request_id:
            clauses.append("json_extract(body, '$.request_id') = ?")
            params.append(self.request_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def local_day(text: str | None, what: str) -> date | None:
    """A date typed in a filter form (YYYY-MM-DD, local), None when left empty; a clear error otherwise."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what}格式应为 年-月-日，例如 2025-03-01", "bad_date") from None


class LedgerReader:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_FILENAME
        self._conn: aiosqlite.Connection | None = None

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            self._conn = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            await self._conn.execute("PRAGMA busy_timeout=5000")
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def query(self, flt: LedgerFilter, before: int | None = None, limit: int = 100) -> list[Entry]:
        """Newest first; ``before``: only entries with a lower index (paging)."""
        where, params = flt.where()
        if before is not None:
            where += (" AND " if where else " WHERE ") + "idx < ?"
            params.append(before)
        conn = await self._connection()
        rows = await conn.execute_fetchall(
            f"SELECT {ENTRY_COLUMNS} FROM entries{where} ORDER BY idx DESC LIMIT ?", (*params, limit)
        )
        return [Entry.from_row(r) for r in rows]

    async def iterate(self, flt: LedgerFilter, batch: int = 1000) -> AsyncIterator[Entry]:
        """Oldest first, every matching entry (for CSV export)."""
        where, params = flt.where()
        conn = await self._connection()
        last = -1
        while True:
            clause = where + (" AND " if where else " WHERE ") + "idx > ?"
            rows = await conn.execute_fetchall(
                f"SELECT {ENTRY_COLUMNS} FROM entries{clause} ORDER BY idx LIMIT ?", (*params, last, batch)
            )
            if not rows:
                return
            for row in rows:
                entry = Entry.from_row(row)
                last = entry.index
                yield entry

    async def count(self, flt: LedgerFilter) -> int:
        where, params = flt.where()
        conn = await self._connection()
        rows = list(await conn.execute_fetchall(f"SELECT COUNT(*) FROM entries{where}", params))
        return int(rows[0][0])

    async def kinds(self) -> list[str]:
        conn = await self._connection()
        rows = await conn.execute_fetchall("SELECT DISTINCT kind FROM entries ORDER BY kind")
        return [r[0] for r in rows]


def summarize(entry: Entry, config: EdgeConfig, device_names: dict[str, str], parts: Parts | None = None) -> str:
    """One line of Chinese for a person reading the timeline; a module's kinds as the module words them
    (``Part.summarize``)."""
    b = entry.body

    def who(person_id: Any) -> str:
        return person_name(config, person_id)

    device = device_names.get(str(b.get("device_id")), b.get("device_name") or b.get("device_id") or "")
    k = entry.kind
    rid = b.get("request_id", "")
    if k == "seal_request.filed":
        return (
            f"{who(b['applicant'])} 提交 {rid}：{SEAL_NAMES.get(b['seal'], b['seal'])}×{b['presses']}，"
            f"{yuan(int(b.get('amount_fen', 0)))}，{b.get('matter', '')}"
        )
    via = f"（{actor_name(b['account'])}）" if "account" in b else ""  # entries from before accounts were named have none
    if k == "seal_request.routed":
        read = {"read": yuan(int(b.get("read_fen") or 0)), "no_amount": "未识别出金额"}.get(str(b.get("read")), "无法识别")
        text = f"{rid} 原件识别后定审批路线 {b['route']['rule']}：申报 {yuan(int(b.get('declared_fen', 0)))}，原件 {read}"
        return text + ("，金额不符，按较大金额审批" if b.get("anomaly") else "")
    if k == "seal_request.regranted":
        return f"{who(b['approver'])}{via} 重新授权 {rid}（授权 #{b.get('after_grant_no')} 到期未用印，仅此一次）"
    if k == "seal_request.commented":
        return f"{who(b['approver'])}{via} 对 {rid} 的审批意见：{b.get('comment', '')}"
    if k == "seal_request.withdrawn":
        return f"{who(b['applicant'])}{via} 撤销 {rid}"
    if k == "seal_request.handed_over":
        return f"{who(b['approver'])}{via} 将 {rid} 的审批转交给 {who(b['to'])}：{b.get('reason', '')}"
    if k == "seal_request.reminded":
        return f"{who(b['person'])}{via} 催办 {rid}：提醒 {'、'.join(who(a) for a in b.get('awaiting', []))}"
    if k in ("document.ocr", "photo.ocr"):
        what = f"{rid} 原件" if k == "document.ocr" else f"{rid} 第 {b.get('press_no')} 次盖章照片"
        if "error" in b:
            return f"{what}无法识别：{b['error']}"
        fields = b.get("fields") or (b.get("reading") or {}).get("fields") or {}
        amount = fields.get("amount_fen")
        return f"{what}识别：{fields.get('title') or '无标题'}，金额 {yuan(int(amount)) if isinstance(amount, int) else '未识别'}"
    if k == "seal_request.approval":
        return f"{who(b['approver'])}{via} 同意 {rid}（{b.get('count')}/{b.get('needed')}）"
    if k == "seal_request.approved":
        return f"{rid} 审批通过：{'、'.join(who(a) for a in b.get('approvers', []))}"
    if k == "seal_request.rejected":
        return f"{who(b['approver'])}{via} 驳回 {rid}：{b.get('reason', '')}"
    if k == "seal_request.approval_refused":
        text = f"{who(b['person'])}{via} 对 {rid} 的审批被拒绝：{REFUSAL_NAMES.get(b.get('reason', ''), b.get('reason', ''))}"
        if b.get("attempt") is not None and b.get("attempt") == b.get("recorded_at_most"):
            text += f"（一小时内同一申请只记 {b['attempt']} 次，此后的不再记录）"
        return text
    if k == "seal_request.closed":
        return f"{rid} 用印结束：已用 {b.get('presses_used')}/{b.get('presses_approved')} 次（{reason_name(b.get('reason'))}）"
    if k in ("seal_request.expired", "seal_request.failed"):
        return f"{rid} {kind_name(k)}：{reason_name(b.get('reason', ''))}"
    if k == "grant.issued":
        return f"向 {device} 发出授权 #{b.get('no')}（{rid}，{b.get('presses')} 次，{b.get('valid_s')} 秒）"
    if k in ("grant.unsent", "grant.lapsed"):
        return f"授权 #{b.get('no')}（{rid}）{kind_name(k)}：{reason_name(b.get('reason', ''))}"
    if k.startswith("seal."):
        ev = b.get("event", {})
        text = f"{device} {kind_name(k)}"
        if k == "seal.press":
            text += f" 第 {ev.get('n')} 次（累计 {ev.get('total')}）{rid}"
        elif k == "seal.relocked":
            text += f"（{reason_name(ev.get('reason'))}" + (f"，已用 {ev.get('used')}）" if ev.get("used") is not None else "）")
        elif k == "seal.boot":
            text += f"（第 {ev.get('boots')} 次启动，{reason_name(ev.get('cause'))}）"
        elif k == "seal.grant_refused":
            text += f"（{ev.get('reason')}）"
        elif k == "seal.tamper":
            text += "：打开" if ev.get("active") else "：关闭"
        return text
    if k == "device.online":
        lock = {"locked": "已上锁", "unlocked": "已解锁"}.get(str(b.get("lock")), str(b.get("lock")))
        return f"{device} 上线（{lock}，累计 {b.get('presses')} 次）"
    if k == "device.offline":
        return f"{device} 离线"
    if k == "device.enrolled":
        return f"登记设备 {b.get('name')}（{b.get('device_id')}）"
    if k == "device.rogue_grant":
        return (
            f"{device} 使用了本边缘从未签发的授权 #{b.get('no')}（本边缘签发至 #{b.get('issued_upto')}，"
            f"{reason_name(b.get('reason'))}），停止向其授权，直至重新烧录"
        )
    if k == "device.block_cleared":
        return f"{device} 已重新烧录写入新密钥，恢复授权（停止授权见台账第 {b.get('rogue_entry')} 条）"
    if k == "device.malformed_event":
        return f"{device} 发来格式错误的事件 #{b.get('event_id')}（{b.get('problem')}），已记为异常并确认，不再重发；原文 {str(b.get('raw'))[:200]}"
    if k == "device.events_lost":
        return f"{device} 事件 {b.get('from')}–{b.get('to')} 丢失（{b.get('reason')}）"
    if k == "photo.check":
        verdict = "与原件一致" if b.get("match") else "不符：" + "、".join(anomaly_name(f) for f in b.get("flags", []))
        impression = b.get("impression") or {}
        if impression.get("flag") == "wrong_seal":
            read = impression.get("read_kind") or "无法辨认"
            verdict += f"（本机印章为{impression.get('expected_kind')}，印文的印章类型读作{read}）"
        return f"{rid} 第 {b.get('press_no')} 次盖章照片比对{verdict}（相似度 {(b.get('score_permille') or 0) / 10:.1f}%）"
    if k == "photo.taken":
        return f"{rid} 第 {b.get('press_no')} 次盖章照片 {str(b.get('sha256'))[:12]}"
    if k == "photo.capture_failed":
        return f"{rid} 第 {b.get('press_no')} 次盖章未拍到照片：{b.get('reason')}"
    if k in ("photo.person", "photo.person_failed"):
        when = f"{rid} {PERSON_MOMENTS.get(str(b.get('moment')), b.get('moment'))}"
        if k == "photo.person_failed":
            return f"{when}未拍到盖章人：{b.get('reason')}"
        faces = "未核对人脸" if b.get("faces") is None else f"{b['faces']} 张人脸"
        return f"{when}盖章人照片 {str(b.get('sha256'))[:12]}（{faces}）"
    if k == "photo.person_deleted":
        return f"{rid} 盖章人照片 {str(b.get('sha256'))[:12]} 保存 {b.get('retention_days')} 天到期，图像已删除，哈希留存"
    if k.startswith("account."):
        person = f"，名册人员 {who(b['person'])}" if b.get("person") else ""
        text = f"{actor_name(b.get('by'))} {kind_name(k)} {b.get('username')}{person}"
        if k == "account.created":
            roles = "、".join(ROLE_NAMES.get(r, r) for r in b.get("roles", []))
            text += f"（{roles}）" + ("，本人须先改密码才能审批" if b.get("must_change_password") else "")
        return text
    if k in ("agent.started", "agent.stopped"):
        return f"边缘代理{'启动' if k == 'agent.started' else '停止'}" + (f"（{b['village']}）" if b.get("village") else "")
    worded = parts.summarize(entry, config) if parts is not None else None
    if worded:
        return worded
    name = parts.kind_name(k) if parts is not None else kind_name(k)
    return f"{name} " + json.dumps(b, ensure_ascii=False, sort_keys=True)[:200]


def summary(entry: Entry, config: EdgeConfig, device_names: dict[str, str], parts: Parts | None = None) -> str:
    """:func:`summarize`, or for a body without the fields its kind promises (such an entry could not be
    applied either: it is a projection anomaly) the raw JSON, so one bad entry never breaks a page."""
    try:
        return summarize(entry, config, device_names, parts)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        name = parts.kind_name(entry.kind) if parts is not None else kind_name(entry.kind)
        return f"{name}（内容不完整）" + json.dumps(entry.body, ensure_ascii=False, sort_keys=True)[:200]


CSV_COLUMNS = ("序号", "时间(北京时间)", "类型", "类型名称", "设备", "申请编号", "异常", "摘要", "条目哈希", "内容JSON")


def csv_row(
    entry: Entry, config: EdgeConfig, device_names: dict[str, str], failed: Collection[int] = (), parts: Parts | None = None
) -> list[str]:
    """One CSV line; ``failed``: the entries the working state could not take, flagged as anomalies; ``parts``:
    the registered parts, whose kinds' names and summaries the line shows."""
    name_of = parts.kind_name if parts is not None else kind_name
    b = entry.body
    device = device_names.get(str(b.get("device_id")), str(b.get("device_id") or ""))
    anomaly = str(b.get("anomaly") or (PROJECTION_FAILED if entry.index in failed else ""))
    return [
        str(entry.index), local_time(entry.ts), entry.kind, name_of(entry.kind), device, str(b.get("request_id") or ""),
        anomaly_name(anomaly) if anomaly else "", summary(entry, config, device_names, parts), entry.hash.hex(),
        json.dumps(b, ensure_ascii=False, sort_keys=True),
    ]  # fmt: skip


