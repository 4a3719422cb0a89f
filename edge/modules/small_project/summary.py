"""Each small-project entry as one line of Chinese for the supervisors' timeline (``/ledger``) and its CSV.

What stays out: the commitments, the draw's seed and hashes, the opening's round key and digests, the village's
revealed value (free text, kept in the draw's record), the hotline's number and any uploaded file's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
from edge.kernel.fmt import yuan
from edge.kernel.routing import REFUSAL_NAMES
from edge.kernel.wording import actor_name, person_name
from edge.ledger import Entry
from edge.ledger.localtime import MINUTES, local_time

Who = Callable[[Any], str]  # a roster person as the seal's timeline shows one: 名字(id)


def _by(b: dict[str, Any], who: Who) -> str:
    """Who acted in the village: the roster's person, else the account (a console clerk, or the host's operator)."""
    return who(b["person"]) if b.get("person") else actor_name(b.get("account"))


def _filed(b: dict[str, Any], who: Who) -> str:
    above = sum(1 for line in b["lines"] if line["above_guide"])
    flag = f"，{above} 项单价高于指导价" if above else ""  # what 公示 flags, so the supervisor sees it here too
    return f"{_by(b, who)} 申报 {b['id']}「{b['name']}」（{b['category']}，{b['place']}）：预算 {yuan(b['total_fen'])}{flag}"


def _refused(b: dict[str, Any], who: Who) -> str:
    text = f"{who(b['person'])} 对 {b['project_id']} 的审批被拒绝：{REFUSAL_NAMES.get(b['reason'], b.get('message', ''))}"
    if b.get("attempt") is not None and b.get("attempt") == b.get("recorded_at_most"):
        text += f"（一小时内同一工程只记 {b['attempt']} 次，此后的不再记录）"
    return text


def _township_step(b: dict[str, Any], who: Who) -> str:
    officer = f"乡镇审核人员({b['approver']})"  # a central account, not on the village's roster
    if not b["approve"]:
        return f"{officer} 驳回 {b['project_id']}：{b.get('reason', '')}"
    return f"{officer} 同意 {b['project_id']}" + ("，乡镇审批完成" if b.get("final") else "")


def _drawn(b: dict[str, Any], who: Who) -> str:
    record = b["record"]
    names = {c["id"]: c["name"] for c in record["pool"]}
    drawn = "、".join(names.get(i, i) for i in record["drawn"])
    return f"乡镇为 {b['project_id']} 抽取承包商：{drawn}（库中 {len(record['pool'])} 家，抽取记录可复算）"


def _opened(b: dict[str, Any], who: Who) -> str:
    quotes, winner = b["quotes"], b.get("winner")
    valid = sum(1 for q in quotes if q.get("invalid") is None)
    result = f"{winner['name']} 以 {yuan(winner['amount_fen'])} 中标" if winner else f"无有效报价，{P.STATUS['failed']}"
    return f"{b['opened_on']} 开标 {b['project_id']}（同行列席 {b['observer']}）：{len(quotes)} 家报价，{valid} 家有效，{result}"


_LINES: dict[str, Callable[[dict[str, Any], Who], str]] = {
    K.CATALOGUE: lambda b, who: f"收到乡镇指导价目录 {b['version']} 版：{len(b['items'])} 项，{b['effective']} 起执行",
    K.FILED: _filed,
    K.APPROVAL: lambda b, who: f"{who(b['approver'])} 同意 {b['project_id']}（{b.get('count')}/{b.get('needed')}）",
    K.APPROVED: lambda b, who: f"{b['project_id']} 村内审批通过：{'、'.join(who(a) for a in b['approvers'])}",
    K.REFUSED: _refused,
    K.REJECTED: lambda b, who: f"{who(b['approver'])} 驳回 {b['project_id']}：{b.get('reason', '')}",
    K.TOWNSHIP_STEP: _township_step,
    K.RECOMMENDED: lambda b, who: (
        f"{_by(b, who)} 为 {b['project_id']} 推荐承包商 {b['contractor']['name']}（{b['contractor']['id']}），"
        "并提交村随机值的承诺"
    ),
    K.FIXED: lambda b, who: (
        f"乡镇固定并公布 {b['project_id']} 的抽取依据（库中 {len(b['pool'])} 家承包商，双方随机值的承诺）"
    ),
    K.REVEALED: lambda b, who: f"{_by(b, who)} 公布 {b['project_id']} 的村随机值",
    K.DRAWN: _drawn,
    K.QUOTING: lambda b, who: (
        f"乡镇邀请 {'、'.join(c['name'] for c in b['invited'])} 为 {b['project_id']} 密封报价，"
        f"{local_time(b['closes_at'], MINUTES)} 截止，监督热线已公示"
    ),
    K.OPENED: _opened,
    K.PROGRESS: lambda b, who: (
        f"{_by(b, who)} 公示 {b['project_id']} {K.STAGES[b['stage']]}（{b['day']}，附照片或文件）：{b.get('note', '')}"
    ),
    K.CHECKED: lambda b, who: (
        f"乡镇检查人({b['inspector']}) 完成 {b['project_id']} 第 {b['no']} 次随机检查（{b['day']}）：{b['findings']}"
    ),
    # The body names no caller; only whether they gave their name, as the notice board shows it.
    K.COMPLAINT: lambda b, who: (
        f"监督热线收到 {b['project_id']} 的{'匿名' if b['anonymous'] else '实名'}投诉（{b['received_on']}）：{b['summary']}"
    ),
    K.COMPLETED: lambda b, who: (
        f"{_by(b, who)} 办理 {b['project_id']} 竣工验收（{b['accepted_on']}），结算 {yuan(b['settled_fen'])}"
    ),
}


def summarize(entry: Entry, config: Any) -> str | None:
    """The line for a small-project entry (``Part.summarize``); a missing field raises, and the ledger view
    shows its fallback for that malformed body."""
    line = _LINES.get(entry.kind)
    if line is None:
        return None

    return line(entry.body, lambda person_id: person_name(config, person_id))
