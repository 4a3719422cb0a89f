"""Small projects' rules at their boundaries: pricing line by line (half up to the fen, above the guide price
only with a reason), the limit (399,999.99 passes, 400,000.00 does not), the draw (determinism, the exclusions,
rejection sampling, uniformity by chi-squared over many seeds, fewer than two eligible), the quotes' winner and
the commands that re-run a published draw."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
from collections import Counter
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from edge.modules.small_project import rules
from edge.modules.small_project.cli import register
from edge.modules.small_project.rules import BillLine, Catalogue, Contractor, GuideItem, Quote, RuleError

CATALOGUE = Catalogue("2026-2", "2026-07-01", {
    "R01": GuideItem("R01", "C25 混凝土路面（厚 20cm）", "平方米", 12_001),
    "R02": GuideItem("R02", "路缘石安装", "米", 8_550),
    "D01": GuideItem("D01", "排水沟开挖", "立方米", 4_500),
})  # fmt: skip


def seed_of(i: int) -> str:
    return hashlib.sha256(f"seed-{i}".encode()).hexdigest()


# -- pricing -------------------------------------------------------------------------------------------------


def test_each_line_is_quantity_times_price_half_up_to_the_fen() -> None:
    budget = rules.price_bill(CATALOGUE, [BillLine("R01", "12.345"), BillLine("D01", "0.5")])
    assert budget.catalogue_version == "2026-2"
    # 12.345 × 120.01 = 1481.52345 → 1481.52; 0.5 × 45.00 = 22.50
    assert [line.amount_fen for line in budget.lines] == [148_152, 2_250]
    assert budget.total_fen == 150_402 and budget.flagged == ()
    assert rules.line_amount(Decimal("0.005"), 100) == 1  # 0.5 fen rounds half up
    assert rules.line_amount(Decimal("0.004"), 100) == 0


def test_a_line_above_its_guide_price_needs_a_reason_and_is_flagged() -> None:
    with pytest.raises(RuleError, match="单价高于指导价 85.50 元，须写明理由"):
        rules.price_bill(CATALOGUE, [BillLine("R02", "10", 8_551)])
    budget = rules.price_bill(
        CATALOGUE,
        [BillLine("R02", "10", 8_551, "  山路转运，运距超过 5 公里  "), BillLine("R01", "1", 12_001, "不需要")],
    )
    above, at_guide = budget.lines
    assert above.above_guide and above.reason == "山路转运，运距超过 5 公里" and above.amount_fen == 85_510
    assert not at_guide.above_guide and at_guide.reason == ""  # at the guide price exactly: no flag, no reason kept
    assert budget.flagged == (above,)
    below = rules.price_bill(CATALOGUE, [BillLine("R02", "10", 8_000)])  # below the guide: fine without a reason
    assert not below.lines[0].above_guide


def test_the_total_must_be_strictly_below_the_limit() -> None:
    # 1 m² at exactly 399,999.99 yuan (below the guide price of a made-up item) passes; a fen more does not
    catalogue = Catalogue("x", "2026-01-01", {"X": GuideItem("X", "整体工程", "项", 50_000_000)})
    assert rules.price_bill(catalogue, [BillLine("X", "1", 39_999_999)]).total_fen == 39_999_999
    with pytest.raises(RuleError, match="预算合计 400,000.00 元，须低于限额 400,000.00 元"):
        rules.price_bill(catalogue, [BillLine("X", "1", 40_000_000)])
    assert rules.price_bill(catalogue, [BillLine("X", "1", 40_000_000)], limit_fen=40_000_001).total_fen == 40_000_000


@pytest.mark.parametrize(("line", "says"), [
    (BillLine("Z9", "1"), "没有编号 'Z9'"),
    (BillLine("R01", "0"), "工程量应大于 0"),
    (BillLine("R01", "1.2345"), "最多三位小数"),
    (BillLine("R01", "1e3"), "工程量应为数字"),
    (BillLine("R01", "NaN"), "工程量应为数字"),
    (BillLine("R01", "-1"), "工程量应为数字"),
    (BillLine("R01", "１２"), "工程量应为数字"),
    (BillLine("R01", "1", 0), "单价应为大于 0 的整数分"),
    (BillLine("R01", "1", True), "单价应为大于 0 的整数分"),
])  # fmt: skip
def test_bad_lines_are_refused_naming_the_line(line: BillLine, says: str) -> None:
    with pytest.raises(RuleError, match=f"第 2 行.*{says}"):
        rules.price_bill(CATALOGUE, [BillLine("D01", "1"), line])


def test_an_empty_or_repeated_bill_is_refused() -> None:
    with pytest.raises(RuleError, match="至少一行"):
        rules.price_bill(CATALOGUE, [])
    with pytest.raises(RuleError, match="第 2 行：编号 R01 重复"):
        rules.price_bill(CATALOGUE, [BillLine("R01", "1"), BillLine("R01", "2")])


# -- the draw ------------------------------------------------------------------------------------------------


def pool_of(n: int, **over: Contractor) -> list[Contractor]:
    pool = {f"C{i:02d}": Contractor(f"C{i:02d}", f"第{i}建筑队", ("道路", "水利")) for i in range(n)}
    pool.update(over)
    return list(pool.values())


def test_the_same_inputs_give_the_same_two_and_the_file_order_does_not_matter() -> None:
    pool = pool_of(8)
    first = rules.draw(pool, "C00", seed_of(1))
    assert first == rules.draw(list(reversed(pool)), "C00", seed_of(1))
    assert len(set(first.drawn)) == 2 and "C00" not in first.drawn
    assert first.pool_hash == rules.pool_hash(reversed(pool))
    others = {rules.draw(pool, "C00", seed_of(i)).drawn for i in range(2, 40)}
    assert len(others) > 10  # the seed decides: many different pairs


def test_the_pool_hash_is_sha256_of_the_canonical_json() -> None:
    pool = [Contractor("B", "乙", ("水利", "道路", "水利")), Contractor("A", "甲", ("道路",), True)]
    text = ('{"pool":[{"blacklisted":true,"categories":["道路"],"id":"A","name":"甲"},'
            '{"blacklisted":false,"categories":["水利","道路"],"id":"B","name":"乙"}]}')  # fmt: skip
    assert rules.pool_hash(pool) == hashlib.sha256(text.encode()).hexdigest()
    renamed = [pool[0], Contractor("B", "乙 ", ("水利", "道路"))]
    assert rules.pool_hash(renamed) != rules.pool_hash(pool)


def test_only_the_qualified_not_blacklisted_not_recommended_are_eligible() -> None:
    pool = pool_of(6, C03=Contractor("C03", "黑名单队", ("道路",), True), C04=Contractor("C04", "只做水利", ("水利",)))
    assert rules.eligible(pool, "C00", "道路") == ("C01", "C02", "C05")
    assert rules.eligible(pool, "C00", None) == ("C01", "C02", "C04", "C05")
    for i in range(50):
        assert set(rules.draw(pool, "C00", seed_of(i), "道路").drawn) <= {"C01", "C02", "C05"}


def test_fewer_than_two_eligible_is_refused() -> None:
    pool = pool_of(3, C02=Contractor("C02", "黑", ("道路",), True))
    with pytest.raises(RuleError, match="只有 1 家，不足 2 家"):
        rules.draw(pool, "C00", seed_of(0))
    assert len(rules.draw(pool_of(3), "C00", seed_of(0)).drawn) == 2  # exactly two: both drawn
    with pytest.raises(RuleError, match="不在库中"):
        rules.draw(pool_of(5), "C99", seed_of(0))
    with pytest.raises(RuleError, match="编号重复"):
        rules.draw([*pool_of(5), Contractor("C01", "又一个", ("道路",))], "C00", seed_of(0))


@pytest.mark.parametrize("seed", ["", "abc", "zz" * 16, "00" * 15, "00" * 65, " "])
def test_a_bad_seed_is_refused(seed: str) -> None:
    with pytest.raises(RuleError, match="种子"):
        rules.draw(pool_of(5), "C00", seed)


def test_rejection_sampling_skips_the_blocks_that_would_bias() -> None:
    # blocks in [0, 8) for 3 items: 6 and 7 would make 0 and 1 likelier than 2, so they are skipped
    assert rules.uniform_index(3, iter([7, 6, 5]), space=8) == 2
    assert rules.uniform_index(3, iter([6, 4]), space=8) == 1
    assert rules.uniform_index(4, iter([7]), space=8) == 3  # 4 divides 8: nothing is skipped
    with pytest.raises(RuleError):
        rules.uniform_index(3, iter([6, 7]), space=8)


def chi_squared(counts: list[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def test_over_many_seeds_every_eligible_contractor_and_pair_is_drawn_equally_often() -> None:
    pool = pool_of(7)
    ids = rules.eligible(pool, "C00", None)
    draws = [rules.draw(pool, "C00", seed_of(i)).drawn for i in range(6_000)]
    each = [sum(d.count(c) for d in draws) for c in ids]
    # 6 contractors, 5 degrees of freedom: 20.52 is the 0.1 % critical value
    assert chi_squared(each) < 20.52, each
    pairs = [sum(1 for d in draws if set(d) == set(p)) for p in combinations(ids, 2)]
    # 15 unordered pairs, 14 degrees of freedom: 36.12 at 0.1 %
    assert chi_squared(pairs) < 36.12, pairs
    # and a biased draw would fail it: always favouring the first id in a third of the draws
    assert chi_squared([c + (2_000 if i == 0 else 0) for i, c in enumerate(each)]) > 20.52


def test_the_seed_combines_every_published_source() -> None:
    sources = ["village:5f1c...", "township:9a0b...", "checkpoint:42:ab12"]
    seed = rules.combine_seed(sources)
    expected = hashlib.sha256(b'{"sources":["village:5f1c...","township:9a0b...","checkpoint:42:ab12"]}').hexdigest()
    assert seed == expected
    for i in range(3):  # change any one source and the seed changes
        changed = list(sources)
        changed[i] += "x"
        assert rules.combine_seed(changed) != seed
    with pytest.raises(RuleError, match="至少来自两个"):
        rules.combine_seed(["only-one"])


# -- the quotes ----------------------------------------------------------------------------------------------


def test_the_lowest_valid_quote_wins_and_a_tie_goes_to_the_earlier() -> None:
    invited = ["R", "D1", "D2"]
    quotes = [Quote("R", 30_000_000, 0), Quote("D1", 29_000_000, 1), Quote("D2", 29_000_000, 2)]
    assert rules.winner(quotes, invited, [], 35_000_000) == quotes[1]
    assert rules.winner(quotes, invited, ["D1"], 35_000_000) == quotes[2]  # blacklisted after the draw: invalid
    assert rules.winner(quotes, invited, [], 29_999_999) == quotes[1]
    assert rules.winner(quotes, invited, [], 28_999_999) is None  # all above the budget
    assert rules.winner([Quote("X", 1, 3)], invited, [], 35_000_000) is None  # not invited
    assert rules.invalid_reason(Quote("R", 35_000_001, 0), invited, [], 35_000_000) == "报价超过预算 350,000.00 元"
    assert rules.invalid_reason(Quote("R", 35_000_000, 0), invited, [], 35_000_000) is None  # at the budget: valid


# -- the commands --------------------------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="qinglian")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["projects", *argv])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    return code, out.getvalue(), err.getvalue()


def pool_json(pool: list[Contractor]) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "categories": list(c.categories), "blacklisted": c.blacklisted} for c in pool]


def test_the_draw_command_prints_the_drawn_pair_the_pool_hash_and_the_seed(tmp_path: Path) -> None:
    pool = pool_of(9, C05=Contractor("C05", "黑", ("道路",), True))
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(pool_json(pool), ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(
        "draw",
        "--pool",
        str(path),
        "--recommended",
        "C01",
        "--seed",
        seed_of(7).upper(),
        "--category",
        "道路",
        "--json",
    )
    expected = rules.draw(pool, "C01", seed_of(7), "道路")
    assert code == 0 and json.loads(out) == {
        "drawn": list(expected.drawn),
        "pool_hash": expected.pool_hash,
        "seed": seed_of(7),
    }
    code, out, _ = run("draw", "--pool", str(path), "--recommended", "C01", "--seed", seed_of(7), "--category", "道路")
    assert code == 0 and f"抽中 drawn: {', '.join(expected.drawn)}" in out


@pytest.mark.parametrize(("pool", "says"), [
    ('[{"id": "A", "name": "甲", "categories": ["道路"]}, {"id": "B", "name": "乙", "categories": ["水利"]}]', "只有 0 家"),
    ('{"id": "A"}', "承包商库应为列表"),
    ('[{"id": "A", "name": "甲", "categories": "道路"}]', "pool[0]：categories 应为文字列表"),
    ('[{"id": "A", "name": "甲", "categories": [], "blacklisted": "no"}]', "blacklisted 应为 true 或 false"),
    ('[{"id": 1, "name": "甲", "categories": []}]', "pool[0]：id 应为非空文字"),
    ('[\n{"id": "A",]', "第 2 行：JSON 格式错误"),
])  # fmt: skip
def test_the_draw_command_exits_2_on_bad_input(tmp_path: Path, pool: str, says: str) -> None:
    path = tmp_path / "pool.json"
    path.write_text(pool, encoding="utf-8")
    code, out, err = run(
        "draw", "--pool", str(path), "--recommended", "A", "--seed", seed_of(0), "--category", "道路", "--json"
    )
    assert code == 2 and out == "" and says in err


def test_verify_draw_accepts_a_published_record_and_catches_any_change(tmp_path: Path) -> None:
    pool = pool_of(10)
    sources = ["village:reveal-3f9e", "township:reveal-77c1", "checkpoint:1042:9be0c2"]
    seed = rules.combine_seed(sources)
    result = rules.draw(pool, "C02", seed, "道路")
    record = {"pool": pool_json(pool), "recommended": "C02", "category": "道路", "seed": seed, "seed_sources": sources,
              "pool_hash": result.pool_hash, "drawn": list(result.drawn)}  # fmt: skip
    path = tmp_path / "record.json"

    def verify(**change: Any) -> tuple[int, str, str]:
        path.write_text(json.dumps({**record, **change}, ensure_ascii=False), encoding="utf-8")
        return run("verify-draw", str(path), "--json")

    code, out, _ = verify()
    assert code == 0 and json.loads(out)["ok"] is True
    others = [c for c in rules.eligible(pool, "C02", "道路") if c not in result.drawn]
    code, out, _ = verify(drawn=[result.drawn[0], others[0]])  # a result someone would have liked better
    assert code == 1 and "抽取结果不符" in json.loads(out)["problems"][0]
    code, out, _ = verify(pool_hash="0" * 64)
    assert code == 1 and "库哈希不符" in json.loads(out)["problems"][0]
    code, out, _ = verify(seed_sources=[*sources[:2], "checkpoint:1043:000000"])  # a seed not from the sources
    assert code == 1 and "种子与公布的来源不符" in json.loads(out)["problems"][0]
    quietly = [dict(c, blacklisted=c["id"] == result.drawn[0]) for c in pool_json(pool)]  # the pool changed after
    code, out, _ = verify(pool=quietly)
    assert code == 1
    code, out, err = verify(recommended=None)
    assert code == 2 and out == "" and "recommended" in err


def test_the_township_steps_go_in_the_route_s_order_each_officer_once() -> None:
    route = ["zhenshen", "zhenzhang"]
    assert rules.township_refusal(route, [], "zhenshen") is None
    assert rules.township_refusal(route, [], "zhenzhang") == "顺序审批，应由 zhenshen 先审批"
    assert rules.township_refusal(route, ["zhenshen"], "zhenzhang") is None
    assert rules.township_refusal(route, ["zhenshen"], "zhenshen") == "您已审批过本工程"
    assert rules.township_refusal(route, [], "pushen") == "您不在本工程类别的乡镇审批路线上"
    assert rules.township_refusal([], [], "zhenshen") == "您不在本工程类别的乡镇审批路线上"


def test_the_two_township_checks_are_drawn_from_the_seed_alone_uniformly_and_never_the_same_day() -> None:
    days = [f"2026-09-{d:02d}" for d in range(1, 31)]
    seed = rules.combine_seed(["township:一二三四五六七八", "checkpoint:9:ab"])
    checks = rules.draw_checks(["zhenzhang", "zhenshen", "zhenli"], days[::-1], seed)
    assert checks == rules.draw_checks(["zhenli", "zhenshen", "zhenzhang"], days, seed)  # order of input: no matter
    assert checks[0][1] < checks[1][1] and checks[0][0] != checks[1][0]
    assert rules.draw_checks(["zhenshen"], days[:2], seed) == [("zhenshen", days[0]), ("zhenshen", days[1])]
    for inspectors, dates in ((["zhenshen"], days[:1]), ([], days), (["a"], [f"d{i:03d}" for i in range(367)])):
        with pytest.raises(rules.RuleError):
            rules.draw_checks(inspectors, dates, seed)
    # Over many seeds every day is checked equally often (chi-squared, 9 degrees of freedom, p = 0.001).
    ten = days[:10]
    counts = Counter(
        day for i in range(2000) for _, day in rules.draw_checks(["a", "b"], ten, hashlib.sha256(str(i).encode()).hexdigest())
    )
    expected = 2000 * 2 / len(ten)
    assert sum((counts[day] - expected) ** 2 / expected for day in ten) < 27.88
