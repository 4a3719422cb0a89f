"""`make demo`: a station with its 1+2+N team, last year's closed clues and rating, and this year's clues at
every step of the loop (one past its 7-day acknowledgement, which the tick flags), seeded through the desk as
the team's own steps would be. Adds nothing when the station is already there.

The head's key passphrase is the demo accounts' shared password (printed at start). With no township key in
the config, the demo makes one and keeps its private half, wrapped by the same passphrase, at
``DATA/whistleblower/demo-township-key.pem``: in a real deployment that half lives only at the central store.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import edge.modules.whistleblower.crypto as crypto
import edge.modules.whistleblower.projection as P
from edge.ledger.localtime import SHANGHAI
from edge.ledger.private import open_private, private_dir
from edge.modules.whistleblower.desk import WhistleDesk, now_of
from edge.modules.whistleblower.kinds import NAME
from edge.modules.whistleblower.settings import settings_of

ACCOUNTS_FILE = "demo-accounts.json"  # edge.web.demo writes the demo accounts' password there first
ROSTER = (
    ("head", "zhoujian", "周建", "veteran"), ("liaison", "wuxia", "吴霞", "committee"), ("liaison", "sunqiang", "孙强", "representative"),
    ("informant", "zhengli", "郑丽", "representative"), ("informant", "qiandefu", "钱德福", "veteran"), ("informant", "fenghua", "冯华", "worthy"),
)  # fmt: skip
HEAD = "zhoujian"


def passphrase_of(host: Any) -> str:
    path = host.config.data_dir / ACCOUNTS_FILE
    if path.exists():
        return str(json.loads(path.read_text(encoding="utf-8"))["password"])
    return "qinglian-demo"


def _township(host: Any, passphrase: str) -> str:
    """The township officer's public key: the config's, or a demo one made here."""
    configured = settings_of(host.config).township_public_key
    if configured:
        return configured
    key = X25519PrivateKey.generate()
    private_dir(host.config.data_dir / NAME)
    with open_private(host.config.data_dir / NAME / "demo-township-key.pem") as f:
        f.write(crypto.wrap_private(key, passphrase))
    return crypto.public_text(key.public_key())


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


async def seed(host: Any) -> None:
    async with host.recorder.step():
        if await P.station(host.db.conn) is not None:
            return
    passphrase = passphrase_of(host)
    sections = {
        **host.config.sections,
        NAME: replace(settings_of(host.config), township_public_key=_township(host, passphrase)),
    }
    desk = WhistleDesk(host.recorder, replace(host.config, sections=sections))
    await desk.save_station(
        "青莲村监察工作联络站", [{"role": r, "id": i, "name": n, "group": g} for r, i, n, g in ROSTER]
    )
    await desk.set_keys(HEAD, passphrase)
    key = await desk.unlock(HEAD, passphrase)
    now = now_of(host)
    last = now.year - 1

    async def loop(filed: Any, received: datetime, upto: str, confirmed: bool = True, solved: bool = True) -> None:
        steps = ("acknowledge", "review", "verify", "resolve", "feedback")
        for n, step in enumerate(steps[: steps.index(upto) + 1], 1):
            at = received + timedelta(days=3 * n)
            if step == "acknowledge":
                await desk.acknowledge(filed.id, HEAD, at)
            elif step == "review":
                attendees = ["zhoujian", "wuxia", "sunqiang"]
                await desk.review_meeting(
                    HEAD, at.astimezone(SHANGHAI).date(), attendees, [filed.id], "逐条研判，明确核实责任人和时限。", at
                )
            elif step == "verify":
                await desk.verify(
                    filed.id,
                    HEAD,
                    "联络员走访当事人并查阅村账，情况基本属实。"
                    if confirmed
                    else "查阅台账与现场核对，未发现所反映问题。",
                    at,
                )
            elif step == "resolve":
                reasons = "已责令整改并在村务公开栏补充公示。" if confirmed else "经核实，反映情况与事实不符。"
                await desk.resolve(filed.id, HEAD, "confirmed" if confirmed else "dismissed", solved, reasons, at)
            else:
                await desk.feedback(
                    filed.id,
                    HEAD,
                    "您反映的问题已核实处理，感谢您的监督。" if confirmed else "经核实未发现问题，感谢您的关心。",
                    key,
                    at,
                )

    # Last year: closed clues, then the year's rating run.
    for day, who, text, confirmed in (
        (date(last, 3, 12), "zhengli", "村东头水塘承包费连续三年没有公示，承包人是村委委员的亲戚。", True),
        (date(last, 6, 5), "zhengli", "村里公益林补助发放名单中有已去世多年的村民。", True),
        (date(last, 8, 20), "fenghua", "村文化礼堂修缮工程的材料费报账单价明显高于市场价。", True),
        (date(last, 10, 9), "sunqiang", "有人反映村干部在集体土地流转中收受好处。", False),
    ):  # fmt: skip
        received = _at(day)
        filed = await desk.file_clue("team", text, received, by=who)
        await loop(filed, received, "feedback", confirmed, solved=confirmed)
    await desk.qa_meeting(HEAD, date(last, 11, 18), ["zhoujian", "wuxia", "sunqiang"], 46, 9, 8,
                          "围绕低保评定、道路硬化工程和集体资产出租答疑，当场答复 8 个问题，1 个问题会后 7 日内书面答复。", _at(date(last, 11, 18)))  # fmt: skip
    await desk.rate(HEAD, last, host.ledger, min(now, _at(date(now.year, 1, 8))))

    # This year: clues at each step of the loop.
    this_year: tuple[tuple[int, str, str | None, str, str | None], ...] = (
        (100, "team", "qiandefu", "村道硬化工程验收时，施工方实际铺设长度比合同少约 50 米。", "feedback"),
        (40, "team", "zhengli", "村集体仓库出租给外村人，租金收入没有入村集体账。", "verify"),
        (20, "public", None, "低保名单里有一户家里常年开着小轿车，还在镇上有商铺。", "acknowledge"),
        (9, "public", None, "村里发放的防汛物资有一部分被拉到了村干部亲戚家里。", None),
        (2, "liaison", "wuxia", "村民反映：宅基地审批时有人要求送礼才给盖章。", None),
    )
    for days, source, collector, text, upto in this_year:
        received = now - timedelta(days=days)
        reporter = {"name": "陈阿婆", "phone": ""} if source == "liaison" else None
        filed = await desk.file_clue(source, text, received, reporter, by=collector)
        if upto is not None:
            await loop(filed, received, upto)
    year_plan = {"zhoujian": 20, "wuxia": 40, "sunqiang": 40, "zhengli": 30, "qiandefu": 30, "fenghua": 20}
    await desk.plan_visits(HEAD, now.astimezone(SHANGHAI).year, year_plan, now)
    for days, member, households in (
        (60, "wuxia", 8),
        (45, "sunqiang", 6),
        (33, "zhengli", 5),
        (12, "wuxia", 7),
        (5, "qiandefu", 4),
    ):
        await desk.record_visit(
            member, member, (now - timedelta(days=days)).astimezone(SHANGHAI).date(), households, now
        )
    qa_day = (now - timedelta(days=30)).astimezone(SHANGHAI).date()
    await desk.qa_meeting(HEAD, qa_day, ["zhoujian", "wuxia", "sunqiang", "zhengli"], 38, 7, 7,
                          "就村集体仓库出租、防汛物资发放和宅基地审批流程答疑，7 个问题全部当场答复。", _at(qa_day))  # fmt: skip
