"""Each seal entry as one line of Chinese for the ledger's timeline and its CSV (``Part.summarize``): requests and
their approvals, grants, the boards' events and connections, photos and firmware; and the seal's reason codes
in Chinese, which its request page shows too (the ``reason_name`` filter its router registers).

The board is named by the entry's ``device_name``: the kernel's timeline sets it to the console's name for the
entry's ``device_id`` (edge/web/ledgerview.py), so these words stay a function of the entry and the config.
"""

from __future__ import annotations

from typing import Any

from edge.kernel.config import SEAL_NAMES
from edge.kernel.fmt import yuan
from edge.kernel.routing import REFUSAL_NAMES
from edge.kernel.wording import actor_name, person_name
from edge.ledger import Entry
from edge.ledger.wire import ANOMALY_NAMES
from edge.seal import projection as P
from edge.seal.person import MOMENTS, PERSON_CAPTURE_FAILED, PERSON_PHOTO, PERSON_PHOTO_DELETED

#: Why a grant or a request ended, why a board relocked or booted, why a board refused a grant
#: (firmware/grant.py, firmware/app.py), why events were lost (edge/seal/devices.py).
REASON_NAMES = {
    "presses_used": "次数用完", "expired": "授权到期", "tamper": "外壳被打开", "reboot": "设备重启", "closed": "授权结束",
    "approval_ttl": "批准后等待设备超时", "power": "上电", "watchdog": "看门狗复位", "hard": "硬件复位", "soft": "软件复位", "session_ended": "设备会话已更换", "window_passed": "授权时限已过",
    "device_blocked": "设备使用过本边缘从未签发的授权，已停止授权，须重新烧录后才能用印",
    "unknown_grant": "设备报告了未签发的授权号", "out_of_sequence": "设备的授权号超出本边缘签发的范围",
    "bad_mac": "授权签名不符", "other_device": "授权属于其他设备", "stale_session": "授权属于已结束的设备会话",
    "replayed": "授权号已用过", "from_future": "授权时间晚于设备时间", "malformed": "授权格式错误",
    "out_of_range": "授权的次数或时长超出范围", "busy": "设备正在执行其他授权", "store_full": "设备事件存储将满",
    "before_enrolment": "设备登记之前的事件", "dropped_by_device": "设备未保留这些事件",
    "no_route": "按识别的金额没有适用的审批路线", "route_impossible": "按识别的金额，审批路线上无人可审批",
}  # fmt: skip
#: Why an approval was refused: the kernel's routing rules', and the seal's hours (edge/seal/desk.py).
REFUSALS = {**REFUSAL_NAMES, "outside_hours": "用印时间外不能作最终审批"}
#: A refused approval on the request's page, in plain Chinese (the agent's own message is bilingual).
REFUSAL_MESSAGES = {
    "self_approval": "不能审批自己提交的申请。",
    "custodian_approval": "印章管理员不能审批其保管印章的用印。",
    "not_on_route": "您不在此申请的审批路线上。",
    "already_approved": "您已审批过此申请。",
    "not_pending": "申请已不在待审批状态，不能再审批。",
}
#: What a firmware release is built for (tools/release.py TARGETS).
TARGET_NAMES = {"xtensawin": "编译版", "source": "源码版"}


def reason_name(code: object) -> str:
    text = "" if code is None else str(code)
    if text.startswith("grant_refused:"):
        return f"设备拒绝授权（{reason_name(text.removeprefix('grant_refused:'))}）"
    return REASON_NAMES.get(text, text)


def _short(digest: object) -> str:
    """A hash or a key id as its first 12 hex digits: enough to tell releases apart on a page."""
    return str(digest)[:12]


def _firmware(k: str, b: dict[str, Any], device: str) -> str:
    """The release allow-list (from the central's signed configuration) and the flashing tool's records."""
    release = f"{b.get('version')}（安全版本 {b.get('security_version')}，{TARGET_NAMES.get(str(b.get('target')), b.get('target'))}"
    if k == P.FIRMWARE_ALLOWED:
        return f"固件 {release}，签名密钥 {_short(b.get('key_id'))}）获准使用，哈希 {_short(b['firmware_hash'])}"
    if k == P.FIRMWARE_REVOKED:
        return f"固件 {_short(b['firmware_hash'])} 被中心配置 {_short(b.get('config'))} 撤销，运行它的设备不再获得授权"
    if k == P.SECURITY_FLOOR:
        return f"中心配置 {_short(b.get('config'))} 将固件安全版本下限提高到 {b['min_security_version']}，低于它的固件不再获得授权"
    if k == P.FIRMWARE_FLASHED:
        provisioned = "，并写入新的设备身份" if b.get("provisioned") else ""
        return (
            f"{device} 刷写固件 {release}，{b.get('files')} 个文件，用时 {int(b.get('ms') or 0) / 1000:.1f} 秒）"
            f"，哈希 {_short(b['firmware_hash'])}{provisioned}"
        )
    return f"{device} 刷写固件 {b.get('version')} 失败：{b.get('reason')}"  # firmware.flash_failed


def _device_event(k: str, b: dict[str, Any], device: str, rid: str) -> str:
    """A board's own event, recorded as seal.<event kind> (edge/seal/devices.py)."""
    ev = b.get("event", {})
    text = f"{device} {P.KINDS[k]}"
    if k == "seal.press":
        text += f" 第 {ev.get('n')} 次（累计 {ev.get('total')}）{rid}"
    elif k == "seal.relocked":
        text += f"（{reason_name(ev.get('reason'))}" + (f"，已用 {ev.get('used')}）" if ev.get("used") is not None else "）")
    elif k == "seal.boot":
        text += f"（第 {ev.get('boots')} 次启动，{reason_name(ev.get('cause'))}）"
    elif k in ("seal.grant_refused", "seal.maintenance_refused"):
        text += f"（{reason_name(ev.get('reason'))}）"
    elif k == "seal.maintenance_open":
        text += f"（维护授权 #{ev.get('no')}，{ev.get('secs')} 秒）"
    elif k == "seal.overflow":
        text += f"：设备丢弃了 {ev.get('dropped')} 个事件"
    elif k == "seal.tamper":
        text += "：打开" if ev.get("active") else "：关闭"
    return text


def summarize(entry: Entry, config: Any) -> str | None:
    """The line for a seal entry (``config``: the village's ``EdgeConfig``, for the roster's names); None for a
    kind the seal does not declare."""
    k, b = entry.kind, entry.body
    if k not in P.KINDS:
        return None

    def who(person_id: Any) -> str:
        return person_name(config, person_id)

    device = str(b.get("device_name") or b.get("device") or b.get("device_id") or "")
    rid = b.get("request_id", "")
    if k == P.FILED:
        return (
            f"{who(b['applicant'])} 提交 {rid}：{SEAL_NAMES.get(b['seal'], b['seal'])}×{b['presses']}，"
            f"{yuan(int(b.get('amount_fen', 0)))}，{b.get('matter', '')}"
        )
    via = f"（{actor_name(b['account'])}）" if "account" in b else ""  # entries from before accounts were named have none
    if k == P.ROUTED:
        read = {"read": yuan(int(b.get("read_fen") or 0)), "no_amount": "未识别出金额"}.get(str(b.get("read")), "无法识别")
        text = f"{rid} 原件识别后定审批路线 {b['route']['rule']}：申报 {yuan(int(b.get('declared_fen', 0)))}，原件 {read}"
        return text + ("，金额不符，按较大金额审批" if b.get("anomaly") else "")
    if k == P.REGRANTED:
        return f"{who(b['approver'])}{via} 重新授权 {rid}（授权 #{b.get('after_grant_no')} 到期未用印，仅此一次）"
    if k == P.COMMENTED:
        return f"{who(b['approver'])}{via} 对 {rid} 的审批意见：{b.get('comment', '')}"
    if k == P.WITHDRAWN_KIND:
        return f"{who(b['applicant'])}{via} 撤销 {rid}"
    if k == P.HANDED_OVER:
        return f"{who(b['approver'])}{via} 将 {rid} 的审批转交给 {who(b['to'])}：{b.get('reason', '')}"
    if k == P.REMINDED:
        return f"{who(b['person'])}{via} 催办 {rid}：提醒 {'、'.join(who(a) for a in b.get('awaiting', []))}"
    if k == P.URGENT:
        return f"{who(b['applicant'])}{via} 申请在用印时间外加急用印 {rid}：{b.get('reason', '')}（共需 {b['route']['n']} 人同意）"
    if k in (P.DOCUMENT_OCR, P.PHOTO_OCR):
        what = f"{rid} 原件" if k == P.DOCUMENT_OCR else f"{rid} 第 {b.get('press_no')} 次盖章照片"
        if "error" in b:
            return f"{what}无法识别：{b['error']}"
        fields = b.get("fields") or (b.get("reading") or {}).get("fields") or {}
        amount = fields.get("amount_fen")
        return f"{what}识别：{fields.get('title') or '无标题'}，金额 {yuan(int(amount)) if isinstance(amount, int) else '未识别'}"
    if k == P.APPROVAL:
        return f"{who(b['approver'])}{via} 同意 {rid}（{b.get('count')}/{b.get('needed')}）"
    if k == P.APPROVED_KIND:
        return f"{rid} 审批通过：{'、'.join(who(a) for a in b.get('approvers', []))}"
    if k == P.REJECTED:
        return f"{who(b['approver'])}{via} 驳回 {rid}：{b.get('reason', '')}"
    if k == P.APPROVAL_REFUSED:
        text = f"{who(b['person'])}{via} 对 {rid} 的审批被拒绝：{REFUSALS.get(b.get('reason', ''), b.get('reason', ''))}"
        if b.get("attempt") is not None and b.get("attempt") == b.get("recorded_at_most"):
            text += f"（一小时内同一申请只记 {b['attempt']} 次，此后的不再记录）"
        return text
    if k == P.CLOSED:
        return f"{rid} 用印结束：已用 {b.get('presses_used')}/{b.get('presses_approved')} 次（{reason_name(b.get('reason'))}）"
    if k in (P.EXPIRED_KIND, P.FAILED_KIND):
        return f"{rid} {P.KINDS[k]}：{reason_name(b.get('reason', ''))}"
    if k == P.GRANT_ISSUED:
        return f"向 {device} 发出授权 #{b.get('no')}（{rid}，{b.get('presses')} 次，{b.get('valid_s')} 秒）"
    if k in (P.GRANT_UNSENT, P.GRANT_LAPSED):
        return f"授权 #{b.get('no')}（{rid}）{P.KINDS[k]}：{reason_name(b.get('reason', ''))}"
    if k == P.MAINTENANCE_ISSUED:
        return f"向 {device} 发出维护授权 #{b['no']}（{b.get('secs')} 秒）"
    if k.startswith(P.SEAL_PREFIX):
        return _device_event(k, b, device, rid)
    if k == P.DEVICE_ONLINE:
        lock = {"locked": "已上锁", "unlocked": "已解锁"}.get(str(b.get("lock")), str(b.get("lock")))
        return f"{device} 上线（{lock}，累计 {b.get('presses')} 次）"
    if k == P.DEVICE_OFFLINE:
        return f"{device} 离线"
    if k == P.DEVICE_ENROLLED:
        return f"登记设备 {b.get('name')}（{b.get('device_id')}）"
    if k == P.DEVICE_ROGUE_GRANT:
        return (
            f"{device} 使用了本边缘从未签发的授权 #{b.get('no')}（本边缘签发至 #{b.get('issued_upto')}，"
            f"{reason_name(b.get('reason'))}），停止向其授权，直至重新烧录"
        )
    if k == P.DEVICE_BLOCK_CLEARED:
        return f"{device} 已重新烧录写入新密钥，恢复授权（停止授权见台账第 {b.get('rogue_entry')} 条）"
    if k == P.DEVICE_MALFORMED_EVENT:
        return f"{device} 发来格式错误的事件 #{b.get('event_id')}（{b.get('problem')}），已记为异常并确认，不再重发；原文 {str(b.get('raw'))[:200]}"
    if k == P.DEVICE_EVENTS_LOST:
        return f"{device} 事件 {b.get('from')}–{b.get('to')} 丢失（{reason_name(b.get('reason'))}）"
    if k.startswith("firmware."):
        return _firmware(k, b, device)
    if k == P.PHOTO_CHECK:
        verdict = "与原件一致" if b.get("match") else "不符：" + "、".join(ANOMALY_NAMES.get(f, f) for f in b.get("flags", []))
        impression = b.get("impression") or {}
        if impression.get("flag") == "wrong_seal":
            read = impression.get("read_kind") or "无法辨认"
            verdict += f"（本机印章为{impression.get('expected_kind')}，印文的印章类型读作{read}）"
        return f"{rid} 第 {b.get('press_no')} 次盖章照片比对{verdict}（相似度 {(b.get('score_permille') or 0) / 10:.1f}%）"
    if k == P.PHOTO:
        return f"{rid} 第 {b.get('press_no')} 次盖章照片 {_short(b.get('sha256'))}"
    if k == P.CAPTURE_FAILED:
        return f"{rid} 第 {b.get('press_no')} 次盖章未拍到照片：{b.get('reason')}"
    if k in (PERSON_PHOTO, PERSON_CAPTURE_FAILED):
        when = f"{rid} {MOMENTS.get(str(b.get('moment')), b.get('moment'))}"
        if k == PERSON_CAPTURE_FAILED:
            return f"{when}未拍到盖章人：{b.get('reason')}"
        faces = "未核对人脸" if b.get("faces") is None else f"{b['faces']} 张人脸"
        return f"{when}盖章人照片 {_short(b.get('sha256'))}（{faces}）"
    if k == PERSON_PHOTO_DELETED:
        return f"{rid} 盖章人照片 {_short(b.get('sha256'))} 保存 {b.get('retention_days')} 天到期，图像已删除，哈希留存"
    if k in (P.AGENT_STARTED, P.AGENT_STOPPED):
        return f"边缘代理{'启动' if k == P.AGENT_STARTED else '停止'}" + (f"（{b['village']}）" if b.get("village") else "")
    return None  # a kind declared in KINDS but not worded yet (tests/test_seal_summary.py says which)
