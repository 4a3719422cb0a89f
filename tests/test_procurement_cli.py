"""`qinglian procurement audit FILE.csv --json`: the flags and their JSON shape (a contract), the window's
boundaries, exit codes 0/1/2, and a bad row named by its line and column with nothing half-read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edge_support import qinglian

from edge.modules.procurement.cli import BadRow, read_purchases

HEADER = "id,village,date,project,category,amount_yuan,supplier,channel\n"


def audit(tmp_path: Path, rows: str) -> tuple[int, dict[str, object] | None, str]:
    path = tmp_path / "purchases.csv"
    path.write_text("\ufeff" + HEADER + rows, encoding="utf-8")
    result = qinglian("procurement", "audit", str(path), "--json")
    data = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, data, result.stderr


def test_groups_reaching_5000_with_an_offline_purchase_are_flagged(tmp_path: Path) -> None:
    rows = (
        "1,青莲村,2026-03-31,,办公用品,3000.00,文具店,offline\n"
        "2,青莲村,2026-05-31,,办公用品,2000.00,文具店,offline\n"
        "3,青莲村,2026-06-01,,办公用品,4999.99,文具店,platform\n"  # outside 1's window; with 2: 6,999.99 and 2 is offline
        "4,青莲村,2025-02-01,村道,水泥,2500,建材厂,platform\n"
        "5,青莲村,2026-01-31,村道,沙石,2500.00,建材厂,offline\n"  # the same project a year later
        "6,白马村,2026-03-31,,办公用品,4999.99,文具店,offline\n"  # another village: its own groups
        "7,白马村,2026-04-01,,电脑,9000,科技公司,platform\n"
    )  # fmt: skip
    code, data, _ = audit(tmp_path, rows)
    assert code == 1
    assert data == {"flags": [
        {"rule": "same_project", "village": "青莲村", "ids": ["4", "5"], "total_yuan": "5000.00"},
        {"rule": "same_category_2_months", "village": "青莲村", "ids": ["1", "2"], "total_yuan": "5000.00"},
        {"rule": "same_category_2_months", "village": "青莲村", "ids": ["2", "3"], "total_yuan": "6999.99"},
    ]}  # fmt: skip


def test_no_flag_at_4999_99_or_the_day_after_the_window(tmp_path: Path) -> None:
    rows = (
        "1,青莲村,2025-12-31,,办公用品,3000.00,文具店,offline\n"
        "2,青莲村,2026-02-28,,办公用品,1999.99,文具店,offline\n"  # the window's last day: 4,999.99
        "3,青莲村,2026-03-01,,办公用品,3000.00,文具店,offline\n"  # the day after 1's window; with 2: 4,999.99
    )  # fmt: skip
    assert audit(tmp_path, rows)[:2] == (0, {"flags": []})


def test_a_bad_row_names_its_line_and_column_and_nothing_is_read(tmp_path: Path) -> None:
    good = "1,青莲村,2026-03-31,,办公用品,6000.00,文具店,offline\n"
    path = tmp_path / "bad.csv"
    for bad, where in (
        ("2,青莲村,2026-02-30,,办公用品,1.00,文具店,offline\n", "第 3 行 date 列"),
        ("2,青莲村,2026-03-01,,办公用品,1e5,文具店,offline\n", "第 3 行 amount_yuan 列"),
        ("2,青莲村,2026-03-01,,办公用品,-1,文具店,offline\n", "第 3 行 amount_yuan 列"),
        ("2,青莲村,2026-03-01,,办公用品,1.00,文具店,cash\n", "第 3 行 channel 列"),
        ("1,青莲村,2026-03-01,,办公用品,1.00,文具店,offline\n", "第 3 行 id 列"),
        ("2,,2026-03-01,,办公用品,1.00,文具店,offline\n", "第 3 行 village 列"),
        ("2,青莲村,2026-03-01,,办公用品,1.00\n", "第 3 行"),
        ('2,青莲村,2026-03-01,"a\nb,办公用品,1.00,文具店,offline\n', "CSV"),
    ):  # fmt: skip
        path.write_text(HEADER + good + bad, encoding="utf-8")
        with pytest.raises(BadRow, match=where):
            read_purchases(path)
    path.write_text("id,date,amount\n1,2026-01-01,5\n", encoding="utf-8")
    with pytest.raises(BadRow, match="第 1 行"):
        read_purchases(path)
    # As a command: exit 2, the error in the JSON too, nothing printed as flags.
    code, data, stderr = audit(tmp_path, good + "2,青莲村,2026-02-30,,办公用品,1.00,文具店,offline\n")
    assert code == 2 and data is not None and data["ok"] is False and "第 3 行 date 列" in stderr
