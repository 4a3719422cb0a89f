"""The central's roles and what scope each is held in."""

from __future__ import annotations

ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER, SUPPLIER, BANK = "admin", "county_officer", "township_officer", "supplier", "bank"
#: A supplier's or bank's account before a county officer approves its application: it may see its status only.
APPLICANT = "applicant"
#: A read-only supervisor token (central.store.Principal's default role), not an account.
SUPERVISOR = "supervisor"

ROLES = (ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER, SUPPLIER, BANK)
ROLE_NAMES = {
    ADMIN: "系统管理员", COUNTY_OFFICER: "县级监管", TOWNSHIP_OFFICER: "乡镇审核/纪检",
    SUPPLIER: "供应商", BANK: "银行", APPLICANT: "注册待审", SUPERVISOR: "督查(只读令牌)",
}  # fmt: skip
#: Roles an administrator creates (scoped to a place); suppliers and banks apply themselves.
STAFF_ROLES = (ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER)
ORG_ROLES = (SUPPLIER, BANK)
#: Who may read the villages' synced records (the supervisors' pages and JSON API), each in their scope.
SUPERVISING = frozenset({SUPERVISOR, ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER})
#: The scope level each staff role is held in.
SCOPE_LEVEL = {ADMIN: "all", COUNTY_OFFICER: "county", TOWNSHIP_OFFICER: "township"}
