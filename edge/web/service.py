"""Who is logged in and what they may do here: roles, per-village scoping, and the console's hold on the agent.

Accounts map to people of the edge config's roster (``person``); every step is
taken as that person through the edge agent (:class:`ConsoleAgent`), so the agent's
separation of duties applies unchanged. This layer adds what the agent does not
know about: that an account only acts inside the villages its role covers. An
edge host serves one village (``config.village``): an account that does not
cover it sees nothing here. Each part's own steps sit beside its router (the
seal's: :mod:`edge.seal.web.service`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiosqlite

from edge.kernel.accounts import PERSON_ROLES
from edge.kernel.config import EdgeConfig, Person
from edge.kernel.documents import StoredDocument
from edge.kernel.recorder import Recorder
from edge.kernel.websettings import WebSettings
from edge.ledger import Entry
from edge.seal.db import EdgeDB, RequestView
from edge.web.store import Account, WebStore
from edge.web.uploads import disk_short

if TYPE_CHECKING:
    from edge.seal.evidence import Evidence
    from edge.seal.personcam import PersonCam

T = TypeVar("T")


class ConsoleAgent(Protocol):
    """What the console (the shell and the seal's pages) uses of the edge agent, :class:`edge.agent.EdgeAgent`.

    Named here rather than imported: the agent registers the parts, whose routers import this module."""

    @property
    def config(self) -> EdgeConfig: ...
    @property
    def recorder(self) -> Recorder[EdgeDB]: ...
    @property
    def db(self) -> EdgeDB: ...
    @property
    def evidence(self) -> Evidence | None: ...
    @property
    def person(self) -> PersonCam | None: ...

    async def record_account(self, kind: str, body: dict[str, Any]) -> int: ...
    async def file_request(
        self, applicant: str, matter: str, seal: str, presses: int, document: Path | StoredDocument,
        amount_fen: int = 0, device: str | None = None,
    ) -> RequestView: ...  # fmt: skip
    async def approve(
        self, request_id: str, approver: str, account: str | None = None, comment: str | None = None
    ) -> RequestView: ...
    async def reject(self, request_id: str, approver: str, reason: str, account: str | None = None) -> RequestView: ...
    async def regrant(self, request_id: str, approver: str, account: str | None = None) -> RequestView: ...
    async def withdraw(self, request_id: str, applicant: str, account: str | None = None) -> RequestView: ...
    async def mark_urgent(self, request_id: str, applicant: str, reason: str, account: str | None = None) -> RequestView: ...
    async def hand_over(
        self, request_id: str, approver: str, to: str, reason: str, account: str | None = None
    ) -> RequestView: ...
    async def remind(self, request_id: str, applicant: str, account: str | None = None) -> list[str]: ...
    async def get_request(self, request_id: str) -> RequestView: ...
    async def list_requests(self, status: str | None = None, person: str | None = None) -> list[RequestView]: ...
    async def request_detail(self, request_id: str) -> dict[str, Any]: ...
    async def request_records(self, request_id: str) -> list[Entry]: ...
    async def device_status(self) -> list[dict[str, Any]]: ...

PASSWORD_CHANGE_REQUIRED = "您的密码由管理员设置，请先在“我的账号”中修改为只有您自己知道的密码，然后才能审批。"


@dataclass(frozen=True)
class Principal:
    """A logged-in account with its roles as they apply on this edge host."""

    account: Account
    roles: frozenset[str]  # effective: in scope, and person roles backed by the roster
    person: Person | None
    in_scope: bool

    @property
    def person_id(self) -> str | None:
        return self.person.id if self.person else None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def may_file(self) -> bool:
        return self.person is not None and bool(self.roles & {"applicant", "custodian"})

    @property
    def may_decide(self) -> bool:
        return self.person is not None and "approver" in self.roles

    @property
    def may_read_ledger(self) -> bool:
        return bool(self.roles & {"supervisor", "admin"})

    @property
    def may_see_devices(self) -> bool:
        return bool(self.roles & {"custodian", "supervisor", "admin", "village_staff"})

    @property
    def may_press_sim(self) -> bool:
        return bool(self.roles & {"custodian", "admin"})

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class SimControl:
    """The simulated board's control port, for the demo's "press" button (absent on real hardware)."""

    def __init__(self, board: Any, agent: ConsoleAgent | None = None) -> None:
        self.board = board
        self.agent = agent
        self._lock = asyncio.Lock()

    async def press(self, page: Path | None = None) -> None:
        """Press once; with a camera, ``page`` (an image) is laid under it first, as the custodian lays
        the approved original on the desk before stamping it."""
        async with self._lock:
            camera = self.board.camera_url is not None
            if page is not None and camera:
                await asyncio.to_thread(self.board.control.camera, "place", file=str(page))
            evidence = self.agent.evidence if self.agent is not None else None
            if evidence is None or not camera:
                await asyncio.to_thread(self.board.control.press)
                return
            shots = evidence.shots
            unlocked = (await asyncio.to_thread(self.board.control.state)).get("lock") == "unlocked"
            await asyncio.to_thread(self.board.control.press)
            if unlocked:
                # A custodian holds the stamped sheet still until the desk camera has taken it, and only
                # then lays the next one: a click on "press" before that waits here, in the lock.
                await evidence.photographed(shots + 1, evidence.settings.timeout_s + 5)

    async def state(self) -> dict[str, Any]:
        async with self._lock:
            result: dict[str, Any] = await asyncio.to_thread(self.board.control.state)
            return result


class Console:
    def __init__(self, agent: ConsoleAgent, store: WebStore, settings: WebSettings, sim: SimControl | None = None) -> None:
        self.agent = agent
        self.store = store
        self.settings = settings
        self.sim = sim
        self.notifier: Any = None  # edge.notify.notifier.Notifier, when running
        self.vapid_public_key: str | None = None

    @property
    def config(self) -> EdgeConfig:
        """The agent's configuration as it is now: a roster or routing taken from the central store
        replaces it while the console runs."""
        return self.agent.config

    # -- who -------------------------------------------------------------------------------------

    def principal(self, account: Account) -> Principal:
        in_scope = account.covers(self.config.village)
        person = self.config.people.get(account.person) if account.person else None
        if not in_scope:
            return Principal(account, frozenset(), person, False)
        roles = {r for r in account.roles if r not in PERSON_ROLES}
        if person is not None:
            roles |= {r for r in account.roles & PERSON_ROLES if person.has(r)}
        return Principal(account, frozenset(roles), person, True)

    async def village_list(self, read: Callable[[aiosqlite.Connection, str], Awaitable[T]]) -> T:
        """A part's list for this village (an export, what it publishes), read from the working state
        between two steps."""
        async with self.agent.recorder.step():
            return await read(self.agent.db.conn, self.config.village)

    async def projection_anomalies(self) -> list[dict[str, Any]]:
        """Ledger entries the working state could not take ({entry, kind, reason, ts}): for the ledger page."""
        async with self.agent.recorder.step():
            return await self.agent.db.projection_anomalies()

    async def device_names(self) -> dict[str, str]:
        """device id → configured name, for every enrolled board (and ids pinned in the config)."""
        names = {d.device_id: d.name for d in self.config.devices if d.device_id}
        async with self.agent.recorder.step():
            for d in await self.agent.db.devices():
                names[d.device_id] = d.name
        return names

    def name_of(self, person_id: str | None) -> str:
        return self.config.name_of(person_id) if person_id else "-"

    def storage_warning(self) -> str | None:
        """For the admin: why uploads are stopped (the disk under data_dir is below its floor), or None."""
        return disk_short(self.config.data_dir, self.settings.min_free_bytes)
