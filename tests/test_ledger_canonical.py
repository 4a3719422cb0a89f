"""The ledger's canonical JSON is the standard library's text, whichever encoder writes it.

``edge/ledger/entry.py`` lets orjson write and read bodies because it is several times faster; every hash,
signature and proof depends on the text being exactly what ``json`` writes (``ensure_ascii=False``,
``sort_keys=True``, no spaces), and on a stored body reading back exactly as ``json.loads`` reads it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.ledger import canonical_json
from edge.ledger.entry import canonical_text, decode_body

# Every code point but the surrogates (which canonical_json refuses): control characters, the BMP's private
# use and specials above U+E000, and astral characters, whose UTF-8 and UTF-16 orders differ from U+E000 up.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# Around every edge where an encoder's integer handling changes: 53, 63 and 64 bits, and past them.
edges = [2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30]
integers = st.integers() | st.sampled_from([sign * (e + d) for e in edges for d in (-1, 0, 1) for sign in (1, -1)])
values = st.recursive(
    st.none() | st.booleans() | integers | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=16,
)
bodies = st.dictionaries(text, values, max_size=6)


def reference(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0 == True`` in Python, not in a ledger)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_the_text_is_the_standard_librarys_and_reads_back_the_same(body: dict[str, Any]) -> None:
    written = canonical_json(body)
    assert written == reference(body)
    assert same(decode_body(written), json.loads(written))
    # an appended entry's body is read back without the round trip when orjson wrote its text
    text, exact = canonical_text(body)
    assert text == written
    if exact:
        assert same(decode_body(text, exact=True), json.loads(text))


@pytest.mark.parametrize("number", [2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**40, -(10**40)])
def test_integers_past_64_bits_stay_exact(number: int) -> None:
    written = canonical_json({"amount_fen": number, "list": [number]})
    assert written == reference({"amount_fen": number, "list": [number]})
    read = decode_body(written)
    assert read == {"amount_fen": number, "list": [number]}
    assert type(read["amount_fen"]) is int and type(read["list"][0]) is int
    # the text orjson could not write is not taken as its own: read by the round trip, the integers stay exact
    assert canonical_text({"amount_fen": number})[1] is (-(2**63) <= number < 2**64)


def test_deep_nesting_is_written_alike() -> None:
    body: dict[str, Any] = {"v": 0}
    for _ in range(400):  # past orjson's 255 levels
        body = {"v": [body]}
    assert canonical_json(body) == reference(body)
    assert decode_body(reference(body)) == body


@pytest.mark.parametrize(
    "stored",
    [
        '{"a":1,"a":2}',  # a duplicated key: the last one wins, as json.loads has it
        '{"a":"\\u00e9\\ud800"}',  # escapes, one a lone surrogate orjson refuses
        '{"a":1.5e300}',
        "[1,2]",  # not an object: a tampered row still reads as json.loads reads it
    ],
)
def test_a_stored_text_reads_as_json_loads_reads_it(stored: str) -> None:
    assert same(decode_body(stored), json.loads(stored))


def test_keys_sort_by_code_point() -> None:
    body = {"\uffff": 1, "😀": 2, "\ue000": 3, "a": 4, "公章": 5}
    assert canonical_json(body) == reference(body)
    assert list(json.loads(canonical_json(body))) == sorted(body)
