"""`make demo`: a believable village's household assembly, seeded through the module's own desk.

Two hundred and forty households in eight groups (imported from a CSV file as a village would), last year's meeting held with
its sign-ins, questions, two tellers' tally sheets, published results, a township talk and commitments in
progress (one overdue), and this year's meeting eight days ahead: documents and honours posted, most
households notified, ready to sign in. A second run finds last year's meeting and adds nothing.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import edge.modules.household_assembly.rules as rules  # noqa: PLR0402
import edge.modules.household_assembly.store as store  # noqa: PLR0402
import edge.modules.household_assembly.tokens as tokens  # noqa: PLR0402
from edge.modules.household_assembly.desk import AssemblyDesk

GROUPS = ("一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组")
PER_GROUP = 30
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗"
GIVEN = (
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "国平",
    "美华",
    "海军",
    "玉芳",
    "永明",
    "金花",
    "伟东",
    "春梅",
    "德明",
    "雪琴",
    "林峰",
)
CADRES = ("沈国华", "钱丽萍", "金建平")
STAFF, SECOND_TELLER, TOWNSHIP = "zhoumin", "sunli", "jiandu"  # edge/web/demo.py's accounts


def register_csv(rng: random.Random) -> bytes:
    lines = ["户号,户主,人数,承包组,电话"]
    for n in range(len(GROUPS) * PER_GROUP):
        group = GROUPS[n // PER_GROUP]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.8 else ""
        lines.append(f"G{n // PER_GROUP + 1}-{n % PER_GROUP + 1:02d},{name},{rng.randint(1, 6)},{group},{phone}")
    return ("\n".join(lines) + "\n").encode()


def _sheet(satisfied: int, basically: int, dissatisfied: int) -> list[int]:
    return [satisfied, basically, dissatisfied]


async def seed(host: Any) -> None:
    desk = AssemblyDesk(host.recorder, tokens.token_key(host), host.desk.clock)
    today = desk.today()
    this_day = today + timedelta(days=8)
    last_day = this_day.replace(year=this_day.year - 1, month=12, day=18)
    async with host.recorder.step():
        done = await store.meeting(host.db.conn, f"HA-{last_day.year}") is not None
    if done:
        return
    rng = random.Random(2026)
    await desk.import_register("村户籍名册.csv", register_csv(rng), STAFF)
    async with host.recorder.step():
        households = list(await store.households(host.db.conn))

    # Last year's meeting, held.
    last = await desk.create_meeting(
        last_day.isoformat(), "港口村文化礼堂", ["美丽乡村建设", "村规民约修订"], CADRES, STAFF
    )
    await desk.post_documents(last, "全年集体经营性收入 186 万元，支出 142 万元；完成村道硬化 2.3 公里、污水管网改造 1 处。",
                              "各组推荐、村两委审核、公示 7 天：评选文明家庭 5 户、好婆媳 2 对。", STAFF)  # fmt: skip
    await desk.record_notices(last, households, "hand", STAFF)
    road = await desk.record_suggestion(
        last, households[3], "道路交通", "三组到主路的机耕路雨天积水，希望硬化。", STAFF
    )
    river = await desk.record_suggestion(last, "", "水利环境", "河道保洁次数太少，夏天有异味。", STAFF)
    present = households[:195]  # 195 of 240: 81.25%
    for i, hid in enumerate(present):
        if i % 3 == 0:
            await desk.sign_in(last, hid, "qr", STAFF, token=tokens.sign(desk.key, last, hid))
        else:
            await desk.sign_in(last, hid, "list", STAFF, proxy="代签家属" if i in (5, 17, 29) else "")
    await desk.record_question(
        last, CADRES[1], "去年的集体资产出租收入为什么比前年少？", "两处厂房空置半年，今年已重新招租。", STAFF
    )
    await desk.record_question(last, CADRES[2], "机耕路硬化什么时候动工？", "列入明年计划，春耕前完成。", STAFF)
    sheets = (
        {CADRES[0]: _sheet(80, 16, 4), CADRES[1]: _sheet(68, 24, 8), CADRES[2]: _sheet(48, 28, 24), rules.WORK: _sheet(84, 12, 4)},
        {CADRES[0]: _sheet(76, 15, 4), CADRES[1]: _sheet(64, 23, 8), CADRES[2]: _sheet(44, 27, 24), rules.WORK: _sheet(80, 11, 4)},
    )  # fmt: skip
    for n, counts in enumerate(sheets, 1):
        await desk.enter_tally(last, n, counts, STAFF)
        await desk.enter_tally(last, n, counts, SECOND_TELLER)
    await desk.publish_results(last, STAFF)
    await desk.record_talk(
        last, CADRES[2], "镇纪委约谈：机耕路建设承诺未兑现，限期整改并在下次户主大会报告。", TOWNSHIP
    )
    made = [
        await desk.make_commitment(
            last, "三组机耕路硬化 800 米", CADRES[2], (today - timedelta(days=20)).isoformat(), STAFF, road
        ),
        await desk.make_commitment(
            last, "河道保洁由每月 2 次增至每周 1 次", CADRES[1], (today - timedelta(days=60)).isoformat(), STAFF, river
        ),
        await desk.make_commitment(
            last, "村务公开栏增设集体收支月报", CADRES[0], (today + timedelta(days=30)).isoformat(), STAFF
        ),
    ]
    for cid, steps in zip(
        made,
        (
            ((30, "完成测量与预算"), (60, "路基完成")),
            ((50, "保洁合同续签"), (100, "已按周保洁三个月")),
            ((40, "公开栏已安装"),),
        ),
        strict=True,
    ):
        for value, note in steps:
            await desk.report_progress(cid, value, note, STAFF)

    # This year's meeting, eight days ahead: ready to sign in.
    this = await desk.create_meeting(this_day.isoformat(), "港口村文化礼堂", ["垃圾分类积分制"], CADRES, STAFF)
    await desk.post_documents(this, "全年集体经营性收入 203 万元，支出 151 万元；机耕路路基完成，河道保洁改为每周一次。",
                              "各组推荐、村两委审核：评选文明家庭 5 户、最美庭院 3 户。", STAFF)  # fmt: skip
    await desk.publish_honours(
        this, "文明家庭：G1-03、G2-07、G3-01、G4-05、G6-02；最美庭院：G2-02、G5-08、G6-09", STAFF
    )
    await desk.record_notices(this, households[:220], "hand", STAFF)
    await desk.record_suggestion(this, households[12], "集体经济", "空置厂房能否改作农产品冷库出租？", STAFF)
