"""Device keys at rest: sealed under a separate master key file; a copy of the database reveals none."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from edge_support import DEVICE, config_for

from edge.agent import EdgeAgent
from edge.seal.enrolment import unseal_key
from edge.kernel.errors import ConfigError, InputError
from edge.seal.keystore import MasterKey, SealedKey, read_identity_file
from hostsim import flash


def test_master_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    first = MasterKey.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal("QL-1", bytes(range(32)))
    assert MasterKey.load(path).open("QL-1", sealed) == bytes(range(32))


def test_sealed_key_is_bound_to_its_device_id(tmp_path: Path) -> None:
    master = MasterKey.load(tmp_path / "m.key")
    sealed = master.seal("QL-A", os.urandom(32))
    with pytest.raises(ConfigError, match="QL-B"):
        master.open("QL-B", sealed)  # the AAD is the device id
    tampered = SealedKey(sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
    with pytest.raises(ConfigError):
        master.open("QL-A", tampered)


def test_loose_master_key_permissions_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.key"
    MasterKey.load(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        MasterKey.load(path)


def test_identity_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_identity_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"device_id": "QL-1", "key": "abcd"}))
    with pytest.raises(InputError, match="32 bytes"):
        read_identity_file(bad)


async def test_database_copy_alone_reveals_no_key(tmp_path: Path) -> None:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    config = config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id)
    agent = await EdgeAgent.open(config)
    try:
        identity = read_identity_file(tmp_path / "board" / "flash" / "identity.json")
        view = await agent.enrol(identity, DEVICE, ident.device_id)
        assert view.fingerprint == identity.fingerprint
        assert await unseal_key(agent.db, agent.master, ident.device_id) == ident.key
    finally:
        await agent.close()
    # Nothing of the key, raw or hex, in any file of the data folder (database, WAL, ledger).
    for path in config.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ident.key not in data, path
            assert ident.key.hex().encode() not in data, path
    assert config.key_file.parent != config.data_dir
    assert stat.S_IMODE(config.key_file.stat().st_mode) == 0o600
