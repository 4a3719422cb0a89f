"""What the central store's routes accept in a query or path, declared once and checked at the boundary.

Every text parameter refuses control characters (PostgreSQL refuses a NUL in text, which was a 500, and
none belongs in a search word, a village or a kind), every integer is bounded (an index or cursor past
64 bits overflows PostgreSQL's bigint, also a 500; a list has a largest page), every date is YYYY-MM-DD.
The routes take their parameters through the helpers below, so the same rules stand in /openapi.json,
where a client (or a fuzzer) reads them, and a request that breaks one is refused with a 400 in the
store's envelope and a Chinese message (:func:`validation_refusal`), before a route runs.
"""

from __future__ import annotations

from typing import Any

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from central.store import Refusal

#: The largest entry index, tree size or cursor: PostgreSQL's bigint (and SQLite's INTEGER) hold no more.
MAX_INDEX = 2**63 - 1
#: Longest text in a query parameter: a search is a few words, a kind or village a few characters.
MAX_TEXT = 200

TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
DATE_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"  # empty: the default (a page's form sends empty fields)
EDGE_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"  # as enrolment allows (store.check_edge_id)

# The Chinese for each rule a parameter can break; a pattern is named by what it stands for.
_PATTERNS = {
    TEXT_PATTERN: "不得含控制字符",
    DATE_PATTERN: "日期格式应为 年-月-日，如 2026-01-31",
    EDGE_ID_PATTERN: "边缘编号只含字母、数字和 - _ .，最多 64 个字符",
}
_PROBLEMS = {
    "missing": "缺少此项", "int_parsing": "应为整数", "int_from_float": "应为整数", "int_type": "应为整数",
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false", "literal_error": "应为 {expected}",
    "greater_than_equal": "应不小于 {ge}", "less_than_equal": "应不大于 {le}",
    "string_too_long": "太长（最多 {max_length} 个字符）", "string_type": "应为文字",
    "model_attributes_type": "应为 JSON 对象", "dict_type": "应为 JSON 对象", "list_type": "应为列表",
    "json_invalid": "不是有效的 JSON", "json_type": "不是有效的 JSON",
}  # fmt: skip


def text_query(alias: str | None = None) -> Any:
    return Query(alias=alias, max_length=MAX_TEXT, pattern=TEXT_PATTERN)


def date_query(alias: str) -> Any:
    return Query(alias=alias, pattern=DATE_PATTERN, description="YYYY-MM-DD, Asia/Shanghai")


def index_query() -> Any:
    return Query(ge=0, le=MAX_INDEX)


def limit_query(most: int) -> Any:
    return Query(ge=1, le=most, description=f"1..{most}")


def edge_path() -> Any:
    return Path(pattern=EDGE_ID_PATTERN)


def index_path() -> Any:
    return Path(ge=0, le=MAX_INDEX)


class ErrorEnvelope(BaseModel):
    """Every refusal under /api: ``code`` for programs, ``reason`` for people; ``flagged`` when it is signed
    evidence against the edge; a refused push may add where to resume (``next_index``) or the store's clock."""

    model_config = ConfigDict(extra="allow")

    accepted: bool = False
    code: str
    reason: str
    flagged: bool = False


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The refusals an operation can answer with, for its ``responses=`` in the description."""
    return {status: {"model": ErrorEnvelope} for status in statuses}


def _problem(error: Any) -> str:
    if error.get("type") == "string_pattern_mismatch":
        return _PATTERNS.get(str((error.get("ctx") or {}).get("pattern")), "格式不符")
    template = _PROBLEMS.get(str(error.get("type")))
    # pydantic lists a parameter's choices joined with an English "or"
    ctx = {name: str(value).replace(" or ", " 或 ") for name, value in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx) if template else str(error.get("msg"))
    except (KeyError, IndexError):
        return str(error.get("msg"))


def validation_refusal(exc: RequestValidationError) -> Refusal:
    """A request that does not fit the description, as the store refuses it: 400, each problem in Chinese."""
    problems = "；".join(
        f"{'.'.join(x for x in e.get('loc', ())[1:] if isinstance(x, str)) or '请求体'} {_problem(e)}"
        for e in exc.errors()
    )
    return Refusal(400, "malformed", f"请求格式错误：{problems}")


def without_validation_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The description without FastAPI's own 422 answers: a request that does not fit is refused with a 400
    in the envelope (each operation lists it), never with FastAPI's ``{"detail": ...}``."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    return schema
