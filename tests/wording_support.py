"""What a part's line of Chinese for the ledger timeline may still hold in Latin letters: one rule for every
part's summary test, so each test names only what its own lines show besides."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Shown as stored in every part's lines: a record's id (SR-000001, WO-2026W49-01, CDT-萧山区-2026-11), a date.
_ALWAYS = (r"[A-Z]{1,5}(?:-[0-9A-Z\u4e00-\u9fff]+)+", r"\d{4}-\d{2}-\d{2}")
#: The console account that acted, after 账号 or 本机操作员: the name one logs in with.
ACCOUNT_NAMES = r"(?:账号|本机操作员) [0-9A-Za-z_.-]+"


def shown_ids(ids: Iterable[str]) -> str:
    """A pattern for roster ids shown in brackets after a person's name: 张三(p01)."""
    return "|".join(re.escape(f"({i})") for i in ids)


def latin_words(line: str, also: Iterable[str] = ()) -> list[str]:
    """Runs of three or more Latin letters left in ``line`` once ids, dates and the test's own patterns
    ``also`` are taken out; a line worded in Chinese leaves none."""
    allowed = re.compile("|".join((*_ALWAYS, *also)))
    return re.findall(r"[A-Za-z]{3,}", allowed.sub("", line))
