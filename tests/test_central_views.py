"""Supervisors' views: scoped by township and county, JSON and Chinese pages, proofs anyone can check."""

from __future__ import annotations

from pathlib import Path

import httpx
from central_support import (  # noqa: F401 - fixtures
    COUNTY,
    TOWNSHIP,
    Ledgers,
    api,
    asgi_transport,
    batch,
    db_url,
    edge_key,
    enrol,
    ledgers,
    push,
    store,
)

from central.store import CentralStore
from edge.kernel.sync import SyncClient
from edge.ledger import Checkpoint, leaf_hash, load_public_key, verify_inclusion

# Three villages in two townships of one county, and one village in another county.
EDGES = [
    ("qinglian", "青莲村", TOWNSHIP, COUNTY, 40),
    ("baima", "白马村", TOWNSHIP, COUNTY, 25),
    ("puyang", "浦阳村", "浦阳镇", COUNTY, 10),
    ("yuhang", "余杭村", "良渚街道", "余杭区", 15),
]


async def _villages(store: CentralStore, ledgers: Ledgers) -> None:
    for edge_id, village, township, county, presses in EDGES:
        ledger = await ledgers.open(edge_id)
        items = [("seal.press", {"event": {"k": "press"}, "n": i}) for i in range(presses)]
        items += [("seal.tamper", {"anomaly": "tamper_open"}), ("device.events_lost", {"lost": 2})]
        items += [("seal_request.approval", {"request_id": f"SR-{i}"}) for i in range(7)]
        await ledger.append_many(items)
        await enrol(store, edge_id, ledgers.root / edge_id, village=village, township=township, county=county)
        client = SyncClient(ledger, "http://central", edge_id, transport=asgi_transport(store))
        await client.sync_once()
        await client.stop()


async def _token(store: CentralStore, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await store.issue_token(scope, '测试')}"}


async def test_township_supervisor_sees_only_its_villages(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    await _villages(store, ledgers)
    township = await _token(store, f"township:{TOWNSHIP}")
    county = await _token(store, f"county:{COUNTY}")
    everyone = await _token(store, "all")

    def ids(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {e["edge_id"] for e in response.json()}

    assert ids(await api.get("/api/v1/edges", headers=township)) == {"qinglian", "baima"}
    assert ids(await api.get("/api/v1/edges", headers=county)) == {"qinglian", "baima", "puyang"}
    assert ids(await api.get("/api/v1/edges", headers=everyone)) == {e[0] for e in EDGES}
    # Another township's village is not there at all, for the API and the pages alike.
    for path in ("/api/v1/edges/puyang", "/api/v1/edges/puyang/entries", "/api/v1/edges/puyang/entries/0/proof"):
        response = await api.get(path, headers=township)
        assert response.status_code == 404, path
    response = await api.get(
        "/edges/puyang", headers={"Cookie": "qinglian_supervisor=" + township["Authorization"][7:]}
    )
    assert response.status_code == 404 and "浦阳村" not in response.text
    # No token, a wrong token: refused; pages send you to the login form.
    assert (await api.get("/api/v1/edges")).status_code == 401
    assert (await api.get("/api/v1/edges", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await api.get("/")).status_code == 303

    # Uses and flags per village and month.
    stats = (await api.get("/api/v1/stats", headers=township)).json()
    per_village = {v["village"]: v for v in stats["villages"]}
    assert set(per_village) == {"青莲村", "白马村"}
    assert per_village["青莲村"]["uses_total"] == 40 and per_village["白马村"]["uses_total"] == 25
    assert per_village["青莲村"]["flags_total"] == 2
    assert stats["flags_by_kind"] == {"tamper_open": 2, "events_lost": 2}
    assert len(stats["periods"]) == 1 and len(stats["periods"][0]) == 7  # YYYY-MM
    daily = (await api.get("/api/v1/stats?group=day", headers=county)).json()
    assert sum(v["uses_total"] for v in daily["villages"]) == 75 and len(daily["periods"][0]) == 10
    assert (await api.get("/api/v1/stats?from=2030-01-01&to=2029-01-01", headers=county)).status_code == 400
    flagged = (await api.get("/api/v1/edges/qinglian/entries?flagged=true", headers=township)).json()
    assert sorted(e["flag"] for e in flagged) == ["events_lost", "tamper_open"]


async def test_flagged_edges_and_checkpoint_age_are_visible(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    await _villages(store, ledgers)
    # 白马村 pushes a checkpoint that does not match what it pushed before.
    ledger = ledgers.opened[1]
    cp = await ledger.latest_checkpoint()
    forged = Checkpoint.sign(edge_key(ledgers.root / "baima"), cp.tree_size, bytes(32))
    response = await push(api, edge_key(ledgers.root / "baima"), "baima", {**await batch(ledger, cp.tree_size, cp),
                                                                        "checkpoint": forged.to_dict()})  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "forked"

    township = await _token(store, f"township:{TOWNSHIP}")
    edges = {e["edge_id"]: e for e in (await api.get("/api/v1/edges", headers=township)).json()}
    assert edges["baima"]["flagged"] and edges["baima"]["flag_code"] == "forked"
    assert not edges["qinglian"]["flagged"]
    for e in edges.values():
        assert e["checkpoint"]["tree_size"] == e["entries"] and 0 <= e["checkpoint"]["age_s"] < 600
    refusals = (await api.get("/api/v1/refusals", headers=township)).json()
    assert [r["code"] for r in refusals] == ["forked"]

    # The pages, in Chinese, with the flag and the charts inline (no external assets).
    cookie = {"Cookie": "qinglian_supervisor=" + township["Authorization"][7:]}
    page = await api.get("/", headers=cookie)
    assert page.status_code == 200
    for text in ("总览", "青莲村", "白马村", "已标记", "历史分叉", "<svg", "各村每月用印"):
        assert text in page.text, text
    assert "浦阳村" not in page.text
    assert "http://" not in page.text and "https://" not in page.text
    detail = await api.get("/edges/baima", headers=cookie)
    assert detail.status_code == 200 and "历史分叉" in detail.text and "检查点" in detail.text
    css = await api.get("/static/style.css")
    assert css.status_code == 200 and "@media" in css.text


async def test_a_rogue_grant_and_a_malformed_event_are_flagged_for_supervisors(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    # A seal that took a grant this edge never issued, and a keyed device sending what no firmware sends: the
    # kinds are anomalies in themselves, flagged even where a body does not name its anomaly.
    ledger = await ledgers.open("qinglian")
    await ledger.append_many([
        ("seal.press", {"event": {"k": "press"}, "n": 0}),
        ("device.rogue_grant", {"device_id": "a1", "no": 9, "reason": "press", "issued_upto": 1}),
        ("device.malformed_event", {"device_id": "a1", "event_id": 4, "problem": "k", "anomaly": "malformed_event"}),
    ])  # fmt: skip
    await enrol(store, "qinglian", ledgers.root / "qinglian")
    client = SyncClient(ledger, "http://central", "qinglian", transport=asgi_transport(store))
    await client.sync_once()
    await client.stop()

    township = await _token(store, f"township:{TOWNSHIP}")
    flagged = (await api.get("/api/v1/edges/qinglian/entries?flagged=true", headers=township)).json()
    assert sorted(e["flag"] for e in flagged) == ["malformed_event", "rogue_grant"]
    stats = (await api.get("/api/v1/stats", headers=township)).json()
    assert stats["flags_by_kind"] == {"rogue_grant": 1, "malformed_event": 1}
    cookie = {"Cookie": "qinglian_supervisor=" + township["Authorization"][7:]}
    detail = await api.get("/edges/qinglian", headers=cookie)
    assert "非本边缘签发的授权" in detail.text and "设备事件格式错误" in detail.text


async def test_inclusion_proof_checks_offline_and_via_the_api(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    await _villages(store, ledgers)
    county = await _token(store, f"county:{COUNTY}")
    ledger = ledgers.opened[0]
    size = await ledger.size()
    for index in (0, 17, size - 1):
        proof = (await api.get(f"/api/v1/edges/qinglian/entries/{index}/proof", headers=county)).json()
        assert proof["verified"] == {"inclusion": True, "checkpoint_signature": True}
        # Offline, from the JSON alone and the public key the store shows.
        entry = await ledger.entry(index)
        assert proof["canonical"].encode() == entry.canonical_bytes()
        leaf = leaf_hash(proof["canonical"].encode())
        root = bytes.fromhex(proof["root_hash"])
        assert verify_inclusion(leaf, index, proof["tree_size"], [bytes.fromhex(p) for p in proof["proof"]], root)
        cp = Checkpoint.from_dict(proof["checkpoint"])
        pem = Path(ledgers.root / "key.pem")
        pem.write_text(proof["public_key"])
        assert cp.verify(load_public_key(pem)) and cp.root_hash == root
        # Through the API: valid as given, invalid when anything is altered.
        check = {
            "index": index,
            "tree_size": proof["tree_size"],
            "root_hash": proof["root_hash"],
            "proof": proof["proof"],
        }
        ok = await api.post("/api/v1/proofs/verify", json={**check, "canonical": proof["canonical"]}, headers=county)
        assert ok.json()["valid"] is True
        altered = proof["canonical"].replace('"kind":"', '"kind":"x')
        bad = await api.post("/api/v1/proofs/verify", json={**check, "canonical": altered}, headers=county)
        assert bad.json()["valid"] is False
        wrong_index = await api.post(
            "/api/v1/proofs/verify",
            json={**check, "leaf_hash": leaf.hex(), "index": (index + 1) % size},
            headers=county,
        )
        assert wrong_index.json()["valid"] is False
    page = await api.get(
        "/edges/qinglian/entries/3", headers={"Cookie": "qinglian_supervisor=" + county["Authorization"][7:]}
    )
    assert page.status_code == 200 and "包含证明有效" in page.text and "检查点签名有效" in page.text
    assert (await api.get("/api/v1/edges/qinglian/entries/9999/proof", headers=county)).status_code == 404


async def test_login_form_sets_a_cookie(ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient) -> None:
    await _villages(store, ledgers)
    token = await store.issue_token(f"township:{COUNTY}/{TOWNSHIP}", "乡镇纪委")
    assert (await api.post("/login", data={"token": "wrong"})).status_code == 401
    response = await api.post("/login", data={"token": token})
    assert response.status_code == 303 and "qinglian_supervisor" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    page = await api.get("/", headers={"Cookie": "qinglian_supervisor=" + token})
    assert page.status_code == 200 and "乡镇纪委" in page.text and "青莲村" in page.text and "浦阳村" not in page.text


async def test_an_error_page_says_why_in_chinese_only(store: CentralStore, api: httpx.AsyncClient) -> None:
    # The reasons are bilingual for the API's readers; a page shows the Chinese, what to type included.
    cookie = {"Cookie": "qinglian_supervisor=" + await store.issue_token("all", "县纪委")}
    for method, path, status, said in [
        ("GET", "/no/such/page", 404, "没有此页面或接口"),
        ("DELETE", "/", 405, "此地址不接受该请求方法"),
        ("GET", "/?from=2026-13-01", 400, "日期格式应为 年-月-日，如 2026-01-31"),
        ("GET", "/?from=2026-12-05&to=2026-12-01", 400, "开始日期须早于结束日期"),
        ("GET", "/edges/../../etc", 404, "没有此页面或接口"),
    ]:
        page = await api.request(method, path, headers=cookie)
        assert page.status_code == status, path
        assert f'<p class="error">{said}</p>' in page.text, (path, page.text)
    answer = await api.get("/api/v1/stats", params={"from": "2026-12-05", "to": "2026-12-01"}, headers=cookie)
    assert answer.status_code == 400 and answer.json()["reason"] == "开始日期须早于结束日期 start must be before end"


async def test_openapi_lists_the_sync_and_supervision_api(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert {"/api/v1/sync/{edge_id}/batches", "/api/v1/sync/{edge_id}/state", "/api/v1/edges", "/api/v1/stats",
            "/api/v1/edges/{edge_id}/entries/{index}/proof", "/api/v1/proofs/verify"} <= paths  # fmt: skip


async def test_module_records_are_listed_by_module(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    """Kinds outside the seal loop are the supervision modules' records: listed by module, scoped, without changes."""
    await _villages(store, ledgers)  # seal, device and seal_request entries only: no module records
    everyone = await _token(store, "all")
    assert (await api.get("/api/v1/modules", headers=everyone)).json()["modules"] == {}
    for edge_id, records in {
        "qinglian": [("household_assembly.meeting_held", {"households": 412, "attendance_permille": 870}),
                     ("procurement.demand_posted", {"item": "路灯 20 盏", "amount_fen": 680000})],
        "puyang": [("procurement.demand_posted", {"item": "保洁服务", "amount_fen": 120000, "split": False})],
    }.items():  # fmt: skip
        (ledger,) = [led for led in ledgers.opened if led.data_dir.name == edge_id]  # the village's own ledger
        await ledger.append_many([*records, ("agent.started", {"pid": 1}), ("config_received", {"hash": "0" * 64})])
        client = SyncClient(ledger, "http://central", edge_id, transport=asgi_transport(store))
        await client.sync_once()
        await client.stop()

    township = await _token(store, f"township:{TOWNSHIP}")
    modules = (await api.get("/api/v1/modules", headers=township)).json()["modules"]
    assert set(modules) == {"household_assembly", "procurement"}  # puyang is another township's
    (meeting,) = modules["household_assembly"]
    assert meeting["village"] == "青莲村" and meeting["kind"] == "household_assembly.meeting_held"
    assert meeting["summary"] == "attendance_permille: 870, households: 412"
    county = (await api.get("/api/v1/modules", headers=await _token(store, f"county:{COUNTY}"))).json()["modules"]
    assert sorted(r["village"] for r in county["procurement"]) == ["浦阳村", "青莲村"]
    assert (await api.get("/api/v1/modules?from=2030-01-01&to=2030-02-01", headers=everyone)).json()["modules"] == {}
    page = await api.get("/", headers=township)
    assert "模块记录" in page.text and "户主大会" in page.text and "一网采购" in page.text and "路灯 20 盏" in page.text
    entry = await api.get(f"/edges/qinglian/entries/{meeting['index']}", headers=township)
    assert entry.status_code == 200


def _stamped(n: int, title: str, village: str, amount: str, flags: list[str]) -> list[tuple[str, dict[str, object]]]:
    """The photo entries an edge records for one stamped page: its reading, then its check."""
    sha = f"{n:064x}"
    about = {"photo": sha, "request_id": f"SR-{n:06d}", "press_no": 1, "press_entry": 10 + n}
    text = f"{title}\n甲方：{village}股份经济合作社\n合同金额：人民币{amount}元"
    reading = {**about, "backend": "tesseract", "text": text, "fields": {"title": title}, "ink_ppm": 30_000, "ms": 1040}
    check = {**about, "match": not flags, "score_permille": 990 if not flags else 930, "flags": flags}
    if flags:
        check["anomaly"] = "photo_mismatch"
    return [("photo.ocr", reading), ("photo.check", check)]


async def test_stamped_pages_are_found_by_their_text_in_scope(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    """Township and county supervisors search what the edges read on stamped pages, across their villages."""
    await _villages(store, ledgers)
    pages = {
        "qinglian": _stamped(1, "路灯安装工程合同", "青莲村", "28,500.00", []) + _stamped(2, "村道硬化工程施工合同", "青莲村", "9,000.00", []),
        "baima": _stamped(3, "路灯安装工程合同", "白马村", "38,500.00", ["amount"]),
        "yuhang": _stamped(4, "路灯安装工程合同", "余杭村", "1,000.00", []),
    }  # fmt: skip
    for edge_id, items in pages.items():
        (ledger,) = [led for led in ledgers.opened if led.data_dir.name == edge_id]
        await ledger.append_many(items)
        client = SyncClient(ledger, "http://central", edge_id, transport=asgi_transport(store))
        await client.sync_once()
        await client.stop()

    township = await _token(store, f"township:{TOWNSHIP}")
    found = (await api.get("/api/v1/search", params={"q": "路灯 合同"}, headers=township)).json()["pages"]
    assert sorted((p["village"], p["match"], p["flags"]) for p in found) == [("白马村", False, ["amount"]), ("青莲村", True, [])]
    (lamp,) = [p for p in found if p["village"] == "青莲村"]
    assert lamp["title"] == "路灯安装工程合同" and lamp["request_id"] == "SR-000001" and "28,500.00" in lamp["text"]
    assert lamp["score_permille"] == 990 and lamp["photo"] == f"{1:064x}"
    flagged = (await api.get("/api/v1/search", params={"flag": "amount"}, headers=township)).json()["pages"]
    assert [p["village"] for p in flagged] == ["白马村"]
    assert (await api.get("/api/v1/search", params={"flag": "any", "q": "青莲村"}, headers=township)).json()["pages"] == []
    one = (await api.get("/api/v1/search", params={"q": "合同", "village": "青莲村"}, headers=township)).json()["pages"]
    assert sorted(p["request_id"] for p in one) == ["SR-000001", "SR-000002"]
    # another county's village is out of a township's and a county's scope; the "all" scope sees it
    assert all(p["village"] != "余杭村" for p in (await api.get("/api/v1/search", params={"q": "路灯"},
               headers=await _token(store, f"county:{COUNTY}"))).json()["pages"])  # fmt: skip
    everyone = (await api.get("/api/v1/search", params={"q": "路灯"}, headers=await _token(store, "all"))).json()["pages"]
    assert len(everyone) == 3
    # a LIKE wildcard in the words is a character like any other
    assert (await api.get("/api/v1/search", params={"q": "%"}, headers=township)).json()["pages"] == []
    bad = await api.get("/api/v1/search", params={"flag": "nonsense"}, headers=township)
    assert bad.status_code == 400
    assert (await api.get("/api/v1/search", params={"q": "路灯", "from": "28/11/2026"}, headers=township)).status_code == 400

    page = await api.get("/search", params={"q": "路灯"}, headers=township)
    assert page.status_code == 200 and "路灯安装工程合同" in page.text and "金额不符" in page.text and "与原件一致" in page.text
    assert "余杭村" not in page.text
    assert "盖章页面检索" in (await api.get("/", headers=township)).text


async def test_a_flagged_page_is_found_behind_many_newer_unflagged_ones(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient
) -> None:
    await _villages(store, ledgers)
    (ledger,) = [led for led in ledgers.opened if led.data_dir.name == "qinglian"]
    newer = [("photo.ocr", body) for n in range(600) for _, body in _stamped(100 + n, "路灯安装工程合同", "青莲村", "1.00", [])[:1]]
    await ledger.append_many(_stamped(9, "路灯安装工程合同", "青莲村", "2.00", ["title"]) + newer)
    client = SyncClient(ledger, "http://central", "qinglian", transport=asgi_transport(store))
    await client.sync_once()
    await client.stop()
    township = await _token(store, f"township:{TOWNSHIP}")
    found = (await api.get("/api/v1/search", params={"q": "路灯", "flag": "title", "limit": 5}, headers=township)).json()
    assert [p["request_id"] for p in found["pages"]] == ["SR-000009"]
    assert len((await api.get("/api/v1/search", params={"q": "路灯", "limit": 5}, headers=township)).json()["pages"]) == 5
