"""Sealing clues so that only the station head and the township discipline officer can read them.

Every primitive is the ``cryptography`` package's; this file only composes them, the way ECIES/HPKE do:

- **Sealed to recipients** (:func:`seal`): the content is encrypted once with a fresh AES-256-GCM key; that key
  is wrapped for each recipient with X25519 (a fresh ephemeral key per recipient) → HKDF-SHA256 (salt: the
  ephemeral and the recipient's public keys, info: :data:`INFO`) → AES-256-GCM. The associated data names the
  clue and the field, so a sealed text cannot be moved to another clue or field unnoticed.
- **For the reporter** (:func:`receipt_keys`): the receipt code (20 digits from ``secrets``) goes through
  scrypt (n=2^14, r=8, p=1, salt: the village) to 64 bytes: the first 32 are the clue's lookup tag (stored),
  the last 32 an AES-256-GCM key for the feedback and messages the reporter reads with the code (never
  stored; the head learns it from the sealed clue). Guessing a code offline costs a scrypt per guess over
  10^20 codes; online, the public page limits the tries.
- **The head's private key** on the edge only wrapped by a passphrase (:func:`wrap_private`: PKCS#8 with the
  package's ``BestAvailableEncryption``), unwrapped into memory for a session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from edge.kernel.errors import InputError
from edge.modules.whistleblower.rules import CODE_DIGITS

INFO = b"qinglian whistleblower v1 key wrap"
VERSION = 1
_NONCE = 12
_SCRYPT_N = 2**14
MIN_PASSPHRASE = 8


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("应为 Base64 文本")  # noqa: TRY004  (callers catch ValueError: a malformed entry)
    return base64.b64decode(text, validate=True)


def public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_text(key: X25519PublicKey) -> str:
    return b64(public_bytes(key))


def load_public(text: str) -> X25519PublicKey:
    """A raw X25519 public key in base64 (as the config and the ledger hold it), or ``InputError``."""
    try:
        raw = unb64(text.strip())
        if len(raw) != 32:
            raise ValueError
        return X25519PublicKey.from_public_bytes(raw)
    except (ValueError, AttributeError):
        raise InputError("公钥格式错误：应为 32 字节 X25519 公钥的 Base64 文本", "bad_key") from None


def fingerprint(key: X25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


# -- sealed to the head and the township ------------------------------------------------------------------


def seal(content: Mapping[str, Any], recipients: Sequence[X25519PublicKey], aad: str) -> dict[str, Any]:
    """``content`` (JSON) encrypted so that each of ``recipients`` alone can open it."""
    plaintext = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
    key = AESGCM.generate_key(256)
    nonce = os.urandom(_NONCE)
    wrapped = []
    for recipient in recipients:
        ephemeral = X25519PrivateKey.generate()
        epk = public_bytes(ephemeral.public_key())
        kek = _kek(ephemeral.exchange(recipient), epk, public_bytes(recipient))
        wnonce = os.urandom(_NONCE)
        wrapped.append(
            {
                "to": fingerprint(recipient),
                "epk": b64(epk),
                "nonce": b64(wnonce),
                "key": b64(AESGCM(kek).encrypt(wnonce, key, aad.encode())),
            }
        )
    return {
        "v": VERSION,
        "nonce": b64(nonce),
        "ct": b64(AESGCM(key).encrypt(nonce, plaintext, aad.encode())),
        "to": wrapped,
    }


def open_sealed(envelope: Mapping[str, Any], private: X25519PrivateKey, aad: str) -> dict[str, Any]:
    """The content of an envelope sealed to ``private``'s public key; ``InputError`` if it is not, or was altered."""
    mine = fingerprint(private.public_key())
    try:
        slot = next(w for w in envelope["to"] if w["to"] == mine)
        epk = unb64(slot["epk"])
        kek = _kek(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk, public_bytes(private.public_key()))
        key = AESGCM(kek).decrypt(unb64(slot["nonce"]), unb64(slot["key"]), aad.encode())
        plain = AESGCM(key).decrypt(unb64(envelope["nonce"]), unb64(envelope["ct"]), aad.encode())
        content = json.loads(plain)
    except StopIteration:
        raise InputError("此内容未加密给您的密钥", "not_recipient") from None
    except (InvalidTag, KeyError, TypeError, ValueError):
        raise InputError("密文已损坏或被篡改，无法解密", "bad_envelope") from None
    if not isinstance(content, dict):
        raise InputError("密文内容格式错误", "bad_envelope")
    return content


def _kek(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=INFO).derive(shared)


# -- the reporter's receipt code -----------------------------------------------------------------------------


def new_receipt_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def receipt_keys(code: str, village: str) -> tuple[bytes, bytes]:
    """(lookup tag, reporter key) of a receipt code in a village."""
    derived = Scrypt(
        salt=b"qinglian whistleblower receipt:" + village.encode(), length=64, n=_SCRYPT_N, r=8, p=1
    ).derive(code.encode())
    return derived[:32], derived[32:]


def for_reporter(key: bytes, text: str, aad: str) -> dict[str, str]:
    nonce = os.urandom(_NONCE)
    return {"nonce": b64(nonce), "ct": b64(AESGCM(key).encrypt(nonce, text.encode("utf-8"), aad.encode()))}


def open_for_reporter(key: bytes, box: Mapping[str, Any], aad: str) -> str:
    try:
        return AESGCM(key).decrypt(unb64(box["nonce"]), unb64(box["ct"]), aad.encode()).decode("utf-8")
    except (InvalidTag, KeyError, TypeError, ValueError):
        raise InputError("密文已损坏或被篡改，无法解密", "bad_envelope") from None


# -- the head's private key, wrapped by a passphrase ---------------------------------------------------------


def check_passphrase(passphrase: object) -> str:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE or len(passphrase) > 200:
        raise InputError(f"口令至少 {MIN_PASSPHRASE} 个字符", "bad_passphrase")
    return passphrase


def wrap_private(key: X25519PrivateKey, passphrase: str) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(check_passphrase(passphrase).encode("utf-8")),
    )  # fmt: skip


def unwrap_private(pem: bytes, passphrase: str) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise InputError("口令不正确，未能解锁", "bad_passphrase") from None
    if not isinstance(key, X25519PrivateKey):
        raise InputError("密钥文件不是 X25519 私钥", "bad_key")
    return key
