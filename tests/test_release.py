"""Firmware releases: reproducible, signed, and hashed the way the device hashes itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qinglian.cli import main
from tools import release, releasekey


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_build_is_reproducible(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    a = release.build(tmp_path / "a", key, 1)
    b = release.build(tmp_path / "b", key, 1)
    assert a.files == b.files and a.firmware_hash == b.firmware_hash
    assert "boot.py" in a.files and "app.mpy" in a.files and "app.py" not in a.files
    for name in a.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert str(tmp_path).encode() not in (tmp_path / "a" / name).read_bytes()  # no build paths inside


def test_host_and_device_agree_on_the_firmware_hash(
    tmp_path: Path, key: Ed25519PrivateKey, firmware: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fwhash

    built = release.build(tmp_path / "rel", key, 3, target="source")
    (tmp_path / "rel" / "identity.json").write_text("{}")  # data files are not code
    monkeypatch.chdir(tmp_path / "rel")
    assert fwhash.firmware_hash().hex() == built.firmware_hash


def test_tampering_is_caught(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    built = release.build(tmp_path / "rel", key, 1)
    public = key.public_key()
    assert release.load(tmp_path / "rel", public).firmware_hash == built.firmware_hash
    with pytest.raises(release.ReleaseError, match="signature"):
        release.load(tmp_path / "rel", Ed25519PrivateKey.generate().public_key())
    (tmp_path / "rel" / "lock.mpy").write_bytes(b"M\x06\x00\x1f evil")
    with pytest.raises(release.ReleaseError, match="lock.mpy does not match"):
        release.load(tmp_path / "rel", public)
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    manifest["security_version"] = 99
    with pytest.raises(release.ReleaseError, match="signature"):
        release.verify_manifest(manifest, public)


def test_bad_builds_change_nothing(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(release.ReleaseError, match="not empty"):
        release.build(tmp_path / "full", key, 1)
    with pytest.raises(release.ReleaseError, match="security version"):
        release.build(tmp_path / "new", key, 0)
    assert not (tmp_path / "new").exists()


def test_cli_keygen_build_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keyfile = tmp_path / "release.pem"
    assert main(["firmware", "keygen", "--out", str(keyfile)]) == 0
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert main(["firmware", "keygen", "--out", str(keyfile)]) == 2  # never overwritten
    assert main(["firmware", "build", "--out", str(tmp_path / "rel"), "--key", str(keyfile), "--security-version", "2"]) == 0
    built = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert built["security_version"] == 2 and built["bytes"] > 0
    pub = releasekey.public_path(keyfile)
    assert main(["firmware", "verify", str(tmp_path / "rel"), "--pubkey", str(pub)]) == 0
    (tmp_path / "rel" / "boot.py").write_text("import webrepl\n")
    assert main(["firmware", "verify", str(tmp_path / "rel"), "--pubkey", str(pub)]) == 1
