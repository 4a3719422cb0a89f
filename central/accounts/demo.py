"""The demo's central accounts (``make demo``): a township officer and a county officer over the demo's village,
an administrator, and a supplier and a bank whose applications the county officer has approved, so a newcomer can
log in as each and see its 我的工作. Made once through the same steps as real ones; a second run adds nothing."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from central.accounts import roles as R
from central.accounts.shell import account_principal
from central.accounts.store import AccountStore
from central.decisions.log import DecisionLog
from central.store import CentralStore, Principal

#: A 1x1 white PNG: the demo applications' licence scan.
SAMPLE_SCAN = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5ErkJggg=="
)
#: (username, role, what to try as it), in the order the demo's banner lists them.
DEMO_CENTRAL_ACCOUNTS = (
    ("hezhen", R.TOWNSHIP_OFFICER, "乡镇审核/纪检：本镇的村"),
    ("xianguan", R.COUNTY_OFFICER, "县级监管：本县的村、供应商与银行注册审批"),
    ("zhongxin", R.ADMIN, "系统管理员：账号管理"),
    ("lvshan", R.SUPPLIER, "供应商（已通过审批）"),
    ("nongshang", R.BANK, "银行（已通过审批）"),
)
#: The supplier's and bank's applications: real, well-formed unified social credit codes.
_ORGS = {
    "lvshan": ("绿山办公用品有限公司", "91350100M000100Y43", ["办公用品", "建材五金"]),
    "nongshang": ("萧山农村商业银行河上支行", "91330100799655058B", []),
}
_NAMES = {"hezhen": "何镇审", "xianguan": "徐县监", "zhongxin": "中心管理员"}


@dataclass(frozen=True)
class DemoSite:
    """What a central part's demo hook (``CentralPart.demo``) works with: the store, its decision log, the demo's
    county and township, the demo village's edge, and the demo's one password (for the organisations it adds)."""

    store: CentralStore
    decisions: DecisionLog
    county: str
    township: str
    edge_id: str
    password: str

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.store.db)

    async def principal(self, username: str) -> Principal:
        """A demo account as the pages see it when it is logged in (its role and scope)."""
        account = await self.accounts.account(username)
        if account is None:
            raise LookupError(f"no demo account {username!r}")
        application = await self.accounts.application_of(username)
        return account_principal(account, application is not None and application.status == "approved")

    async def ensure_organisation(self, username: str, role: str, org: str, code: str, categories: Sequence[str]) -> bool:
        """A supplier or bank of the demo county, its application approved by the county officer as a real one
        is; False when it already exists (nothing done)."""
        if await self.accounts.account(username) is not None:
            return False
        await _approved(self.accounts, self.county, username, role, org, code, categories, self.password)
        return True


async def _approved(accounts: AccountStore, county: str, username: str, role: str, org: str, code: str,
                    categories: Sequence[str], password: str) -> None:  # fmt: skip
    made = await accounts.apply(
        kind=role, username=username, password=password, org_name=org, credit_code=code, county=county,
        contact_name="王经理", contact_phone="13800001234", categories=categories, licence=SAMPLE_SCAN,
    )  # fmt: skip
    await accounts.decide("county", county, made.id, True, "", "xianguan")


async def ensure_demo_accounts(accounts: AccountStore, county: str, township: str, password: str) -> None:
    """Create whichever demo account is missing, each with ``password`` as its own."""
    scopes = {R.TOWNSHIP_OFFICER: f"township:{county}/{township}", R.COUNTY_OFFICER: f"county:{county}", R.ADMIN: "all"}
    for username, role, _ in DEMO_CENTRAL_ACCOUNTS:
        if await accounts.account(username) is not None:
            continue
        if role in R.STAFF_ROLES:
            await accounts.create_staff(username, _NAMES[username], role, scopes[role], password, "demo", own_password=True)
            continue
        org, code, categories = _ORGS[username]
        await _approved(accounts, county, username, role, org, code, categories, password)
