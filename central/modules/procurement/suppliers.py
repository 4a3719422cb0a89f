"""Which suppliers may bid on a demand: qualified by the county (their registration approved by a county
officer, central/accounts) for the demand's category, in the demand's county.

A pure rule over the accounts' applications, so the township's review page, the county's list and (later) the
bidding window ask the same question the same way. The credit index (below 80: blacklisted) will narrow it
further when the credit decisions exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from central.accounts.roles import SUPPLIER
from central.accounts.store import SUPPLIER_CATEGORIES, Application


def qualified(applications: Iterable[Application], category: str) -> list[Application]:
    """The approved suppliers that registered for ``category``, by name."""
    found = [a for a in applications if a.kind == SUPPLIER and a.status == "approved" and category in a.categories]
    return sorted(found, key=lambda a: (a.org_name, a.username))


def by_category(applications: Iterable[Application]) -> dict[str, list[Application]]:
    """Every category of the platform with its qualified suppliers (an empty list: none yet)."""
    listed = list(applications)
    return {category: qualified(listed, category) for category in SUPPLIER_CATEGORIES}
