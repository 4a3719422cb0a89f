"""``[whistleblower]`` in the edge config: the township discipline officer's public key (its private half lives
at the central store, never here), how long an unlocked head key stays unlocked, and the rating rule.

    [whistleblower]
    township_public_key = "base64 of the officer's raw X25519 public key"
    unlock_minutes = 30
    gold_quota = 1
    silver_quota = 2
    gold_min_confirmed = 2
    gold_min_solved = 1
    silver_min_confirmed = 1
    [whistleblower.pay_factors]
    gold = "1.2"
    silver = "1.1"
    ordinary = "1.0"
    mute = "0.8"
    black = "0"
"""

from __future__ import annotations

from dataclasses import dataclass, field

import edge.modules.whistleblower.crypto as crypto
from edge.kernel.errors import InputError
from edge.kernel.toml import ConfigSection, Table
from edge.modules.whistleblower.kinds import NAME
from edge.modules.whistleblower.rules import RATINGS, RatingRules, check_rules


@dataclass(frozen=True)
class Settings:
    township_public_key: str | None = None
    unlock_minutes: int = 30
    rules: RatingRules = field(default_factory=RatingRules)


def parse(t: Table) -> Settings:
    key = t.string("township_public_key", required=False) or None
    if key is not None:
        try:
            crypto.load_public(key)
        except InputError as exc:
            raise t.fail("township_public_key", exc.message) from None
    d, r = Settings(), RatingRules()
    unlock = t.integer("unlock_minutes", d.unlock_minutes, minimum=1) or d.unlock_minutes
    ints = {
        n: t.integer(n, getattr(r, n), minimum=0)
        for n in ("gold_quota", "silver_quota", "gold_min_confirmed", "gold_min_solved", "silver_min_confirmed")
    }
    factors = dict(r.pay_factors)
    ft = t.table("pay_factors", required=False)
    for rating in RATINGS:
        value = ft.string(rating, required=False)
        if value:
            factors[rating] = value
    ft.done()
    rules = RatingRules(**{k: v if v is not None else 0 for k, v in ints.items()}, pay_factors=factors)
    try:
        check_rules(rules)
    except InputError as exc:
        raise t.fail("pay_factors", exc.message) from None
    t.done()
    return Settings(key, unlock, rules)


SECTION = ConfigSection(NAME, parse)


def settings_of(config: object) -> Settings:
    """The parsed section, or the defaults when whoever loaded the config did not pass the section."""
    found = getattr(config, "sections", {}).get(NAME)
    return found if isinstance(found, Settings) else Settings()
