"""The ledger's Ed25519 signing key: ``ledger_key.pem`` (0600) and ``ledger_pub.pem``.

On the command line and in proof files a public key travels as the base64 of
its raw 32 bytes (:func:`public_key_b64`), short enough to read out or paste.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.ledger.private import open_private

KEY_FILENAME = "ledger_key.pem"
PUBLIC_KEY_FILENAME = "ledger_pub.pem"

log = logging.getLogger(__name__)


def _fsync_dir(directory: Path) -> None:
    """Make a newly created or renamed file's directory entry survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # O_EXCL: never overwrite a key; mode given at creation so the key is
    # never readable by others, whatever the umask, not even for a moment.
    with open_private(path, exclusive=True) as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(path.parent)


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as ``qinglian ledger pubkey`` prints it."""
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Inverse of :func:`public_key_b64`; ``ValueError`` unless it is base64 of exactly 32 bytes."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("公钥不是 base64 the public key is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"公钥应为 32 字节 an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key given on the command line: base64 of the raw key, or the path of a PEM file.

    ``OSError`` if a PEM file cannot be read, ``ValueError`` if the text is neither.
    """
    path = Path(text)
    if text.endswith(".pem") or path.is_file():
        return load_public_key(path)
    return public_key_from_b64(text)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM, SubjectPublicKeyInfo)."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: 不是 Ed25519 公钥 not an Ed25519 public key")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read the signing key, tightening its permissions to 0600 if someone loosened them."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("ledger key %s had mode %o; restricting to 0600", path, mode)
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: 不是 Ed25519 私钥 not an Ed25519 private key")
    return key


def load_or_create_signing_key(data_dir: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The ledger key in ``data_dir``, generated on first use when ``create`` is true.

    Also (re)writes ``ledger_pub.pem`` when it is missing or does not match, so
    the public half is always there to hand to the central store and to
    ``qinglian ledger verify``.
    """
    path = data_dir / KEY_FILENAME
    if create and path.exists() and path.stat().st_size == 0:
        # A power cut between creating the file and syncing the key left it
        # empty; nothing can have been signed with it, so start over.
        path.unlink()
    if path.exists():
        key = load_private_key(path)
    elif create:
        key = Ed25519PrivateKey.generate()
        try:
            _write_new_private_key(path, key)
        except FileExistsError:  # another process created it first: use theirs
            key = load_private_key(path)
    else:
        raise FileNotFoundError(f"找不到台账签名密钥 ledger signing key missing: {path}")

    pub_path = data_dir / PUBLIC_KEY_FILENAME
    pem = public_key_pem(key.public_key())
    if not pub_path.exists() or pub_path.read_bytes() != pem:
        tmp = pub_path.with_name(pub_path.name + ".tmp")
        with open_private(tmp) as f:
            f.write(pem)
        os.replace(tmp, pub_path)
        _fsync_dir(data_dir)
    return key
