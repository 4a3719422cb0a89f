"""Configuration that flows down: documents per scope, their validation, and the merge an edge receives.

Four kinds of document, each published for a county, a township or a village
(``county:萧山区``, ``township:河上镇`` or ``township:萧山区/河上镇``,
``village:青莲村`` or ``village:萧山区/河上镇/青莲村``); every publish makes
a new version, and nothing is ever overwritten. The shapes follow the edge's
own TOML configuration, so an edge can apply them with the parser it already has:

``roster``
    ``{"people": [{"id": "zhangwei", "name": "张伟", "roles": ["approver"], "village": "青莲村"?}]}``
    merged by person id; a more specific scope overrides a wider one.
``routing``
    ``{"routes": [{"name": ..., "seal": ["official"], "min_fen": 0, "max_fen": 1000000,
    "mode": "chain" | "n_of_m", "n": 2, "approvers": [...]}]}``
    an ordered first-match list, so the most specific scope's list replaces the others whole.
``firmware``
    ``{"releases": [{"firmware_hash": "<64 hex>", "version": "1.2.0", "security_version": 3,
    "target": "xtensawin"} | <a release manifest.json as built>], "revoked": ["<64 hex>"],
    "min_security_version": 3}``
    releases are the union over scopes, minus every hash revoked at any scope;
    the minimum security version is the highest any scope sets.
``blacklist``
    ``{"suppliers": [{"id": ..., "name": ..., "reason": ..., "until": "YYYY-MM-DD"?}],
    "contractors": [...], "workers": [...]}``
    the union over scopes, by id within each list (a more specific entry overrides).
``procurement``
    ``{"window_hours": 72, "extend_minutes": 5, "deductions": {"late_delivery": "2.5", ...}}`` (each key
    optional): a county's bidding window, anti-sniping span and credit deductions (points, one decimal at most;
    the kinds are ``PROCUREMENT_DEDUCTIONS``). The central's procurement part reads the county's newest version
    (central/modules/procurement/terms.py); published for a township or a village it is refused.

The merged configuration an edge receives is::

    {"version": <highest document sequence number that went into it>,
     "edge": {"edge_id", "village", "township", "county"},
     "roster": {...} | null, "routing": {...} | null, "firmware": {...} | null, "blacklist": {...} | null,
     "sources": [{"scope": "county:萧山区", "kind": "firmware", "version": 2, "sha256": ...}, ...]}

and its identity is the SHA-256 of its canonical JSON (:func:`edge.syncwire.canonical_hash`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from dataclasses import dataclass
from typing import Any

from edge.ledger.wire import ROSTER_ROLES

KINDS = ("roster", "routing", "firmware", "blacklist", "procurement")
KIND_NAMES = {"roster": "审批人名册", "routing": "审批路线", "firmware": "固件白名单", "blacklist": "黑名单",
              "procurement": "一网采购规则"}  # fmt: skip
LEVELS = ("county", "township", "village")
LEVEL_NAMES = {"county": "县(市、区)", "township": "乡镇", "village": "村"}

SEAL_KINDS = ("official", "finance", "contract", "legal_rep")
ROUTE_MODES = ("chain", "n_of_m")
BLACKLISTS = ("suppliers", "contractors", "workers")
PROCUREMENT_DEDUCTIONS = ("late_delivery", "failed_acceptance", "refused_to_sign", "complaint_upheld")
_POINTS_RE = re.compile(r"^[0-9]{1,3}(\.[0-9])?$", re.ASCII)

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConfigDocError(ValueError):
    """A document or scope that cannot be published; the message names the place."""


@dataclass(frozen=True)
class Scope:
    level: str  # county | township | village
    name: str  # as given: a plain name, or qualified with "/" (county/township[/village])

    def __str__(self) -> str:
        return f"{self.level}:{self.name}"

    def covers(self, county: str, township: str, village: str) -> bool:
        """Whether this scope includes an edge at this place."""
        if self.level == "county":
            return self.name == county
        if self.level == "township":
            return self.name in (township, f"{county}/{township}")
        return self.name in (village, f"{township}/{village}", f"{county}/{township}/{village}")


def parse_scope(text: str, levels: Iterable[str] = LEVELS) -> Scope:
    """``county:NAME`` / ``township:NAME`` / ``village:NAME``."""
    allowed = tuple(levels)
    level, sep, name = text.partition(":")
    level, name = level.strip(), name.strip()
    if not sep or level not in allowed or not name:
        choices = " | ".join(f"{lv}:NAME" for lv in allowed)
        raise ConfigDocError(f"无效范围 invalid scope {text!r}: use {choices}")
    if any(not part.strip() for part in name.split("/")):
        raise ConfigDocError(f"无效范围 invalid scope {text!r}: empty name part")
    return Scope(level, name)


# -- validation -----------------------------------------------------------------------


def _fail(where: str, what: str) -> ConfigDocError:
    return ConfigDocError(f"配置文档错误 {where}: {what}")


def _object(value: Any, where: str, required: Iterable[str], optional: Iterable[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "应为对象 expected an object")
    required, optional = tuple(required), tuple(optional)
    missing = [k for k in required if k not in value]
    if missing:
        raise _fail(where, f"缺少 missing {', '.join(missing)}")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise _fail(where, f"未知的键 unknown key(s) {', '.join(unknown)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"应为非空字符串 expected a non-empty string, got {value!r}")
    return value


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise _fail(where, f"只能用字母、数字、-_. (最多40个) letters, digits, - _ . only, up to 40: {value!r}")
    return value


def _int(value: Any, where: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise _fail(where, f"应为 ≥ {minimum} 的整数 expected an integer ≥ {minimum}, got {value!r}")
    return value


def _list(value: Any, where: str, allow_empty: bool = True) -> list[Any]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _fail(where, "应为列表 expected a list" + ("" if allow_empty else " (non-empty)"))
    return value


def _strings(value: Any, where: str, choices: tuple[str, ...] | None = None) -> list[str]:
    items = _list(value, where, allow_empty=False)
    for i, item in enumerate(items):
        _string(item, f"{where}[{i}]")
        if choices is not None and item not in choices:
            raise _fail(f"{where}[{i}]", f"应为 one of {', '.join(choices)}, got {item!r}")
    if len(set(items)) != len(items):
        raise _fail(where, f"有重复项 has duplicates: {items!r}")
    return items


def _unique_ids(items: list[Mapping[str, Any]], key: str, where: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item[key] in seen:
            raise _fail(f"{where}[{i}].{key}", f"重复 duplicate {item[key]!r}")
        seen.add(item[key])


def _validate_roster(doc: Mapping[str, Any]) -> None:
    _object(doc, "roster", ["people"], [])
    people = _list(doc["people"], "roster.people")
    for i, person in enumerate(people):
        where = f"roster.people[{i}]"
        _object(person, where, ["id", "name", "roles"], ["village"])
        _identifier(person["id"], f"{where}.id")
        _string(person["name"], f"{where}.name")
        _strings(person["roles"], f"{where}.roles", ROSTER_ROLES)
        if "village" in person:
            _string(person["village"], f"{where}.village")
    _unique_ids(people, "id", "roster.people")


def _validate_routing(doc: Mapping[str, Any]) -> None:
    _object(doc, "routing", ["routes"], [])
    routes = _list(doc["routes"], "routing.routes", allow_empty=False)
    for i, route in enumerate(routes):
        where = f"routing.routes[{i}]"
        _object(route, where, ["seal", "mode", "approvers"], ["name", "min_fen", "max_fen", "n"])
        if "name" in route:
            _string(route["name"], f"{where}.name")
        _strings(route["seal"], f"{where}.seal", SEAL_KINDS)
        min_fen = _int(route.get("min_fen", 0), f"{where}.min_fen")
        if route.get("max_fen") is not None and _int(route["max_fen"], f"{where}.max_fen") <= min_fen:
            raise _fail(f"{where}.max_fen", f"应大于 min_fen must exceed min_fen ({min_fen})")
        if route["mode"] not in ROUTE_MODES:
            raise _fail(f"{where}.mode", f"应为 chain 或 n_of_m expected 'chain' or 'n_of_m', got {route['mode']!r}")
        approvers = _strings(route["approvers"], f"{where}.approvers")
        for j, approver in enumerate(approvers):
            _identifier(approver, f"{where}.approvers[{j}]")
        n = route.get("n")
        if route["mode"] == "chain" and n is not None and n != len(approvers):
            raise _fail(f"{where}.n", "顺序审批需全部审批人 a chain needs every approver; leave n out")
        if route["mode"] == "n_of_m" and (type(n) is not int or not 1 <= n <= len(approvers)):
            raise _fail(f"{where}.n", f"应在 1..{len(approvers)} 之间 must be in 1..{len(approvers)}, got {n!r}")


def _release_hash(release: Mapping[str, Any], where: str) -> str:
    if release.get("format") == "qinglian-release/1":  # a whole manifest.json, kept verbatim
        for key in ("firmware_hash", "version", "security_version", "signature", "key_id"):
            if key not in release:
                raise _fail(where, f"发布清单缺少 release manifest lacks {key}")
    else:
        _object(release, where, ["firmware_hash"], ["version", "security_version", "target", "key_id", "note"])
    fw = release["firmware_hash"]
    if not isinstance(fw, str) or not _HEX64_RE.match(fw):
        raise _fail(f"{where}.firmware_hash", f"应为64位小写十六进制 expected 64 lowercase hex digits, got {fw!r}")
    if "security_version" in release:
        _int(release["security_version"], f"{where}.security_version", 1)
    return fw


def _validate_firmware(doc: Mapping[str, Any]) -> None:
    _object(doc, "firmware", [], ["releases", "revoked", "min_security_version"])
    if not doc:
        raise _fail("firmware", "需要 releases, revoked 或 min_security_version needs at least one of them")
    releases = _list(doc.get("releases", []), "firmware.releases")
    hashes = [_release_hash(r, f"firmware.releases[{i}]") for i, r in enumerate(releases)]
    if len(set(hashes)) != len(hashes):
        raise _fail("firmware.releases", "固件哈希重复 duplicate firmware_hash")
    for i, fw in enumerate(_list(doc.get("revoked", []), "firmware.revoked")):
        if not isinstance(fw, str) or not _HEX64_RE.match(fw):
            raise _fail(f"firmware.revoked[{i}]", f"应为64位小写十六进制 expected 64 lowercase hex digits, got {fw!r}")
    if "min_security_version" in doc:
        _int(doc["min_security_version"], "firmware.min_security_version", 1)


def _validate_blacklist(doc: Mapping[str, Any]) -> None:
    _object(doc, "blacklist", [], BLACKLISTS)
    if not doc:
        raise _fail("blacklist", f"需要至少一个名单 needs at least one of {', '.join(BLACKLISTS)}")
    for name in BLACKLISTS:
        items = _list(doc.get(name, []), f"blacklist.{name}")
        for i, item in enumerate(items):
            where = f"blacklist.{name}[{i}]"
            _object(item, where, ["id", "name", "reason"], ["until", "credit_index", "since"])
            _string(item["id"], f"{where}.id")
            _string(item["name"], f"{where}.name")
            _string(item["reason"], f"{where}.reason")
            for key in ("until", "since"):
                if key in item and (not isinstance(item[key], str) or not _DATE_RE.match(item[key])):
                    raise _fail(f"{where}.{key}", f"应为日期 YYYY-MM-DD expected a date, got {item[key]!r}")
            if "credit_index" in item:
                _int(item["credit_index"], f"{where}.credit_index")
        _unique_ids(items, "id", f"blacklist.{name}")


def _validate_procurement(doc: Mapping[str, Any]) -> None:
    _object(doc, "procurement", [], ["window_hours", "extend_minutes", "deductions"])
    if not doc:
        raise _fail("procurement", "需要至少一项 needs window_hours, extend_minutes or deductions")
    if "window_hours" in doc and _int(doc["window_hours"], "procurement.window_hours", 1) > 720:
        raise _fail("procurement.window_hours", "竞价期最长 720 小时 at most 720 hours (30 days)")
    if "extend_minutes" in doc and _int(doc["extend_minutes"], "procurement.extend_minutes", 1) > 60:
        raise _fail("procurement.extend_minutes", "延时最长 60 分钟 at most 60 minutes")
    for kind, points in _object(doc.get("deductions", {}), "procurement.deductions", [], PROCUREMENT_DEDUCTIONS).items():
        if not isinstance(points, (str, int)) or isinstance(points, bool) or not _POINTS_RE.match(str(points)) \
                or not 0 < Decimal(str(points)) <= 100:  # fmt: skip
            raise _fail(f"procurement.deductions.{kind}", f"应为 0 到 100 分，至多一位小数 expected points like \"2.5\", got {points!r}")


_VALIDATORS = {
    "roster": _validate_roster,
    "routing": _validate_routing,
    "firmware": _validate_firmware,
    "blacklist": _validate_blacklist,
    "procurement": _validate_procurement,
}


def validate(kind: str, document: Any) -> None:
    """Raise :class:`ConfigDocError` naming the first problem of a document of ``kind``."""
    if kind not in KINDS:
        raise ConfigDocError(f"未知的配置种类 unknown kind {kind!r}: use {', '.join(KINDS)}")
    _VALIDATORS[kind](document)


# -- merging --------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """One published version, as the merge sees it."""

    seq: int
    scope: Scope
    kind: str
    version: int
    sha256: str
    content: Mapping[str, Any]


_LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}


def latest_per_scope(docs: Iterable[Doc]) -> list[Doc]:
    """The newest version of each (scope, kind), widest scope first, then in publishing order."""
    newest: dict[tuple[str, str, str], Doc] = {}
    for doc in docs:
        key = (doc.scope.level, doc.scope.name, doc.kind)
        if key not in newest or doc.version > newest[key].version:
            newest[key] = doc
    return sorted(newest.values(), key=lambda d: (_LEVEL_ORDER[d.scope.level], d.seq))


def _merge_roster(docs: list[Doc], village: str) -> dict[str, Any]:
    people: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for person in doc.content["people"]:
            people[person["id"]] = {**person, "village": person.get("village", village)}
    return {"people": [people[k] for k in sorted(people)]}


def _merge_firmware(docs: list[Doc]) -> dict[str, Any]:
    releases: dict[str, Any] = {}
    revoked: set[str] = set()
    minimum = 0
    for doc in docs:
        for release in doc.content.get("releases", []):
            releases[release["firmware_hash"]] = release
        revoked.update(doc.content.get("revoked", []))
        minimum = max(minimum, doc.content.get("min_security_version", 0))
    allowed = [releases[h] for h in sorted(releases) if h not in revoked]
    if minimum:
        allowed = [r for r in allowed if r.get("security_version", minimum) >= minimum]
    merged: dict[str, Any] = {"releases": allowed, "revoked": sorted(revoked)}
    if minimum:
        merged["min_security_version"] = minimum
    return merged


def _merge_blacklist(docs: list[Doc]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in BLACKLISTS:
        items: dict[str, Any] = {}
        for doc in docs:
            for item in doc.content.get(name, []):
                items[item["id"]] = item
        merged[name] = [items[k] for k in sorted(items)]
    return merged


def merge_for_edge(docs: Iterable[Doc], edge: Mapping[str, str]) -> dict[str, Any]:
    """The merged configuration of one edge from every document whose scope covers it."""
    place = (edge["county"], edge["township"], edge["village"])
    applicable = latest_per_scope(d for d in docs if d.scope.covers(*place))
    by_kind: dict[str, list[Doc]] = {kind: [d for d in applicable if d.kind == kind] for kind in KINDS}
    routing = by_kind["routing"]
    return {
        "version": max((d.seq for d in applicable), default=0),
        "edge": {k: edge[k] for k in ("edge_id", "village", "township", "county")},
        "roster": _merge_roster(by_kind["roster"], edge["village"]) if by_kind["roster"] else None,
        "routing": dict(routing[-1].content) if routing else None,
        "firmware": _merge_firmware(by_kind["firmware"]) if by_kind["firmware"] else None,
        "blacklist": _merge_blacklist(by_kind["blacklist"]) if by_kind["blacklist"] else None,
        "sources": [
            {"scope": str(d.scope), "kind": d.kind, "version": d.version, "sha256": d.sha256} for d in applicable
        ],
    }
