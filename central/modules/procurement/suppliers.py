"""Which suppliers may bid on a demand: qualified by the county (their registration approved by a county
officer, central/accounts) for the demand's category, in the demand's county.

A pure rule over the accounts' applications, so the township's review page, the county's list and (later) the
bidding window ask the same question the same way; a blacklisted supplier (credit index below 80) is left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from central.accounts.roles import SUPPLIER
from central.accounts.store import SUPPLIER_CATEGORIES, Application


def qualified(
    applications: Iterable[Application], category: str, blacklisted: Collection[str] = ()
) -> list[Application]:
    """The approved suppliers that registered for ``category`` and are not blacklisted, by name."""
    found = [
        a for a in applications
        if a.kind == SUPPLIER and a.status == "approved" and category in a.categories and a.username not in blacklisted
    ]  # fmt: skip
    return sorted(found, key=lambda a: (a.org_name, a.username))


def by_category(applications: Iterable[Application], blacklisted: Collection[str] = ()) -> dict[str, list[Application]]:
    """Every category of the platform with its qualified suppliers (an empty list: none yet)."""
    listed = list(applications)
    return {category: qualified(listed, category, blacklisted) for category in SUPPLIER_CATEGORIES}
