"""户主大会 household assembly: the rules at their boundaries, the desk on a real agent (ledger first, then the
tables), hostile register files, the sign-in tokens, two tellers' tally sheets, the console's guards, the notice
board and the `qinglian assembly tally` contract."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from edge_support import config_for, qinglian, writer  # noqa: F401  (writer is a fixture)
from tables_support import xlsx

from edge.agent import EdgeAgent
from edge.kernel.db import WorkingDB
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.projection import apply_entries
from edge.ledger.localtime import SHANGHAI
from edge.modules import PARTS
from edge.modules.household_assembly import kinds as K
from edge.modules.household_assembly import rules, store, tokens
from edge.modules.household_assembly.demo import seed
from edge.modules.household_assembly.desk import AssemblyDesk

PHONE = "13912345678"
CADRES = ["沈国华", "钱丽萍", "金建平"]


# -- rules ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("num", "den", "shown"), [
    (813, 1000, "81.30"), (2, 3, "66.67"), (1, 160, "0.63"), (3, 160, "1.88"), (1, 1, "100.00"), (0, 7, "0.00"),
])  # fmt: skip
def test_rates_are_percent_with_two_decimals_rounded_half_up(num: int, den: int, shown: str) -> None:
    assert rules.percent(num, den) == shown  # 1/160 = 0.625 %: half up gives 0.63 (banker's rounding 0.62)


def test_the_honours_result_is_in_time_exactly_seven_days_before_and_not_six() -> None:
    meeting = date(2026, 12, 20)
    assert rules.honours_in_time(date(2026, 12, 13), meeting)
    assert not rules.honours_in_time(date(2026, 12, 14), meeting)
    assert rules.honours_in_time(date(2026, 11, 30), meeting)


def test_a_commitment_is_overdue_only_after_its_deadline_day_and_never_when_done() -> None:
    deadline = date(2026, 6, 30)
    assert not rules.overdue(deadline, 50, date(2026, 6, 30))
    assert rules.overdue(deadline, 50, date(2026, 7, 1))
    assert not rules.overdue(deadline, 100, date(2027, 1, 1))


def meeting_file(
    households: int, signed: int, ballots: dict[str, tuple[int, int, int]], line: str = "80"
) -> dict[str, Any]:
    ids = [f"H{n:03d}" for n in range(households)]
    return {
        "households": [{"id": i} for i in ids], "signed_in": ids[:signed], "line_percent": line,
        "ballots": [{"cadre": c, "rating": r} for c, counts in ballots.items() for r, n in zip(rules.RATINGS, counts) for _ in range(n)],
    }  # fmt: skip


def test_a_meeting_of_300_households_tallied_with_a_cadre_flagged_below_the_line() -> None:
    # 244 of 300 signed in: 81.33 %. 沈: 230/244 = 94.26 %; 钱: exactly 80.00 % (not below); 金: 79.92 % (flagged).
    result = rules.tally_meeting(
        meeting_file(300, 244, {"沈国华": (200, 30, 14), "钱丽萍": (120, 40, 40), "金建平": (150, 45, 49)})
    )
    assert result["attendance_rate"] == "81.33"
    assert [(c["cadre"], c["ballots"], c["satisfaction_rate"], c["flagged"]) for c in result["cadres"]] == [
        ("沈国华", 244, "94.26", False),
        ("钱丽萍", 200, "80.00", False),
        ("金建平", 244, "79.92", True),
    ]


@pytest.mark.parametrize(("meeting", "says"), [
    (meeting_file(10, 3, {"沈国华": (3, 1, 0)}), "多于签到的 3 户"),
    ({**meeting_file(3, 0, {}), "signed_in": ["H999"]}, "不是登记的户"),
    ({**meeting_file(3, 2, {}), "signed_in": ["H000", "H000"]}, "重复"),
    ({**meeting_file(3, 2, {}), "ballots": [{"cadre": "沈国华", "rating": "很好"}]}, "评议结果应为"),
    (meeting_file(3, 2, {"沈国华": (1, 0, 0)}, line="120"), "不能超过 100"),
    (meeting_file(3, 2, {"沈国华": (1, 0, 0)}, line="1e2"), "警戒线"),
    ({"households": []}, "非空列表"),
    ([], "JSON 对象"),
])  # fmt: skip
def test_a_bad_meeting_file_is_refused_with_a_reason(meeting: Any, says: str) -> None:
    with pytest.raises(rules.RuleError) as info:
        rules.tally_meeting(meeting)
    assert says in info.value.message


def test_the_tally_command_keeps_its_contract(tmp_path: Path) -> None:
    path = tmp_path / "meeting.json"
    path.write_text(
        json.dumps(meeting_file(1000, 813, {"沈国华": (700, 100, 13)}), ensure_ascii=False), encoding="utf-8"
    )
    done = qinglian("assembly", "tally", "--meeting", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"attendance_rate": "81.30", "cadres": [
        {"cadre": "沈国华", "ballots": 813, "satisfied": 700, "basically": 100, "dissatisfied": 13, "satisfaction_rate": "98.40", "flagged": False},
    ]}  # fmt: skip
    path.write_text(json.dumps(meeting_file(10, 2, {"沈国华": (3, 0, 0)})), encoding="utf-8")
    refused = qinglian("assembly", "tally", "--meeting", str(path), "--json")
    assert refused.returncode == 2 and "多于签到的 2 户" in refused.stderr
    path.write_text("{not json", encoding="utf-8")
    assert qinglian("assembly", "tally", "--meeting", str(path)).returncode == 2
    assert qinglian("assembly", "tally", "--meeting", str(tmp_path / "missing.json")).returncode == 2


# -- the desk on a real agent ---------------------------------------------------------------------------------------


class Clock:
    """The time the desk reads, moved by the test."""

    def __init__(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


def register(n: int, groups: int = 6) -> bytes:
    rows = ["户号,户主,人数,承包组,电话"] + [
        f"H{i:03d},户主{i},{i % 5 + 1},{i % groups + 1}组,{PHONE if i % 2 else ''}" for i in range(n)
    ]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def clock() -> Clock:
    return Clock(date(2026, 12, 1))


@pytest.fixture
def desk(writer: EdgeAgent, clock: Clock) -> AssemblyDesk:  # noqa: F811
    return AssemblyDesk(writer.recorder, tokens.token_key(writer), clock)


async def size(agent: EdgeAgent) -> int:
    return await agent.ledger.size()


async def test_a_register_imports_from_csv_and_xlsx_recording_only_changes(
    writer: EdgeAgent,  # noqa: F811
    desk: AssemblyDesk,
) -> None:
    assert await desk.import_register("名册.csv", register(300), "zhoumin") == 300
    assert await desk.import_register("名册.csv", register(300), "zhoumin") == 0  # the same file: nothing recorded
    data = xlsx(
        ["户号", "户主", "人数", "承包组", "电话"],
        ["H001", "户主一改名", 3, "2组", PHONE],  # a change
        [301, "新户", 2.0, "6组", None],  # a spreadsheet's numbers: 301 and 2.0
    )
    assert await desk.import_register("名册.xlsx", data, "zhoumin") == 2
    async with writer.recorder.step():
        households = await store.households(writer.db.conn)
    assert len(households) == 301 and households["H001"].head == "户主一改名" and households["301"].members == 2
    entries = await writer.ledger.entries(0, await size(writer))
    imports = [e for e in entries if e.kind == K.REGISTER_IMPORTED]
    assert [len(e.body["households"]) for e in imports] == [300, 2] and imports[1].body["by"] == "zhoumin"


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "says"), [
    ("名册.xlsx", b"PK\x03\x04 not really a zip", "无法读取 XLSX"),
    ("名册.xlsx", b"%PDF-1.4 a pdf renamed", "无法读取 XLSX"),
    ("名册.xlsx", zip_of({"readme.txt": b"a zip, not a workbook"}), "无法读取 XLSX"),
    ("名册.xlsx", zip_of({"xl/workbook.xml": b"<not xml", "[Content_Types].xml": b"<<<"}), "无法读取 XLSX"),
    ("名册.xlsx", zip_of({"big.bin": b"\0" * (21 << 20)}), "解压后过大"),
    ("名册.exe", b"MZ", "只接受 .csv 或 .xlsx"),
    ("名册.csv", b"", "空的"),
    ("名册.csv", b"x" * ((2 << 20) + 1), "文件太大"),
    ("名册.csv", "户号,户主,人数,承包组\nH1,=1+2,2,1组\n".encode(), "表格公式"),
    ("名册.csv", "户号,户主,人数,承包组\nH1,张三,2,1组\nH1,李四,3,1组\n".encode(), "第 3 行：户号 H1 重复"),
    ("名册.csv", "户号,户主,人数,承包组\nH1,张三,0,1组\n".encode(), "人数应为 1–50"),
    ("名册.csv", "户号,户主,人数,承包组\nH1,张三,９,1组\n".encode(), "人数应为 1–50"),
    ("名册.csv", "户号,户主,人数,承包组,电话\nH1,张三,2,1组,12345\n".encode(), "11 位手机号码"),
    ("名册.csv", "户号,户主,人数,承包组\nH1,张\u202e三,2,1组\n".encode(), "控制字符"),
    ("名册.csv", "户号,户主,承包组\nH1,张三,1组\n".encode(), "缺少「人数」"),
    ("名册.csv", "户号,户主,人数,承包组\nH 1,张三,2,1组\n".encode(), "户号只能用"),
    ("名册.csv", b"a,b\x00c\n", "二进制"),
    ("名册.xlsx", xlsx(["户号", "户主", "人数", "承包组"], ["H1", "张三", 99, "1组"]), "人数应为 1–50"),
    ("名册.csv", ("户号,户主,人数,承包组\n" + "".join(f"H{i},户主,2,1组\n" for i in range(5001))).encode(), "最多 5000 户"),
])  # fmt: skip
async def test_a_hostile_or_broken_register_file_is_refused_and_changes_nothing(
    writer: EdgeAgent,  # noqa: F811
    desk: AssemblyDesk,
    name: str,
    data: bytes,
    says: str,
) -> None:
    await desk.import_register("名册.csv", register(5), "zhoumin")
    before = await size(writer)
    with pytest.raises(InputError) as info:
        await desk.import_register(name, data, "zhoumin")
    assert says in info.value.message
    assert await size(writer) == before
    async with writer.recorder.step():
        assert len(await store.households(writer.db.conn)) == 5


async def test_a_gbk_csv_from_excel_is_read() -> None:
    from edge.modules.household_assembly.registerfile import read_rows

    rows = read_rows("名册.csv", "户号,户主,人数,承包组\nH1,张三,2,一组\n".encode("gb18030"))
    assert [h.head for h in rules.read_register(rows)] == ["张三"]


async def meeting_of(desk: AssemblyDesk, held_on: date, households: int = 300) -> str:
    await desk.import_register("名册.csv", register(households), "zhoumin")
    return await desk.create_meeting(held_on.isoformat(), "村文化礼堂", ["垃圾分类积分制"], CADRES, "zhoumin")


async def test_the_honours_result_exactly_seven_days_before_is_published_and_six_days_is_refused_on_record(
    writer: EdgeAgent,  # noqa: F811
    desk: AssemblyDesk,
    clock: Clock,
) -> None:
    mid = await meeting_of(desk, date(2026, 12, 20), 3)
    with pytest.raises(InputError, match="请先公示"):
        await desk.publish_honours(mid, "文明家庭：H001", "zhoumin")
    await desk.post_documents(mid, "全年收入 186 万元", "各组推荐、公示 7 天", "zhoumin")
    clock.now = datetime(2026, 12, 14, 0, 30, tzinfo=SHANGHAI).astimezone(
        UTC
    )  # 6 days before (13 Dec UTC, 14 Dec in the village)
    with pytest.raises(Refused) as info:
        await desk.publish_honours(mid, "文明家庭：H001", "zhoumin")
    assert info.value.code == "honours_late" and "至少 7 天" in info.value.message
    last = (await writer.ledger.entries(await size(writer) - 1, await size(writer)))[0]
    assert last.kind == K.HONOURS_REFUSED and last.body["on"] == "2026-12-14"
    clock.now = datetime(2026, 12, 13, 23, 59, tzinfo=SHANGHAI).astimezone(UTC)  # exactly 7 days before
    await desk.publish_honours(mid, "文明家庭：H001", "zhoumin")
    async with writer.recorder.step():
        m = await store.meeting(writer.db.conn, mid)
    assert m is not None and m["honours_result"] == "文明家庭：H001"
    assert m["agenda"] == [*rules.FIXED_AGENDA, "垃圾分类积分制"]


async def test_a_meeting_of_300_households_notices_sign_ins_tallies_and_results(
    writer: EdgeAgent,  # noqa: F811
    desk: AssemblyDesk,
) -> None:
    mid = await meeting_of(desk, date(2026, 12, 20))
    ids = [f"H{i:03d}" for i in range(300)]
    # Notices: 290 by the group leaders' hands, a second recording of the same households adds none.
    assert await desk.record_notices(mid, ids[:290], "hand", "zhoumin") == 290
    assert await desk.record_notices(mid, ids[:10], "sms", "zhoumin") == 0
    with pytest.raises(InputError, match="不在名册"):
        await desk.record_notices(mid, ["NOPE"], "hand", "zhoumin")
    async with writer.recorder.step():
        reached = await store.notices(writer.db.conn, mid)
    assert sorted(set(ids) - set(reached)) == ids[290:]

    # Sign-ins: by the household's QR token or ticked from the list; a proxy recorded as such.
    other = await desk.create_meeting("2027-12-19", "村文化礼堂", [], CADRES, "zhoumin")
    for i, hid in enumerate(ids[:244]):
        if i % 2:
            await desk.sign_in(mid, hid, "qr", "zhoumin", token=tokens.sign(desk.key, mid, hid))
        else:
            await desk.sign_in(mid, hid, "list", "zhoumin", proxy="张三" if i == 10 else "")
    before = await size(writer)
    for token, says in (
        (tokens.sign(desk.key, other, ids[250]), "二维码无效"),  # another meeting's token
        (tokens.sign(desk.key, mid, ids[251]), "二维码无效"),  # another household's token
        (tokens.sign(b"\x00" * 32, mid, ids[250]), "二维码无效"),  # signed with another key
        ("", "二维码无效"),
    ):
        with pytest.raises(InputError, match=says):
            await desk.sign_in(mid, ids[250], "qr", "zhoumin", token=token)
    with pytest.raises(InputError, match="已签到"):  # a reused token: the household is in already
        await desk.sign_in(mid, ids[1], "qr", "zhoumin", token=tokens.sign(desk.key, mid, ids[1]))
    with pytest.raises(InputError, match="已签到"):
        await desk.sign_in(mid, ids[1], "list", "zhoumin")
    assert await size(writer) == before
    async with writer.recorder.step():
        signed = await store.signins(writer.db.conn, mid)
    assert len(signed) == 244 and signed[ids[10]]["proxy"] == "张三" and signed[ids[1]]["how"] == "qr"

    # Questions against the cadre asked.
    qid = await desk.record_question(mid, "钱丽萍", "厂房租金为何下降？", "空置半年，已重新招租。", "zhoumin")
    with pytest.raises(InputError, match="评议名单"):
        await desk.record_question(mid, "不在名单的人", "?", "", "zhoumin")

    # Two tellers per tally sheet; the first entry alone counts for nothing.
    sheet1 = {"沈国华": [100, 15, 7], "钱丽萍": [75, 25, 22], "金建平": [75, 22, 25], rules.WORK: [110, 10, 2]}
    sheet2 = {"沈国华": [100, 15, 7], "钱丽萍": [75, 25, 22], "金建平": [75, 23, 24], rules.WORK: [112, 8, 2]}
    assert await desk.enter_tally(mid, 1, sheet1, "zhoumin") == "entered"
    with pytest.raises(InputError, match="另一名计票人"):
        await desk.enter_tally(mid, 1, sheet1, "zhoumin")
    with pytest.raises(InputError, match="未经第二名计票人复核"):
        await desk.publish_results(mid, "zhoumin")
    wrong = {**sheet1, "沈国华": [101, 15, 7]}
    with pytest.raises(Refused, match="两次录入不一致（沈国华）"):
        await desk.enter_tally(mid, 1, wrong, "sunli")
    mismatch = (await writer.ledger.entries(await size(writer) - 1, await size(writer)))[0]
    assert (mismatch.kind, mismatch.body["differs"], mismatch.body["teller"]) == (K.TALLY_MISMATCH, ["沈国华"], "sunli")
    assert await desk.enter_tally(mid, 1, sheet1, "sunli") == "entered"  # counted again: a first entry anew
    assert await desk.enter_tally(mid, 1, sheet1, "zhoumin") == "confirmed"
    with pytest.raises(InputError, match="0–9999"):
        await desk.enter_tally(mid, 2, {**sheet2, "沈国华": [-1, 0, 0]}, "zhoumin")
    await desk.enter_tally(mid, 2, sheet2, "zhoumin")
    assert await desk.enter_tally(mid, 2, sheet2, "sunli") == "confirmed"
    result = await desk.publish_results(mid, "zhoumin")
    assert result["attendance_rate"] == "81.33"
    rates = {c["cadre"]: (c["ballots"], c["satisfaction_rate"], c["flagged"]) for c in result["cadres"]}
    assert rates == {
        "沈国华": (244, "94.26", False),
        "钱丽萍": (244, "81.97", False),
        "金建平": (244, "79.92", True),
        rules.WORK: (244, "98.36", False),
    }
    # The published figures are what the command's function computes from the same counts.
    published = (await writer.ledger.entries(await size(writer) - 1, await size(writer)))[0]
    assert published.kind == K.RESULTS_PUBLISHED and published.body["result"] == result
    with pytest.raises(InputError, match="签到已结束"):
        await desk.sign_in(mid, ids[299], "list", "zhoumin")

    # The flagged cadre's talk with the township; no talk for one above the line.
    with pytest.raises(InputError, match="低于警戒线"):
        await desk.record_talk(mid, "沈国华", "约谈", "jiandu")
    await desk.record_talk(mid, "金建平", "镇纪委约谈，限期整改", "jiandu")
    assert qid == f"{mid}-Q001"


async def test_more_ballots_than_households_present_cannot_be_published(writer: EdgeAgent, desk: AssemblyDesk) -> None:  # noqa: F811
    mid = await meeting_of(desk, date(2026, 12, 20), 10)
    for hid in ("H000", "H001"):
        await desk.sign_in(mid, hid, "list", "zhoumin")
    counts = {c: [1, 1, 1] for c in [*CADRES, rules.WORK]}
    await desk.enter_tally(mid, 1, counts, "zhoumin")
    await desk.enter_tally(mid, 1, counts, "sunli")
    with pytest.raises(InputError, match="每户一票"):
        await desk.publish_results(mid, "zhoumin")


async def test_a_commitment_keeps_its_progress_history_and_is_flagged_overdue(
    writer: EdgeAgent,  # noqa: F811
    desk: AssemblyDesk,
    clock: Clock,
) -> None:
    mid = await meeting_of(desk, date(2026, 12, 20), 3)
    sid = await desk.record_suggestion(mid, "H001", "道路交通", "机耕路雨天积水", "zhoumin")
    with pytest.raises(InputError, match="没有这条意见"):
        await desk.make_commitment(mid, "硬化", "金建平", "2027-06-30", "zhoumin", "HA-2025-S001")
    cid = await desk.make_commitment(mid, "三组机耕路硬化 800 米", "金建平", "2027-06-30", "zhoumin", sid)
    await desk.report_progress(cid, "30", "完成测量", "zhoumin")
    await desk.report_progress(cid, 60, "路基完成", "zhoumin")
    with pytest.raises(InputError, match="不能倒退"):
        await desk.report_progress(cid, 50, "?", "zhoumin")
    with pytest.raises(InputError, match="0–100"):
        await desk.report_progress(cid, "101", "?", "zhoumin")
    with pytest.raises(NotFound):
        await desk.report_progress("HA-2026-C999", 10, "?", "zhoumin")
    async with writer.recorder.step():
        history = await store.progress_history(writer.db.conn, cid)
        (row,) = await store.commitments(writer.db.conn, mid)
    assert [(h["progress"], h["note"]) for h in history] == [(30, "完成测量"), (60, "路基完成")]
    assert row["progress"] == 60 and row["suggestion"] == f"{mid}-S001"
    assert not rules.overdue(date.fromisoformat(row["deadline"]), row["progress"], date(2027, 6, 30))
    assert rules.overdue(date.fromisoformat(row["deadline"]), row["progress"], date(2027, 7, 1))


async def test_the_demo_is_idempotent_and_its_tables_are_a_projection_of_the_ledger(
    writer: EdgeAgent,  # noqa: F811
    tmp_path: Path,
) -> None:
    await seed(writer)
    seeded = await size(writer)
    await seed(writer)  # a second demo run adds nothing
    assert await size(writer) == seeded
    tables = ("ha_households", "ha_meetings", "ha_suggestions", "ha_notices", "ha_signins", "ha_questions", "ha_sheets",
              "ha_talks", "ha_commitments", "ha_progress")  # fmt: skip

    async def dump(db: WorkingDB) -> dict[str, list[Any]]:
        out = {}
        for t in tables:
            async with db.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2") as cur:
                out[t] = [tuple(r) for r in await cur.fetchall()]
        return out

    async with writer.recorder.step():
        before = await dump(writer.db)
    assert len(before["ha_households"]) == 240 and len(before["ha_signins"]) == 195 and len(before["ha_meetings"]) == 2
    (tmp_path / "replay").mkdir()
    replay = await WorkingDB.open(tmp_path / "replay", PARTS)  # an empty database, given the whole ledger
    try:
        await apply_entries(replay, await writer.ledger.entries(0, seeded))
        assert await dump(replay) == before and await replay.projection_anomalies() == []
    finally:
        await replay.close()


def test_the_configured_formula_and_line() -> None:
    from edge.kernel.errors import ConfigError
    from edge.kernel.toml import Table
    from edge.modules.household_assembly.settings import Settings, parse

    assert parse(Table({}, "household_assembly")) == Settings("satisfied_and_basic", "80")
    assert parse(Table({"formula": "satisfied_only", "line_percent": "85.5"}, "household_assembly")) == Settings(
        "satisfied_only", "85.5"
    )
    for bad in ({"formula": "average"}, {"line_percent": "101"}, {"line_percent": 80}, {"colour": "red"}):
        with pytest.raises(ConfigError):
            parse(Table(bad, "household_assembly"))
    tally = rules.Tally("沈国华", 160, 30, 10)
    assert tally.rate() == "95.00" and tally.rate("satisfied_only") == "80.00"
    flagged = rules.result(300, 200, [tally], rules.line_percent("85.5"), "satisfied_only")["cadres"][0]
    assert (flagged["satisfaction_rate"], flagged["flagged"]) == ("80.00", True)


async def test_a_meeting_keeps_the_formula_it_was_created_with(writer: EdgeAgent, desk: AssemblyDesk) -> None:  # noqa: F811
    await desk.import_register("名册.csv", register(4), "zhoumin")
    mid = await desk.create_meeting("2026-12-20", "礼堂", [], ["沈国华"], "zhoumin", "90", "satisfied_only")
    for hid in ("H000", "H001", "H002"):
        await desk.sign_in(mid, hid, "list", "zhoumin")
    counts = {"沈国华": [2, 1, 0], rules.WORK: [3, 0, 0]}
    await desk.enter_tally(mid, 1, counts, "zhoumin")
    await desk.enter_tally(mid, 1, counts, "sunli")
    result = await desk.publish_results(mid, "zhoumin")
    assert [(c["cadre"], c["satisfaction_rate"], c["flagged"]) for c in result["cadres"]] == [
        ("沈国华", "66.67", True),
        (rules.WORK, "100.00", False),
    ]
    with pytest.raises(InputError, match="计算方式"):
        await desk.create_meeting("2027-12-20", "礼堂", [], ["沈国华"], "zhoumin", "90", "average")
