"""`make demo`: the township's guide-price catalogue, a pool of a dozen contractors, one project waiting for
approval, one drawn and quoting, and one carried through to settlement with its published record — seeded
through the module's own desk as the village's steps would be (ledger entries first).

The quoting project (村口排水沟改造) is the township's real round: the village recommends the demo's supplier
company (its credit code is the central demo supplier's) with its value's commitment; the central's demo hook
fixes the draw, and when the fixing has come down over the demo's sync the village reveals its value here (a
later pass of this hook); the central then draws, invites and takes the sealed quotes, and its signed documents
come down. What still stands in for the township's documents (their ``document`` says ``demo``) is the first
catalogue and the settled project's fixing, draw, invitation and opening: its draw is computed by the same rule
the township runs (:func:`rules.draw`) from published seed sources, so its record re-runs with ``qinglian
projects verify-draw``, and its opening by the same rule (:func:`rules.opening`). A second run adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import edge.modules.small_project.desk as desk  # noqa: PLR0402 (no cycle through the package)
import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.accounts import Actor, host_operator
from edge.kernel.routing import awaiting
from edge.ledger.localtime import local_today

CATALOGUE = {"version": "2026-下半年", "effective": "2026-07-01", "items": [
    {"code": "DL-01", "name": "C25 混凝土路面（厚 20cm）", "unit": "平方米", "price_fen": 12_000},
    {"code": "DL-02", "name": "花岗岩路缘石安装", "unit": "米", "price_fen": 8_550},
    {"code": "DL-03", "name": "碎石垫层", "unit": "立方米", "price_fen": 16_800},
    {"code": "SL-01", "name": "排水沟开挖及砌筑", "unit": "米", "price_fen": 23_500},
    {"code": "SL-02", "name": "DN600 钢筋混凝土管铺设", "unit": "米", "price_fen": 41_000},
    {"code": "LH-01", "name": "香樟（胸径 10cm）种植", "unit": "株", "price_fen": 68_000},
    {"code": "LH-02", "name": "草皮铺设", "unit": "平方米", "price_fen": 2_600},
    {"code": "FJ-01", "name": "屋面防水翻新", "unit": "平方米", "price_fen": 9_800},
]}  # fmt: skip
_NAMES = ("吴兴鑫达建筑工程", "湖州万家市政工程", "织里通达路桥", "八里店顺安水利", "埭溪青山园林", "道场宏远建设",
          "妙西兴旺土石方", "东林恒丰建筑", "环渚绿源园林", "高新区安居建设", "杨家埠长兴水利", "月河诚信建筑")  # fmt: skip
#: Their unified social credit codes (check characters hold: the township's pool registers them as they are).
_CODES = ("91330502MA2D00001Y", "91330502MA2D000022", "91330502MA2D000035", "91330502MA2D000048", "91330502MA2D00005B",
          "91330502MA2D00006E", "91330502MA2D00007H", "91330502MA2D00008L", "91330502MA2D00009P", "91330502MA2D00010W",
          "91330502MA2D000110", "91330502MA2D000123")  # fmt: skip
POOL = [{"id": _CODES[i], "name": f"湖州市{name}有限公司", "categories": ["道路", "水利"] if i % 3 else ["道路", "水利", "绿化"],
         "blacklisted": i == 6} for i, name in enumerate(_NAMES)]  # fmt: skip


def village_value(project_id: str) -> str:
    return f"{project_id} 村民代表掷骰 4-1-6-6-2-3"


def township_value(project_id: str) -> str:
    return f"{project_id} 乡镇掷骰 5-2-2-6-1-4"


def fixed_body(project_id: str, category: str, recommended: str) -> dict[str, Any]:
    """What the township fixes and publishes before the draw (stand-ins for its log's entry)."""
    return {"project_id": project_id, "category": category, "recommended": recommended, "pool": POOL,
            "pool_hash": rules.pool_hash(rules.parse_pool(POOL)), "commitment": rules.commitment_of(township_value(project_id)),
            "village_commitment": rules.commitment_of(village_value(project_id))}  # fmt: skip


def draw_record(project_id: str, category: str, recommended: str) -> dict[str, Any]:
    """The draw as the township records it: the seed from the village's and the township's revealed values and
    the checkpoint root that followed the fixing (a stand-in here), the pool and the result."""
    sources = [f"village:{village_value(project_id)}", f"township:{township_value(project_id)}", "checkpoint:128:5be1a0f4d2"]
    seed = rules.combine_seed(sources)
    result = rules.draw(rules.parse_pool(POOL), recommended, seed, category)
    return {"pool": POOL, "recommended": recommended, "category": category, "seed": seed, "seed_sources": sources,
            "pool_hash": result.pool_hash, "drawn": list(result.drawn)}  # fmt: skip


async def _approve(host: Any, project_id: str) -> None:
    """Each approver of the village's route in turn, as the route wants them; then the township's steps, when the
    category's route has any (stand-ins for the township's documents)."""
    while True:
        async with host.recorder.step():
            row = await P.project(host.db.conn, project_id)
        if row is None or row["status"] not in ("pending", "township"):
            return
        if row["status"] == "township":
            break
        item = desk.routed(row)
        person = host.config.people[awaiting(item.route, item.done, item.barred)[0]]
        await desk.decide(host, Actor(person.id, person, frozenset({"approver"})), project_id, True)
    township = row["route"]["township"]
    for n, officer in enumerate(township, 1):
        await desk.record_demo_document(host, K.TOWNSHIP_STEP, {"project_id": project_id, "approver": officer,
                                                               "approve": True, "final": n == len(township), "reason": ""})  # fmt: skip


HOTLINE = "0572-2345678"  # the township's supervision hotline in the stand-in invitations
#: The contractor the village recommends for its ditch: the central demo's supplier (central/accounts/demo.py,
#: ``lvshan``), so a newcomer logged in as it at the central finds the invitation to quote.
DEMO_SUPPLIER = {"id": "91350100M000100Y43", "name": "绿山办公用品有限公司"}
DITCH = "村口排水沟改造"


async def _through_draw(
    host: Any, clerk: Actor, draft: desk.ProjectDraft, recommended: dict[str, Any], closes: datetime
) -> str:  # fmt: skip
    project_id = await desk.file_project(host, clerk, draft)
    await _approve(host, project_id)
    await desk.recommend(host, clerk, project_id, str(recommended["id"]), str(recommended["name"]), village_value(project_id))
    await desk.record_demo_document(host, K.FIXED, fixed_body(project_id, draft.category, str(recommended["id"])))
    await desk.reveal_value(host, clerk, project_id, village_value(project_id))
    record = draw_record(project_id, draft.category, str(recommended["id"]))
    await desk.record_demo_document(host, K.DRAWN, {"project_id": project_id, "record": record})
    async with host.recorder.step():
        invited = (await P.project(host.db.conn, project_id) or {})["invited"]
    await desk.record_demo_document(host, K.QUOTING, {"project_id": project_id, "invited": invited, "hotline": HOTLINE,
                                                      "closes_at": closes.astimezone(UTC).isoformat(timespec="seconds")})  # fmt: skip
    return project_id


async def seed(host: Any) -> None:
    async with host.recorder.step():
        started = await P.current_catalogue(host.db.conn) is not None
    if started:
        await _reveal(host)
        return
    if not any(p.has("approver") for p in host.config.people.values()):
        return  # a roster without approvers: nothing to route
    await desk.record_demo_document(host, K.CATALOGUE, CATALOGUE)
    clerk = Actor(host_operator(), None, frozenset({"village_staff"}))
    today, line = local_today(), rules.BillLine
    road = desk.ProjectDraft("西岙自然村道路硬化", "道路", "西岙自然村", "硬化村道 300 米、宽 4 米，两侧安装路缘石",
                             (line("DL-01", "1200"), line("DL-03", "240"), line("DL-02", "600")))  # fmt: skip
    done = await _through_draw(host, clerk, road, POOL[0], datetime.now(UTC) - timedelta(days=61))
    async with host.recorder.step():
        row = await P.project(host.db.conn, done) or {}
    amounts = [(c["id"], fen) for c, fen in zip(row["invited"], (21_800_000, 20_950_000, 21_430_000), strict=True)]
    opened = rules.opening(row["invited"], amounts, (), int(row["total_fen"]))
    await desk.record_demo_document(host, K.OPENED, {**opened, "project_id": done, "observer": "邻村 沈书记",
                                                     "opened_on": (today - timedelta(days=60)).isoformat(),
                                                     "blacklisted": []})  # fmt: skip
    await desk.complete(host, clerk, done, today - timedelta(days=5), "206880.00")
    ditch = desk.ProjectDraft("村口排水沟改造", "水利", "村口至文化礼堂", "新建排水沟 180 米，铺设 DN600 管 60 米",
                              (line("SL-01", "180"), line("SL-02", "60", 43_000, "村口段须夜间施工，机械台班费用上浮")))  # fmt: skip
    ditch_id = await desk.file_project(host, clerk, ditch)
    await _approve(host, ditch_id)
    await desk.recommend(host, clerk, ditch_id, DEMO_SUPPLIER["id"], DEMO_SUPPLIER["name"], village_value(ditch_id))
    green = desk.ProjectDraft("文化礼堂周边绿化", "绿化", "文化礼堂", "种植香樟 30 株，铺设草皮 800 平方米",
                              (line("LH-01", "30"), line("LH-02", "800")))  # fmt: skip
    await desk.file_project(host, clerk, green)


async def _reveal(host: Any) -> None:
    """The village's value for the ditch's draw, once the township's fixing has come down (a later pass)."""
    async with host.recorder.step():
        ditch = [p for p in await P.projects(host.db.conn, "approved") if p["name"] == DITCH]
        inputs = await P.draw_inputs(host.db.conn, ditch[0]["id"]) if ditch else None
    if inputs is not None and inputs["fixed"] is not None and inputs["value"] is None:
        clerk = Actor(host_operator(), None, frozenset({"village_staff"}))
        await desk.reveal_value(host, clerk, ditch[0]["id"], village_value(ditch[0]["id"]))
