"""Chinese numerals: amounts in capitals (大写) and dates, both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.ocr.fields import capitals_agree, extract_fields, is_field_line
from edge.ocr.places import COUNTIES
from edge.ocr.townships import TOWNSHIPS
from edge.ocr.numerals import (
    MAX_FEN,
    date_to_chinese,
    fen_to_capital,
    fen_to_figures,
    find_dates,
    parse_capital,
    parse_date,
    parse_figures,
)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (2_850_000, "贰万捌仟伍佰元整"),
        (100, "壹元整"),
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (1_000, "壹拾元整"),
        (1_050, "壹拾元零伍角整"),
        (1_205, "壹拾贰元零伍分"),
        (168_032, "壹仟陆佰捌拾元零叁角贰分"),
        (100_010_000, "壹佰万零壹佰元整"),
        (10_001_000_000, "壹亿零壹万元整"),
        (10_100_000_000, "壹亿零壹佰万元整"),
    ],
)
def test_capitals_written_like_a_cheque(fen: int, text: str) -> None:
    assert fen_to_capital(fen) == text
    assert parse_capital(text) == fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("人民币贰万捌仟伍佰元整", 2_850_000),
        ("拾万元整", 10_000_000),
        ("贰万捌仟伍佰圆正", 2_850_000),
        ("二万八千五百元整", 2_850_000),
        ("伍角", 50),
        ("壹佰元伍角", 10_050),
        ("两千元", 200_000),
    ],
)
def test_capitals_read_leniently(text: str, fen: int) -> None:
    assert parse_capital(text) == fen


@pytest.mark.parametrize(
    "text", ["", "贰贰元", "佰元", "伍零元", "元整", "壹仟佰元", "万元", "壹万壹万元", "abc", "壹元零角"]
)
def test_capitals_refuse_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError):
        parse_capital(text)


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_capitals_round_trip(fen: int) -> None:
    assert parse_capital(fen_to_capital(fen)) == fen


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.integers(min_value=0, max_value=10**12))
def test_figures_round_trip(fen: int) -> None:
    assert parse_figures(fen_to_figures(fen)) == fen


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_chinese_dates_round_trip(date: dt.date) -> None:
    assert parse_date(date_to_chinese(date)) == date
    assert parse_date(f"{date.year}年{date.month}月{date.day}日") == date


def test_dates_in_text() -> None:
    assert date_to_chinese(dt.date(2026, 11, 28)) == "二〇二六年十一月二十八日"
    assert parse_date("签订日期：二〇二六年十一月二十八日") == dt.date(2026, 11, 28)
    assert parse_date("2026-11-28") == dt.date(2026, 11, 28)
    text = "生效 2026年1月5日，签订日期：二〇二六年十月一日"
    assert [d for _, d in find_dates(text)] == [dt.date(2026, 1, 5), dt.date(2026, 10, 1)]
    assert find_dates("2026年13月40日") == []


def test_figures() -> None:
    assert parse_figures("28,500.00") == 2_850_000
    assert parse_figures("￥２８５００.5") == 2_850_050
    with pytest.raises(ValueError):
        parse_figures("28,50,0")


def test_fields_cross_check_figures_and_capitals() -> None:
    text = """村道硬化工程施工合同
甲方：青山村股份经济合作社
乙方：浙江宏达建设工程有限公司
合同金额：人民币28,500.00元（¥28,500.00）
大写金额：人民币贰万捌仟伍佰元整
签订日期：二〇二六年十一月二十八日"""
    f = extract_fields(text)
    assert f.public() == {
        "title": "村道硬化工程施工合同",
        "parties": {"party_a": "青山村股份经济合作社", "party_b": "浙江宏达建设工程有限公司"},
        "amount_fen": 2_850_000,
        "date": "2026-11-28",
    }
    assert f.amounts_agree is True
    # the label misread (申方, as Tesseract does now and then) still names party A; a body line does not
    misread = extract_fields(text.replace("甲方：", "申方：") + "\n甲方所在地人民法院起诉。")
    assert misread.party_a == "青山村股份经济合作社"
    assert extract_fields("由方便群众的原则出发\n甲方：青山村").party_a == "青山村"
    changed = extract_fields(text.replace("贰万捌仟伍佰元整", "叁万捌仟伍佰元整"))
    assert changed.amounts_agree is False
    # a reader that lost the head of the amount to a seal ring still agrees; a different tail does not
    assert capitals_agree(2_850_000, "捌仟伍佰元整")
    assert not capitals_agree(2_850_000, "捌仟陆佰元整")


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("签订日期：二二六年六月六日", "2026-06-06"),  # the small circle 〇 dropped
        ("签订日期：卫，二六年三月二日", "2026-03-02"),  # 二〇 lost to a seal's ring
        ("签订日期：三”二七年六月七日", "2027-06-07"),  # 二 read as 三: 3027 is no village document's year
        ("签订日期：二”二六年十月才五日", "2026-10-15"),  # 才 for 十
        ("签订日期：二、，二七年十月二十九日", "2027-10-29"),  # 二〇 as three marks
        ("签订日期:二、，”二七年十月二十九日", None),  # four: the head of the year is not guessed from so little
        ("签订日期，二〇二六年十二月十九日", "2026-12-19"),  # the label's colon read as a comma
        ("签订日期，二，二六年十二月十九日", "2026-12-19"),  # and 〇 too
        ("签订日期。2026年9月7日", "2026-09-07"),
        ("签订日期：一九九八年三月二日", "1998-03-02"),  # a year that reads is taken as it is
        ("签订日期：2027年蝉月29日", None),  # no month: no date, rather than a guess
        ("签订日期：二六年", None),
    ],
)
def test_the_signing_date_survives_a_garbled_year(line: str, date: str | None) -> None:
    assert extract_fields(f"村道硬化工程施工合同\n{line}").date == date


def test_a_readable_date_is_not_mended() -> None:
    # The mending is only tried when nothing on the page reads as a date of a village document.
    assert extract_fields("生效 2026年1月5日\n签订日期：二二六年六月六日").date == "2026-01-05"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("甲方：青山村股份经济合作社", True),
        ("乙方;浙江宏达建设工程有限公司", True),  # the colon read as a semicolon
        ("甲方，德清县莫干山镇桃源村股份经济合作社", True),  # or as a comma
        ("申方:青山村股份经济合作社", True),  # 甲 read as 申
        ("签订日期：二〇二六年十一月二十八日", True),
        ("日期:2026年1月5日", True),
        ("甲方（盖章）：", False),  # the signature block states no party
        ("乙方(盖章):", False),
        ("乙方应按照甲方确认的图纸和工程量清单组织施工", False),  # body text that opens with a party
        ("由方便群众的原则出发", False),
        ("合同金额：人民币28,500.00元", False),
    ],
)
def test_the_lines_that_carry_a_party_or_the_date(line: str, field: bool) -> None:
    assert is_field_line(line) is field


@pytest.mark.parametrize(
    ("read", "party"),
    [
        ("桐访县富春江镇青山村股份经济合作社", "桐庐县富春江镇青山村股份经济合作社"),  # one character off 桐庐县
        ("桐庐县富春江镇青山村股份经济合作社", "桐庐县富春江镇青山村股份经济合作社"),
        ("桐访县访问咨询有限公司", "桐访县访问咨询有限公司"),  # not a village collective's name: left as read
        ("杭州市余杭区良渚街道白沙村股份经济合作社", "杭州市余杭区良渚街道白沙村股份经济合作社"),  # never 嵊州市
        ("访庐县富春江镇青山村股份经济合作社", "桐庐县富春江镇青山村股份经济合作社"),
        ("桐访区富春江镇青山村股份经济合作社", "桐访区富春江镇青山村股份经济合作社"),  # two off 桐庐县: no guess
    ],
)
def test_a_misread_county_of_the_village_collective_is_mended(read: str, party: str) -> None:
    assert extract_fields(f"甲方：{read}\n乙方：浙江宏达建设工程有限公司").party_a == party


@pytest.mark.parametrize(
    ("read", "party"),
    [
        # one character changed, added or left out of the county's own township, up to its 镇, 乡 or 街道
        ("德清县黄干山镇竹林村股份经济合作社", "德清县莫干山镇竹林村股份经济合作社"),
        ("淳安县干岛湖镇石门村股份经济合作社", "淳安县千岛湖镇石门村股份经济合作社"),
        ("安吉县天荒坪和镇桃源村股份经济合作社", "安吉县天荒坪镇桃源村股份经济合作社"),
        ("德清县莫干镇竹林村股份经济合作社", "德清县莫干山镇竹林村股份经济合作社"),
        ("余杭区良诸街道白沙村股份经济合作社", "余杭区良渚街道白沙村股份经济合作社"),
        ("杭州市余杭区良诸街道白沙村股份经济合作社", "杭州市余杭区良渚街道白沙村股份经济合作社"),  # after the prefecture
        ("桐访县富春江人镇青山村股份经济合作社", "桐庐县富春江镇青山村股份经济合作社"),  # the county first, then this
        # left as read: a real township (a neighbouring collective's), two characters off, another county's, or
        # one character from two of the county's townships
        ("上虞区章镇镇青山村股份经济合作社", "上虞区章镇镇青山村股份经济合作社"),
        ("德清县黄干川镇竹林村股份经济合作社", "德清县黄干川镇竹林村股份经济合作社"),
        ("桐庐县莫干山镇竹林村股份经济合作社", "桐庐县莫干山镇竹林村股份经济合作社"),
        ("婺城区城边街道青山村股份经济合作社", "婺城区城边街道青山村股份经济合作社"),
        ("德清县黄干山填竹林村股份经济合作社", "德清县黄干山填竹林村股份经济合作社"),  # the 镇 itself misread: no anchor
    ],
)
def test_a_misread_township_of_the_village_collective_is_mended(read: str, party: str) -> None:
    assert extract_fields(f"甲方：{read}\n乙方：浙江宏达建设工程有限公司").party_a == party


def test_the_township_list_is_zhejiang_s_by_county() -> None:
    assert set(TOWNSHIPS) == COUNTIES - {"龙港市"}  # 龙港市 administers its communities directly
    assert sum(map(len, TOWNSHIPS.values())) == 1360
    assert all(t.endswith(("镇", "乡", "街道")) for towns in TOWNSHIPS.values() for t in towns)
    assert {"莫干山镇", "千岛湖镇", "富春江镇", "天荒坪镇", "良渚街道"} <= set().union(*TOWNSHIPS.values())


def test_party_b_is_never_mended() -> None:
    """乙方 may be from another province: Anhui's 桐城市 is one character from Zhejiang's 桐乡市."""
    fields = extract_fields("甲方：桐访县富春江镇青山村股份经济合作社\n乙方：桐城市孔城镇桐城村股份经济合作社")
    assert fields.party_a == "桐庐县富春江镇青山村股份经济合作社"
    assert fields.party_b == "桐城市孔城镇桐城村股份经济合作社"
