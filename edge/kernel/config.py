"""The edge host's configuration: one TOML file, read into typed, validated dataclasses.

Relative paths in the file are resolved against the folder holding the file,
so the same config works whatever directory the agent is started from (a
systemd unit, a shell in the repository, a test's temp dir).

Validation is strict on purpose: an unknown key is an error (a typo in
``approvers`` must not silently leave a route without approvers), and every
error names the place in the file.

The kernel reads the tables every part shares (village, people, routes, money, [web], [camera], [central]) and
the seal's own top-level tables, whose keys predate the parts and stay where they are ([[devices]], [timing],
[firmware]). Every other part reads its own section: :class:`edge.kernel.contract.ConfigSection`, passed in
by whoever loads the file, parsed into ``EdgeConfig.sections[name]``.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from edge.kernel.errors import ConfigError, InputError
from edge.kernel.fmt import DEFAULT_MAX_AMOUNT_FEN, SQLITE_MAX_INT
from edge.kernel.toml import ConfigSection, Table
from edge.kernel.websettings import WebSettings, parse_web
from edge.ledger.keys import public_key_from_b64
from edge.ledger.wire import ROSTER_ROLES
from edge.ocr.settings import CameraSettings, parse_camera

SEAL_KINDS = ("official", "finance", "contract", "legal_rep")
SEAL_NAMES = {"official": "公章", "finance": "财务专用章", "contract": "合同专用章", "legal_rep": "法人章"}
ROUTE_MODES = ("chain", "n_of_m")

MAX_VALID_S = 86400  # the device refuses a longer grant window (firmware/board.py)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # in Chinese, as shown on screen
    roles: frozenset[str]
    village: str

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class UseHours:
    """A seal's hours of use ([devices.hours]): workdays opens..closes local time; edge/seal/hours.py decides."""

    opens: time
    closes: time
    timezone: str  # an IANA name, e.g. Asia/Shanghai
    holidays: frozenset[date] = frozenset()  # workdays the office is closed (国庆, 春节...)
    workdays: frozenset[date] = frozenset()  # weekend days worked instead (调休)
    urgent_approver: str | None = None  # the one more approver an urgent use outside the hours needs, if none is left on its route


@dataclass(frozen=True)
class DeviceConfig:
    """One seal sleeve: which seal it holds, where its serial line is, who keeps it."""

    name: str  # the handle people use ("official-1"); stable across board replacements
    seal: str
    url: str  # /dev/ttyUSB0 on the Pi, socket://HOST:PORT with hostsim
    custodian: str
    device_id: str | None = None  # optional here: bound at enrolment from the board's identity
    hours: UseHours | None = None  # None: grants may be used at any time


@dataclass(frozen=True)
class RouteRule:
    """Who approves requests for these seal kinds in this amount range [min_fen, max_fen)."""

    name: str
    seals: tuple[str, ...]
    min_fen: int
    max_fen: int | None
    mode: str  # "chain": every approver, in order; "n_of_m": any n of the approvers
    approvers: tuple[str, ...]
    n: int

    def matches(self, seal: str, amount_fen: int) -> bool:
        return seal in self.seals and self.min_fen <= amount_fen and (self.max_fen is None or amount_fen < self.max_fen)

    def to_body(self) -> dict[str, Any]:
        """The route as frozen into a request when it is filed."""
        return {"rule": self.name, "mode": self.mode, "n": self.n, "approvers": list(self.approvers)}


@dataclass(frozen=True)
class Timing:
    approval_ttl_s: int = 86400  # an approved request may wait this long for its device, then it expires
    use_window_s: int = 600  # validity of a grant on the device
    heartbeat_s: float = 2.0  # device link keep-alive; offline after three silent beats
    poll_s: float = 0.3  # how often the agent looks for steps taken by other processes
    grant_retry_s: float = 1.0  # pause before re-sending a grant the device provably did not take


@dataclass(frozen=True)
class FirmwareConfig:
    """Which firmware the seals may run: releases signed by this key, allowed one by one."""

    release_pubkey: Path | None = None  # None: no allow-list, every firmware hash gets grants
    release_dir: Path | None = None  # the release `qinglian flash` installs unless told otherwise

    @property
    def enforced(self) -> bool:
        return self.release_pubkey is not None


@dataclass(frozen=True)
class MoneySettings:
    """[money]: the bounds of an amount a request may state (edge/money.py reads and checks amounts)."""

    max_amount_fen: int = DEFAULT_MAX_AMOUNT_FEN  # 1 亿元 unless the village sets its own ceiling


@dataclass(frozen=True)
class EdgeConfig:
    path: Path
    village: str
    data_dir: Path
    key_file: Path  # master key for the device keys; keep it outside data_dir's backups
    devices: tuple[DeviceConfig, ...]
    people: Mapping[str, Person]
    routes: tuple[RouteRule, ...]
    timing: Timing = field(default_factory=Timing)
    firmware: FirmwareConfig = field(default_factory=FirmwareConfig)
    web: WebSettings = field(default_factory=WebSettings)  # [web]: the console (edge/web/settings.py)
    camera: CameraSettings | None = None  # [camera]: photo evidence (edge/ocr/settings.py); None: no photos
    central: CentralSettings | None = None  # [central]: sync with the central store (edge/centralconfig.py)
    money: MoneySettings = field(default_factory=MoneySettings)  # [money]: the amount ceiling
    sections: Mapping[str, Any] = field(default_factory=dict)  # each registered part's own section, parsed by it

    # -- look-ups that raise clear errors -----------------------------------

    def person(self, person_id: str) -> Person:
        person = self.people.get(person_id)
        if person is None:
            raise InputError(f"没有此人 unknown person {person_id!r}", "unknown_person")
        return person

    def name_of(self, person_id: str) -> str:
        """The person's name as shown on screen; the id itself when the roster no longer lists them."""
        person = self.people.get(person_id)
        return person.name if person else person_id

    def device(self, name: str) -> DeviceConfig:
        for device in self.devices:
            if device.name == name:
                return device
        raise InputError(f"没有此设备 unknown device {name!r}", "unknown_device")

    def route_for(self, seal: str, amount_fen: int) -> RouteRule:
        for rule in self.routes:
            if rule.matches(seal, amount_fen):
                return rule
        raise InputError(
            f"没有适用的审批路线 no approval route for seal {seal} ({SEAL_NAMES.get(seal, seal)}) and amount {amount_fen} fen",
            "no_route",
        )

    def with_device_url(self, name: str, url: str) -> EdgeConfig:
        """A copy with one device's serial URL replaced (the demo's board gets a fresh port each run)."""
        self.device(name)
        devices = tuple(replace(d, url=url) if d.name == name else d for d in self.devices)
        return replace(self, devices=devices)


@dataclass(frozen=True)
class CentralSettings:
    url: str
    edge_id: str
    sync_interval_s: float = 60.0
    batch_size: int = 1000
    # The public key of the central's decision log, pinned (base64, as GET /api/v1/central/pubkey and the
    # central's /central/pubkey page show it): the edge applies only documents it signed. None: it takes none.
    decision_key: str | None = None


def parse_central(t: Table) -> CentralSettings | None:
    """``[central]``, or ``None`` when the section is absent (the edge then works alone)."""
    if not t.raw:
        t.done()
        return None
    url = t.string("url")
    if not url.startswith(("http://", "https://")):
        raise t.fail("url", f"应为 http(s):// 地址 expected an http(s):// URL, got {url!r}")
    edge_id = t.string("edge_id")
    d = CentralSettings(url, edge_id)
    interval = t.number("sync_interval_s", d.sync_interval_s, 0.0)
    batch = t.integer("batch_size", d.batch_size, minimum=1)
    decision_key = t.string("decision_key", required=False) or None
    if decision_key is not None:
        try:
            public_key_from_b64(decision_key)
        except ValueError as exc:
            raise t.fail("decision_key", f"{exc} (中心库 /central/pubkey 页面所示的公钥 the key the central's pubkey page shows)") from None
    t.done()
    return CentralSettings(url, edge_id, interval, batch if batch is not None else d.batch_size, decision_key)


# -- reading ----------------------------------------------------------------


def load_config(path: Path | str, sections: Sequence[ConfigSection] = ()) -> EdgeConfig:
    """Read and validate a config file; :class:`ConfigError` names what is wrong and where."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"无法读取配置文件 cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误 {path}: invalid TOML: {exc}") from None
    return parse_config(raw, path, sections)


def parse_config(raw: Mapping[str, Any], path: Path, sections: Sequence[ConfigSection] = ()) -> EdgeConfig:
    base = path.resolve().parent
    t = Table(raw, path.name)
    village = t.string("village")
    data_dir = (base / t.string("data_dir")).resolve()
    key_file = (base / t.string("key_file")).resolve()
    timing = _timing(t.table("timing", required=False))
    firmware = _firmware(t.table("firmware", required=False), base)
    people = parse_people(t.array("people"), village)
    devices = _devices(t.array("devices"), people)
    routes = parse_routes(t.array("routes"), people)
    web = parse_web(t.table("web", required=False))
    camera = parse_camera(t.table("camera", required=False))
    central = parse_central(t.table("central", required=False))
    money = _money(t.table("money", required=False))
    parsed = {s.name: s.parse(t.table(s.name, required=False)) for s in sections}
    t.done()
    return EdgeConfig(
        path.resolve(), village, data_dir, key_file, devices, people, routes, timing, firmware, web=web, camera=camera,
        central=central, money=money, sections=parsed,
    )  # fmt: skip


def _identifier(t: Table, key: str) -> str:
    value = t.string(key)
    if not _ID_RE.match(value):
        raise t.fail(key, f"只能用字母、数字、-_. (最多40个) letters, digits, - _ . only, up to 40: {value!r}")
    return value


def _required_int(value: int | None) -> int:
    assert value is not None  # the getter was given a default
    return value


def _timing(t: Table) -> Timing:
    d = Timing()
    timing = Timing(
        approval_ttl_s=_required_int(t.integer("approval_ttl_s", d.approval_ttl_s, minimum=1)),
        use_window_s=_required_int(t.integer("use_window_s", d.use_window_s, minimum=1)),
        heartbeat_s=t.number("heartbeat_s", d.heartbeat_s, 0.0),
        poll_s=t.number("poll_s", d.poll_s, 0.0),
        grant_retry_s=t.number("grant_retry_s", d.grant_retry_s, 0.0),
    )
    if timing.use_window_s > MAX_VALID_S:
        raise t.fail("use_window_s", f"设备最多接受 {MAX_VALID_S} 秒 the device accepts at most {MAX_VALID_S} s")
    t.done()
    return timing


def _money(t: Table) -> MoneySettings:
    ceiling = _required_int(t.integer("max_amount_fen", DEFAULT_MAX_AMOUNT_FEN, minimum=1))
    if ceiling > SQLITE_MAX_INT:
        raise t.fail("max_amount_fen", f"超出 64 位整数范围 must fit in 64 bits (≤ {SQLITE_MAX_INT}), got {ceiling}")
    t.done()
    return MoneySettings(ceiling)


def _firmware(t: Table, base: Path) -> FirmwareConfig:
    pubkey = t.string("release_pubkey", required=False)
    path = (base / pubkey).resolve() if pubkey else None
    if path is not None and not path.is_file():
        raise t.fail("release_pubkey", f"找不到发布公钥 release public key not found: {path}")
    release_dir = t.string("release_dir", required=False)
    t.done()
    return FirmwareConfig(path, (base / release_dir).resolve() if release_dir else None)


def parse_people(tables: list[Table], village: str) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for t in tables:
        person_id = _identifier(t, "id")
        roles = t.strings("roles")
        for role in roles:
            if role not in ROSTER_ROLES:
                raise t.fail("roles", f"未知角色 unknown role {role!r}; use {', '.join(ROSTER_ROLES)}")
        person = Person(person_id, t.string("name"), frozenset(roles), t.string("village", required=False) or village)
        t.done()
        if person_id in people:
            raise t.fail("id", f"重复的人员 duplicate person id {person_id!r}")
        people[person_id] = person
    return people


def _devices(tables: list[Table], people: Mapping[str, Person]) -> tuple[DeviceConfig, ...]:
    devices: list[DeviceConfig] = []
    for t in tables:
        name = _identifier(t, "name")
        seal = t.string("seal")
        if seal not in SEAL_KINDS:
            raise t.fail("seal", f"未知印章种类 unknown seal kind {seal!r}; use {', '.join(SEAL_KINDS)}")
        custodian = t.string("custodian")
        person = people.get(custodian)
        if person is None or not person.has("custodian"):
            raise t.fail("custodian", f"{custodian!r} 不是名册中的印章管理员 is not a custodian in [[people]]")
        device_id = t.string("device_id", required=False) or None
        hours = _hours(t.table("hours", required=False), people, custodian)
        device = DeviceConfig(name, seal, t.string("url"), custodian, device_id, hours)
        t.done()
        for other in devices:
            if other.name == name:
                raise t.fail("name", f"重复的设备名 duplicate device name {name!r}")
            if device_id is not None and other.device_id == device_id:
                raise t.fail("device_id", f"重复的设备编号 duplicate device id {device_id!r}")
        devices.append(device)
    return tuple(devices)


def _clock_time(t: Table, key: str) -> time:
    text = t.string(key)
    if not re.fullmatch(r"\d\d:\d\d", text):
        raise t.fail(key, f"应为 HH:MM expected a time like 08:30, got {text!r}")
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise t.fail(key, f"不是有效时间 not a valid time: {text!r}") from None


def _dates(t: Table, key: str) -> frozenset[date]:
    days: set[date] = set()
    for text in t.strings(key, required=False):
        try:
            days.add(date.fromisoformat(text))
        except ValueError:
            raise t.fail(key, f"应为 YYYY-MM-DD expected dates like 2026-10-01, got {text!r}") from None
    return frozenset(days)


def _hours(t: Table, people: Mapping[str, Person], custodian: str) -> UseHours | None:
    """``[devices.hours]``, or None when absent (no limit)."""
    if not t.raw:
        t.done()
        return None
    opens, closes = _clock_time(t, "open"), _clock_time(t, "close")
    if closes <= opens:
        raise t.fail("close", f"应晚于 open must be later than open ({opens:%H:%M}), got {closes:%H:%M}")
    zone = t.string("timezone")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise t.fail("timezone", f"未知时区 unknown time zone {zone!r} (e.g. Asia/Shanghai)") from None
    holidays, workdays = _dates(t, "holidays"), _dates(t, "workdays")
    if holidays & workdays:
        raise t.fail("workdays", f"与 holidays 重复 also listed as holidays: {sorted(str(d) for d in holidays & workdays)}")
    urgent = t.string("urgent_approver", required=False) or None
    if urgent is not None:
        person = people.get(urgent)
        if person is None or not person.has("approver") or urgent == custodian:
            raise t.fail("urgent_approver", f"{urgent!r} 应为名册中的审批人且不是印章管理员 must be an approver in [[people]], not the custodian")
    t.done()
    return UseHours(opens, closes, zone, holidays, workdays, urgent)


def parse_routes(tables: list[Table], people: Mapping[str, Person]) -> tuple[RouteRule, ...]:
    routes: list[RouteRule] = []
    for i, t in enumerate(tables):
        name = t.string("name", required=False) or f"route-{i + 1}"
        seals = t.strings("seal")
        for seal in seals:
            if seal not in SEAL_KINDS:
                raise t.fail("seal", f"未知印章种类 unknown seal kind {seal!r}; use {', '.join(SEAL_KINDS)}")
        min_fen = _required_int(t.integer("min_fen", 0, minimum=0))
        max_fen = t.integer("max_fen", None)
        if max_fen is not None and max_fen <= min_fen:
            raise t.fail("max_fen", f"应大于 min_fen must exceed min_fen ({min_fen}), got {max_fen}")
        mode = t.string("mode")
        if mode not in ROUTE_MODES:
            raise t.fail("mode", f"应为 chain 或 n_of_m expected 'chain' or 'n_of_m', got {mode!r}")
        approvers = t.strings("approvers")
        for approver in approvers:
            person = people.get(approver)
            if person is None or not person.has("approver"):
                raise t.fail("approvers", f"{approver!r} 不是名册中的审批人 is not an approver in [[people]]")
        n = t.integer("n", None)
        if mode == "chain":
            if n is not None and n != len(approvers):
                raise t.fail("n", "顺序审批需全部审批人 a chain needs every approver; leave n out")
            n = len(approvers)
        elif n is None or not 1 <= n <= len(approvers):
            raise t.fail("n", f"应在 1..{len(approvers)} 之间 must be in 1..{len(approvers)} for n_of_m, got {n!r}")
        t.done()
        routes.append(RouteRule(name, seals, min_fen, max_fen, mode, approvers, n))
    return tuple(routes)
