"""Shared pieces of the whistleblower tests: an agent with the module, a clock the test moves, the township
officer's key pair (its private half is the central store's), a 1+2+N roster and console accounts for it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from edge_support import config_for
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.modules.whistleblower import WHISTLEBLOWER, crypto
from edge.modules.whistleblower.desk import WhistleDesk
from edge.modules.whistleblower.settings import Settings
from edge.seal.part import SEAL
from edge.web.store import WebStore

PARTS = (SEAL, WHISTLEBLOWER)  # only the parts these tests are about
PASSPHRASE = "zhan-zhang-kou-ling-2026"
ROSTER = [
    {"role": "head", "id": "zhoujian", "name": "周建", "group": "veteran"},
    {"role": "liaison", "id": "wuxia", "name": "吴霞", "group": "committee"},
    {"role": "liaison", "id": "sunqiang", "name": "孙强", "group": "representative"},
    {"role": "informant", "id": "zhengli", "name": "郑丽", "group": "representative"},
    {"role": "informant", "id": "fenghua", "name": "冯华", "group": "worthy"},
]
# 2026-03-02 09:00 in Asia/Shanghai
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def open_agent(folder: Path, township: X25519PrivateKey, clock: Clock) -> EdgeAgent:
    config = config_for(folder, "socket://127.0.0.1:9")
    settings = Settings(township_public_key=crypto.public_text(township.public_key()))
    config = replace(config, sections={**config.sections, "whistleblower": settings})
    return await EdgeAgent.open(config, clock=clock, parts=PARTS)


async def set_up_station(agent: EdgeAgent) -> WhistleDesk:
    desk = WhistleDesk(agent.recorder, agent.config)
    await desk.save_station("测试村监察工作联络站", ROSTER)
    await desk.set_keys("zhoujian", PASSPHRASE)
    return desk


async def seed_team(store: WebStore, agent: EdgeAgent) -> None:
    for member in ROSTER:
        await seed_account(store, agent, member["id"], ["village_staff"], None)
    await seed_account(store, agent, "admin", ["admin"], None)
    await seed_account(store, agent, "outsider", ["village_staff"], None)


def all_bytes(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def found_in(folder: Path, needle: bytes) -> list[Path]:
    return [p for p, data in all_bytes(folder) if needle in data]
