# firmware/hmac256.py inside MicroPython: RFC 4231 vectors, vectors computed
# with CPython's hmac module, the host's subkeys, and the constant-time compare.
import binascii

import hmac256
import host_vectors as hv
from mptest import reset as setup_function  # noqa: F401  (run.mjs calls it before each test)

# RFC 4231 section 4: (key, data, HMAC-SHA-256); case 5 is truncated to 128 bits.
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


def pattern(n, seed):
    return bytes([(i * 31 + seed * 17 + 5) % 256 for i in range(n)])


# (key length, message length, HMAC-SHA256 of pattern(kl, 1), pattern(ml, 2)),
# computed with CPython's hmac.new(..., hashlib.sha256): block edges 55/56/63/64/65
# and keys shorter than, equal to and longer than the 64-byte block.
CPYTHON = [
    (0, 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
    (1, 1, "e0362e309d2109b82a688543cfc9c9441be4d0e20b27c59bf4e8a3af349d4762"),
    (32, 55, "c1160496cd0d611cb1b66b1273dbe542d38b5c77dfd7a70c5ddb87e84fa9feb4"),
    (32, 56, "8463b88be356853da747c500248e05df45af50e48ccd3a019186ea3d8853312a"),
    (63, 63, "c1515181671aa386c56c3886e819eb18c37eb826130921f99b097e9793b77fd2"),
    (64, 64, "b789f96be5691c9dc5d5e004be29115d0e09f32af517bba53870cd56355be6fe"),
    (65, 65, "84e21ab1c5b03723857efa0bdb885c2cdcb74194fa5bd835f82ba9f3f7c6f207"),
    (131, 600, "44c99c2e5b1b870a64e513e0637e030bce46535b2f7d7fa8ea55bb2acf8e8ccd"),
    (64, 0, "1436d70d2afc9bbba8ff7bd65495709c1242bc83a5ed133933eb0619e03263f0"),
    (0, 600, "7fca09b9805c1446094c0abd596c1808bd4f0673581f76a6f05c43f8c2b0a2a8"),
]


def hexmac(b):
    return binascii.hexlify(b).decode()


def test_rfc4231_vectors():
    for i, (key, data, expected) in enumerate(RFC4231):
        got = hexmac(hmac256.hmac_sha256(key, data))
        assert got[: len(expected)] == expected, ("case", i + 1, got)


def test_cpython_vectors():
    for kl, ml, expected in CPYTHON:
        got = hexmac(hmac256.hmac_sha256(pattern(kl, 1), pattern(ml, 2)))
        assert got == expected, (kl, ml, got)


def test_digest_of_parts_is_digest_of_concatenation():
    mac = hmac256.Hmac(pattern(32, 3))
    msg = pattern(200, 4)
    whole = mac.digest(msg)
    for cut in (0, 1, 63, 64, 65, 199, 200):
        assert mac.digest(msg[:cut], msg[cut:]) == whole, cut
    assert mac.digest(msg[:10], memoryview(msg)[10:100], bytearray(msg[100:])) == whole
    assert mac.digest(msg) == whole  # a keyed Hmac is reusable


def test_subkeys_match_the_host():
    assert hmac256.subkey(hv.KEY, hv.LINK_LABEL) == hv.LINK_SUBKEY
    assert hmac256.subkey(hv.KEY, hv.GRANT_LABEL) == hv.GRANT_SUBKEY


def test_equal():
    assert hmac256.equal(b"", b"")
    assert hmac256.equal(b"abc", b"abc")
    assert hmac256.equal(b"abc", bytearray(b"abc"))
    assert not hmac256.equal(b"abc", b"abd")
    assert not hmac256.equal(b"abc", b"ab")
    assert not hmac256.equal(b"\x00", b"\x80")
    for i in range(32):
        a = bytearray(32)
        b = bytearray(32)
        b[i] = 1 << (i % 8)
        assert not hmac256.equal(a, b), i
