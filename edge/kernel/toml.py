"""The strict TOML table reader every config section uses, and a part's section (:class:`ConfigSection`): typed getters that name the key on error, and a
check for leftovers (an unknown key is an error: a typo in ``approvers`` must not silently leave a route
without approvers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.kernel.errors import ConfigError


class Table:
    """A TOML table being read: typed getters that name the key on error, and a check for leftovers."""

    def __init__(self, raw: Any, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"配置错误 {where}: 应为表 expected a table")
        self.raw = raw
        self.where = where
        self.seen: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.raw:
            if required:
                raise ConfigError(f"配置缺少 {self.where}: missing key {key!r}")
            return None
        return self.raw[key]

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"配置错误 {self.where}.{key}: {what}")

    def string(self, key: str, required: bool = True) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"应为非空字符串 expected a non-empty string, got {value!r}")
        return value.strip()

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int | None:
        value = self._get(key, False)
        if value is None:
            return default
        if type(value) is not int:
            raise self.fail(key, f"应为整数 expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"应 ≥ {minimum} must be ≥ {minimum}, got {value}")
        return value

    def number(self, key: str, default: float, minimum: float) -> float:
        value = self._get(key, False)
        if value is None:
            return default
        if type(value) not in (int, float) or value <= minimum:
            raise self.fail(key, f"应为大于 {minimum} 的数 expected a number > {minimum}, got {value!r}")
        return float(value)

    def strings(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self._get(key, required)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"应为非空字符串列表 expected a non-empty list of strings, got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail(key, f"有重复项 has duplicates: {value!r}")
        return tuple(value)

    def table(self, key: str, required: bool = True) -> Table:
        value = self._get(key, required)
        return Table({} if value is None else value, f"{self.where}.{key}" if self.where else key)

    def array(self, key: str) -> list[Table]:
        value = self._get(key, True)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "应为非空的表数组 expected a non-empty array of tables ([[...]])")
        return [Table(item, f"{key}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.seen)
        if unknown:
            raise ConfigError(f"配置错误 {self.where}: 未知的键 unknown key(s) {', '.join(map(repr, unknown))}")


@dataclass(frozen=True)
class ConfigSection:
    """A part's own TOML table: ``parse`` turns the table (empty when absent) into the part's settings, found
    in ``EdgeConfig.sections[name]``; the strict reader raises ``ConfigError`` naming a bad or unknown key."""

    name: str
    parse: Callable[[Table], Any]
