"""Zhejiang's place names, to mend one misread character of the county or township of a village's own collective.

A village collective's name runs county, township, village: 桐庐县富春江镇青山村股份经济合作社. Tesseract
reads a county's rarer characters wrong now and then (桐访县 for 桐庐县: 100 photographed pages of the OCR
benchmark, seeds 1000-1099, had 7 such out of 17 misread parties). The county-level divisions of the
province are few and fixed, so a county one character away from exactly one of them is that one. Cities at
the prefecture level are listed too, so 杭州市 is known as it is and never taken for 嵊州市. Only a name
in Zhejiang may be mended so: 桐城市 (in Anhui) is one character from 桐乡市 too.
"""

from __future__ import annotations

import re

from edge.ocr.townships import TOWNSHIPS

# The 90 county-level divisions of Zhejiang (2021 onwards: 临平区, 钱塘区, 龙港市), by prefecture.
COUNTIES = frozenset(
    """
    上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区 钱塘区 富阳区 临安区 桐庐县 淳安县 建德市
    海曙区 江北区 北仑区 镇海区 鄞州区 奉化区 象山县 宁海县 余姚市 慈溪市
    鹿城区 龙湾区 瓯海区 洞头区 永嘉县 平阳县 苍南县 文成县 泰顺县 瑞安市 乐清市 龙港市
    南湖区 秀洲区 嘉善县 海盐县 海宁市 平湖市 桐乡市
    吴兴区 南浔区 德清县 长兴县 安吉县
    越城区 柯桥区 上虞区 新昌县 诸暨市 嵊州市
    婺城区 金东区 武义县 浦江县 磐安县 兰溪市 义乌市 东阳市 永康市
    柯城区 衢江区 常山县 开化县 龙游县 江山市
    定海区 普陀区 岱山县 嵊泗县
    椒江区 黄岩区 路桥区 三门县 天台县 仙居县 温岭市 临海市 玉环市
    莲都区 青田县 缙云县 遂昌县 松阳县 云和县 庆元县 景宁畲族自治县 龙泉市
    """.split()
)
PREFECTURES = frozenset("杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 衢州市 舟山市 台州市 丽水市".split())

# County, then a township (镇, 乡 or 街道), then a village: the shape of a village collective's name.
_COLLECTIVE = re.compile(r"(.{2,6}?[县区市])(?=.+?(?:镇|乡|街道).+?村)")


def _one_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def mend_county(name: str) -> str:
    """``name`` with its county mended when it is one character away from exactly one county of Zhejiang."""
    m = _COLLECTIVE.match(name)
    if m is None:
        return name
    county = m.group(1)
    if county in COUNTIES or county in PREFECTURES:
        return name
    near = [known for known in COUNTIES | PREFECTURES if _one_apart(county, known)]
    if len(near) != 1 or near[0] in PREFECTURES:
        return name
    return near[0] + name[len(county) :]


def _one_edit(a: str, b: str) -> bool:
    """One character changed, added or left out."""
    if len(a) == len(b):
        return _one_apart(a, b)
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) == 1 and any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def mend_township(name: str) -> str:
    """``name`` with its township mended when the county is one of Zhejiang's and what follows it starts with no
    township of that county but, up to the same 镇, 乡 or 街道, is one character away (changed, added or left out)
    from exactly one.

    Mended only toward the county's own townships (about 15 each, :data:`TOWNSHIPS`), never across counties, and
    a name that starts with a real township is left as read: a neighbouring collective's document keeps its own."""
    m = _COLLECTIVE.match(name)
    if m is None or m.group(1) not in TOWNSHIPS:
        return name
    county = m.group(1)
    rest = name[len(county) :]
    towns = TOWNSHIPS[county]
    if any(rest.startswith(town) for town in towns):
        return name
    near = {
        (town, size)
        for town in towns
        for size in (len(town) - 1, len(town), len(town) + 1)
        if rest[:size].endswith("街道" if town.endswith("街道") else town[-1]) and _one_edit(rest[:size], town)
    }
    if len(near) != 1:
        return name
    ((town, size),) = near
    return county + town + rest[size:]


def mend_collective(name: str) -> str:
    """A village collective's name as read, its county and then its township mended (:func:`mend_county`,
    :func:`mend_township`), after the prefecture when the name starts with one (杭州市余杭区…)."""
    prefecture = next((p for p in PREFECTURES if name.startswith(p)), "")
    return prefecture + mend_township(mend_county(name[len(prefecture) :]))
