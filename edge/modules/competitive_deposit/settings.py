"""The county's thresholds, as ``[competitive_deposit]`` in the edge config (every key optional):

    [competitive_deposit]
    min_idle_yuan = "3000000.00"    # idle at least this much (含) ...
    min_idle_months = 6             # ... for more than this many months
    sign_days = 3                   # the contract is signed within this many days of the award notice
    plan_grace_days = 30            # an eligible account with no joint-meeting plan after this is flagged
    demand_rate_percent = "0.10"    # the demand-deposit rate the extra income is measured against

Counties differ, so nothing here is fixed in the rules; a config without the table gets these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import edge.modules.competitive_deposit.rules as rules
from edge.kernel.errors import ConfigError
from edge.kernel.fmt import AmountError, parse_yuan
from edge.kernel.toml import ConfigSection, Table

NAME = "competitive_deposit"
MAX_FEN = 10**9 * rules.FEN_PER_YUAN  # 10 亿元: beyond any village account


@dataclass(frozen=True)
class DepositSettings:
    min_idle_fen: int = rules.DEFAULT_MIN_IDLE_FEN
    min_idle_months: int = rules.DEFAULT_MIN_IDLE_MONTHS
    sign_days: int = rules.DEFAULT_SIGN_DAYS
    plan_grace_days: int = 30
    demand_rate_percent: Decimal = rules.DEFAULT_DEMAND_RATE


def parse(t: Table) -> DepositSettings:
    d = DepositSettings()
    text = t.string("min_idle_yuan", required=False)
    try:
        min_fen = parse_yuan(text, MAX_FEN) if text else d.min_idle_fen
    except AmountError as exc:
        raise t.fail("min_idle_yuan", exc.message) from None
    rate_text = t.string("demand_rate_percent", required=False)
    try:
        demand = rules.parse_rate(rate_text) if rate_text else d.demand_rate_percent
    except rules.RuleError as exc:
        raise t.fail("demand_rate_percent", exc.message) from None
    months = t.integer("min_idle_months", d.min_idle_months, minimum=1)
    sign_days = t.integer("sign_days", d.sign_days, minimum=1)
    grace = t.integer("plan_grace_days", d.plan_grace_days, minimum=0)
    t.done()
    assert months is not None and sign_days is not None and grace is not None  # defaults given
    if months > 120 or sign_days > 365 or grace > 365:
        raise ConfigError("配置错误 competitive_deposit: 月数不超过 120，天数不超过 365")
    return DepositSettings(min_fen, months, sign_days, grace, demand)


SECTION = ConfigSection(NAME, parse)


def settings_of(config: Any) -> DepositSettings:
    """The parsed table, or the defaults when the config was loaded without the parts' sections."""
    found = config.sections.get(NAME)
    return found if isinstance(found, DepositSettings) else DepositSettings()
