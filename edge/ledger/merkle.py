"""RFC 6962 Merkle tree hashing, proofs and proof verification.

The tree over leaves ``D[0:n]`` is the one of RFC 6962 §2.1: a leaf hashes as
``SHA-256(0x00 || data)``, an interior node as ``SHA-256(0x01 || left || right)``,
and ``D[0:n]`` splits at ``k``, the largest power of two smaller than ``n``.

Everything here is pure. The ledger store keeps the hash of every *perfect*
subtree (``2**level`` leaves starting at ``index * 2**level``) of level
:data:`NODE_MIN_LEVEL` or more as it is formed, and folds a smaller one from its
leaves (:func:`fold_small`), so it can answer for any range the proofs need
with O(log n) lookups:

* :class:`Frontier` is the compact range ``[0, size)`` — one perfect subtree per
  set bit of ``size``. Appending a leaf reports the perfect subtrees it
  completes (what the store saves) and :meth:`Frontier.root` is the tree head.
  Offline verification walks a million entries in one pass with it.
* :func:`inclusion_proof_ranges` / :func:`consistency_proof_ranges` turn
  RFC 6962's ``PATH`` and ``SUBPROOF`` into the list of leaf ranges whose tree
  hashes form the proof; :func:`perfect_nodes` names the stored subtrees one
  such range is made of and :func:`range_hash` folds them into its hash.
* :func:`verify_inclusion` / :func:`verify_consistency` are the RFC 9162
  §2.1.3.2 / §2.1.4.2 verifiers the central store runs on what it receives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
#: Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: A perfect subtree: ``(level, index)`` covers leaves
#: ``[index * 2**level, (index + 1) * 2**level)``.
NodeId = tuple[int, int]
#: A leaf range ``[start, end)``.
LeafRange = tuple[int, int]

#: Perfect subtrees below this level are not stored but folded on demand from their at most
#: ``2**(NODE_MIN_LEVEL - 1)`` leaves: storing every one would write two node rows per entry, and a
#: proof needs at most one such fold per level below this one.
NODE_MIN_LEVEL = 5

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf; the 0x00 prefix keeps leaves and nodes apart (second-preimage)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def subtree_hash(leaves: Sequence[bytes]) -> bytes:
    """Hash of the perfect subtree over ``leaves`` (leaf hashes, a power of two of them, in order)."""
    if not leaves or len(leaves) & (len(leaves) - 1):
        raise ValueError(f"{len(leaves)} leaves make no perfect subtree")
    layer = list(leaves)
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): where RFC 6962 splits ``D[n]``."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves does not split")
    return 1 << ((n - 1).bit_length() - 1)


def fold(hashes: Sequence[bytes]) -> bytes:
    """Tree hash of consecutive perfect subtrees of strictly decreasing size.

    RFC 6962 always splits off the largest perfect left part first, so such a
    sequence ``P0, P1, ..., Pm`` hashes as ``node(P0, node(P1, ... Pm))``.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def perfect_nodes(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees, largest first, whose fold is the tree hash of ``D[start:end]``.

    Only ranges the RFC recursion produces qualify: ``start`` must be a multiple
    of the smallest power of two not below the range's length. (Any other range,
    e.g. ``[1, 3)``, is not made of stored subtrees and has no use in a proof.)
    """
    length = end - start
    if start < 0 or length < 1:
        raise ValueError(f"empty or negative leaf range [{start}, {end})")
    if start % (1 << (length - 1).bit_length()):
        raise ValueError(f"leaf range [{start}, {end}) is not aligned to the tree")
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(start: int, end: int, lookup: Callable[[NodeId], bytes]) -> bytes:
    """Tree hash of ``D[start:end]`` from stored perfect subtrees, ``lookup((level, index))``."""
    return fold([lookup(node) for node in perfect_nodes(start, end)])


def inclusion_proof_ranges(index: int, tree_size: int) -> list[LeafRange]:
    """Leaf ranges whose tree hashes are the audit path ``PATH(index, D[tree_size])``, leaf side first."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf {index} is not in a tree of size {tree_size}")
    ranges: list[LeafRange] = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[LeafRange]:
    """Leaf ranges whose tree hashes are ``PROOF(old_size, D[new_size])`` (RFC 6962 §2.1.2).

    Empty when either tree is trivially consistent with the other
    (``old_size`` 0 or equal to ``new_size``).
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[LeafRange] = []
    lo, hi = 0, new_size
    whole_old_tree = True  # SUBPROOF's b: the old tree is the current subtree's left edge
    while old_size != hi:
        k = split_point(hi - lo)
        if old_size - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def nodes_for_ranges(ranges: Iterable[LeafRange]) -> set[NodeId]:
    """Every stored subtree needed to hash ``ranges`` — fetch them in one query."""
    return {node for start, end in ranges for node in perfect_nodes(start, end)}


class Frontier:
    """The compact range ``[0, size)``: the perfect subtrees of the set bits of ``size``.

    This is all the state needed to append leaves and to compute the root, so
    appends and one-pass verification cost O(1) amortised hashing per leaf.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} subtrees, not {len(hashes)}")
        self.size = size
        self._hashes = list(hashes)

    @staticmethod
    def nodes_for_size(size: int) -> list[NodeId]:
        """Which stored subtrees make up the frontier of a tree of ``size`` leaves."""
        return perfect_nodes(0, size) if size else []

    def copy(self) -> Frontier:
        return Frontier(self.size, self._hashes)

    @property
    def hashes(self) -> list[bytes]:
        """The hashes of its perfect subtrees, largest first (a copy)."""
        return list(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the perfect subtrees ``(level, index, hash)`` it completes.

        The leaf itself is the level-0 subtree. A leaf at an odd position
        completes its parent, and so on up while the position stays odd.
        """
        position = self.size
        completed = [(0, position, leaf)]
        current = leaf
        level = 0
        while position & 1:
            current = node_hash(self._hashes.pop(), current)
            level += 1
            position >>= 1
            completed.append((level, position, current))
        self._hashes.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The tree head of the leaves appended so far."""
        return fold(self._hashes)


def kept_subtrees(completed: list[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
    """Of the subtrees one :meth:`Frontier.append` completes (level 0 first), those a store keeps."""
    return completed[NODE_MIN_LEVEL:]


def split_kept(nodes: Iterable[NodeId]) -> tuple[list[NodeId], list[NodeId]]:
    """``nodes`` parted into those a store keeps and those it folds from their leaves (:func:`fold_small`)."""
    kept: list[NodeId] = []
    small: list[NodeId] = []
    for node in nodes:
        (kept if node[0] >= NODE_MIN_LEVEL else small).append(node)
    return kept, small


def fold_small(nodes: Iterable[NodeId], leaves: Mapping[int, bytes]) -> dict[NodeId, bytes]:
    """The hashes of the small subtrees ``nodes`` whose leaf hashes are all in ``leaves`` (by index).

    One whose leaves are not all there is left out, for the caller to report as missing.
    """
    found: dict[NodeId, bytes] = {}
    for level, idx in nodes:
        span = range(idx << level, (idx + 1) << level)
        if all(i in leaves for i in span):
            found[(level, idx)] = subtree_hash([leaves[i] for i in span])
    return found


def _valid_path(proof: Sequence[bytes]) -> bool:
    return all(isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof)


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf_hash`` at ``index`` in the tree ``root`` of ``tree_size`` leaves."""
    # A leaf "hash" of another length is no hash at all: with an empty proof it would
    # otherwise be compared as is and pass for the root of a one-leaf tree.
    if not 0 <= index < tree_size or not _valid_path([leaf_hash, *proof]):
        return False
    fn, sn = index, tree_size - 1
    result = leaf_hash
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree ``new_root`` (``new_size`` leaves) extends ``old_root`` (``old_size``)."""
    if not 0 <= old_size <= new_size or not _valid_path(proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # the old tree is itself a node of the new one
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
