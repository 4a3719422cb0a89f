"""Enrolment (设备登记): bind a configured seal device to a board's identity and keep its key sealed.

An explicit technician step: the identity file ({"device_id", "key"}) comes
from the board's flash, read with the board in hand. The key is sealed under
the master key and stored; the ledger records which board was enrolled under
which name, with the key's fingerprint — never the key.

Enrolling a new key is also what lifts the block on a device that used a grant
the edge never issued (edge/devices.py): its old key is known to someone
else, so the block stays for the same key and ends, recorded as
``device.block_cleared``, with the enrolment of a new one.
"""

from __future__ import annotations

from typing import Any

from edge.kernel.config import DeviceConfig, EdgeConfig
from edge.kernel.errors import InputError
from edge.kernel.recorder import Recorder
from edge.ledger import utc_now
from edge.seal import projection as P
from edge.seal.db import DeviceView, EdgeDB
from edge.seal.keystore import DeviceIdentity, MasterKey, key_fingerprint


def choose_device(
    config: EdgeConfig, identity: DeviceIdentity, device_name: str | None = None, device_id: str | None = None
) -> DeviceConfig:
    """The configured device this board is enrolled as; clear errors for every mismatch."""
    if device_id is not None and device_id != identity.device_id:
        raise InputError(
            f"身份文件属于 {identity.device_id}，不是 {device_id} the identity file is for {identity.device_id}, not {device_id}",
            "identity_mismatch",
        )
    if device_name is not None:
        device = config.device(device_name)
    else:
        bound = [d for d in config.devices if d.device_id == identity.device_id]
        unbound = [d for d in config.devices if d.device_id is None]
        if bound:
            device = bound[0]
        elif len(unbound) == 1:
            device = unbound[0]
        else:
            raise InputError(
                f"请用 --device 指定配置中的设备 name the configured device for {identity.device_id} with --device",
                "ambiguous_device",
            )
    if device.device_id is not None and device.device_id != identity.device_id:
        raise InputError(
            f"配置中 {device.name} 的编号是 {device.device_id}，而此板是 {identity.device_id} "
            f"the config says {device.name} is {device.device_id}, this board is {identity.device_id}",
            "identity_mismatch",
        )
    return device


async def store_key(db: EdgeDB, master: MasterKey, identity: DeviceIdentity) -> None:
    """Seal and store the key (any process may do this; the writer records it)."""
    await db.put_sealed_key(identity.device_id, master.seal(identity.device_id, identity.key), identity.fingerprint, utc_now())


async def unseal_key(db: EdgeDB, master: MasterKey, device_id: str) -> bytes | None:
    stored = await db.sealed_key(device_id)
    if stored is None:
        return None
    return master.open(device_id, stored[0])


async def record_enrolment(
    recorder: Recorder[EdgeDB], config: EdgeConfig, master: MasterKey, device_name: str, device_id: str, fingerprint: str
) -> DeviceView:
    """Record that the stored key for ``device_id`` belongs to the configured device ``device_name``."""
    device = config.device(device_name)
    async with recorder.step():
        key = await unseal_key(recorder.db, master, device_id)
        if key is None or key_fingerprint(key) != fingerprint:
            raise InputError(f"未找到 {device_id} 的密钥 no stored key for {device_id} with fingerprint {fingerprint}", "no_key")
        items: list[tuple[str, dict[str, Any]]] = [
            (
                P.DEVICE_ENROLLED,
                {
                    "device_id": device_id,
                    "name": device.name,
                    "seal": device.seal,
                    "custodian": device.custodian,
                    "fingerprint": fingerprint,
                    "url": device.url,
                },
            )
        ]
        before = await recorder.db.device(device_id)
        if before is not None and before.block is not None and before.block["fingerprint"] != fingerprint:
            block = before.block
            items.append(
                (
                    P.DEVICE_BLOCK_CLEARED,
                    {"device_id": device_id, "rogue_entry": block["entry"], "rogue_no": block["no"], "old_fingerprint": block["fingerprint"], "fingerprint": fingerprint},
                )
            )
        await recorder.record_many(items)
        view = await recorder.db.device(device_id)
        assert view is not None
        return view
