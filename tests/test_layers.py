"""The layers of the code, read from every import (AST), so that the split into kernel, seal, modules and web
shell stays as it is:

- no import cycle among the production modules;
- ``edge.kernel`` imports nothing of the seal, the modules, the web shell or the composition root;
- a module (``edge.modules.<name>``) imports no other module and nothing of the seal;
- only the demo drives the simulator: no other production module imports ``hostsim``;
- the ledger library (``edge.ledger``) imports nothing else of the edge;
- ``central`` imports of the edge only the ledger library, which holds the wire format, the kernel's leaves
  (``edge.kernel.fmt``: money; ``edge.kernel.months``; ``edge.kernel.errors``), and, in a module's central half
  (``central.modules.<name>``), that module's ``rules``: the pure decisions are one function both halves call
  (Python runs the packages on the way, ``edge.modules`` and the module's own ``__init__``: the central's host
  has the edge's code installed as one package, so that costs import time, never a cycle or a layer break);
- one exception, ``central.entrywords``: the central's pages word a village's entries as the village's own ledger
  page does, so it may import the parts' registry (``edge.modules``) and that page's ``summary`` with what it
  takes (``edge.web.ledgerview``, ``edge.kernel.parts``, ``edge.kernel.config``, ``edge.kernel.toml``) and nothing
  else of the edge: one wording both consoles show, as a module's rules are one decision both halves take (the
  central already loads every part on the way to a module's rules). The cleaner way, the edge sending its words
  with each entry, changes the sync format;
- a module's ``rules`` is pure: of the project it imports only those leaves and the ledger library's, so the
  central's half can use it without pulling in the edge;
- the account policy both sides share (``qinglian.passwords``, ``qinglian.logins``: scrypt hashes, the password
  rules, the login backoff) is a leaf that imports nothing of the project, so the central can use it without
  reaching into the edge, and the edge without reaching into the central;
- the firmware imports nothing host-side.

Imports under ``if TYPE_CHECKING:`` are left out of the cycle check: they never run, so they cannot make an
import order fail; they are still held to the layer rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("edge", "central", "hostsim", "tools", "qinglian", "firmware")
HOST_SIDE = ("edge", "central", "hostsim", "tools", "qinglian")
SHARED_LEAVES = ("qinglian.passwords", "qinglian.logins")
#: What ``central.entrywords`` alone may import of the edge besides the rest of the central (see above).
ENTRY_WORDING = ("edge.modules", "edge.web.ledgerview", "edge.kernel.parts", "edge.kernel.config", "edge.kernel.toml")
KERNEL_LEAVES = ("edge.kernel.fmt", "edge.kernel.months", "edge.kernel.errors", "edge.kernel.writerlock", "edge.kernel.tables")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (the longest known prefix)
    typing_only: bool  # under `if TYPE_CHECKING:`


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _typing_blocks(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def imports(root: Path, packages: tuple[str, ...] = PACKAGES) -> Iterator[Import]:
    files = {_module(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _typing_blocks(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                known = target
                while known and known not in files:
                    known = known.rpartition(".")[0]
                if known and known != name:
                    yield Import(name, known, id(node) in typing_only)


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), over the imports that run."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if not e.typing_only:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _may(target: str, *allowed: str) -> bool:
    """``target`` is one of ``allowed`` (or inside it), or a package on the way to one (``from edge.kernel import fmt``)."""
    return _under(target, *allowed) or any(a.startswith(target + ".") for a in allowed)


def _own_rules(source: str) -> tuple[str, ...]:
    """``central.modules.<name>...`` -> ``("edge.modules.<name>.rules",)``: the one edge module it may import."""
    parts = source.split(".")
    if len(parts) >= 3 and parts[:2] == ["central", "modules"]:
        return (f"edge.modules.{parts[2]}.rules",)
    return ()


def layer_violations(edges: list[Import]) -> list[str]:
    bad = []
    for e in edges:
        s, t = e.source, e.target
        if _under(s, "edge.kernel") and _under(t, "edge.seal", "edge.modules", "edge.web", "edge.agent", "edge.cli", "edge.demo"):
            bad.append(f"the kernel imports {t}: {s}")
        if _under(s, "edge.modules") and s != "edge.modules":
            own = ".".join(s.split(".")[:3])
            if _under(t, "edge.seal") or (_under(t, "edge.modules") and not _under(t, own)):
                bad.append(f"a module imports another part: {s} -> {t}")
        if _under(t, "hostsim") and not _under(s, "hostsim") and not s.rpartition(".")[2].endswith("demo"):
            bad.append(f"production code drives the simulator: {s} -> {t}")
        if _under(s, "edge.ledger") and _under(t, "edge") and not _under(t, "edge.ledger"):
            bad.append(f"the ledger library imports the rest of the edge: {s} -> {t}")
        wording = s == "central.entrywords" and t in ENTRY_WORDING  # these modules only, not their packages' parts
        if _under(s, "central") and _under(t, "edge") and not wording and not _may(t, "edge.ledger", *KERNEL_LEAVES,
                                                                                   *_own_rules(s)):
            bad.append(f"central imports edge internals beyond the ledger library and the wire format: {s} -> {t}")
        if s.count(".") == 3 and _under(s, "edge.modules") and s.endswith(".rules") and t.partition(".")[0] in PACKAGES:
            if not _may(t, "edge.ledger", *KERNEL_LEAVES):
                bad.append(f"a module's rules import more than the kernel's leaves: {s} -> {t}")
        if _under(s, *SHARED_LEAVES) and t.partition(".")[0] in PACKAGES:
            bad.append(f"a shared leaf imports the project: {s} -> {t}")
        if _under(s, "firmware") and t.partition(".")[0] in HOST_SIDE:
            bad.append(f"the firmware imports host-side code: {s} -> {t}")
    return sorted(set(bad))


def test_no_import_cycles() -> None:
    assert cycles(list(imports(ROOT))) == []


def test_each_layer_imports_only_what_it_may() -> None:
    assert layer_violations(list(imports(ROOT))) == []


def scratch_tree(root: Path, files: dict[str, str]) -> None:
    """Write a scratch source tree: each file's path under ``root`` and its text."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_checks_catch_a_cycle_and_a_layer_break(tmp_path: Path) -> None:
    # A scratch tree: the kernel importing the seal, which imports the kernel back.
    scratch_tree(tmp_path, {
        "edge/__init__.py": "", "edge/kernel/__init__.py": "", "edge/seal/__init__.py": "",
        "edge/kernel/recorder.py": "from edge.seal import desk\n",
        "edge/seal/desk.py": "from edge.kernel.recorder import x\n",
        "edge/seal/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from edge.kernel import recorder\n",
    })  # fmt: skip
    edges = list(imports(tmp_path, ("edge",)))
    assert cycles(edges) == [["edge.kernel.recorder", "edge.seal.desk"]]
    assert layer_violations(edges) == [
        "the kernel imports edge.seal.desk: edge.kernel.recorder", "the kernel imports edge.seal: edge.kernel.recorder"
    ]


def test_a_modules_central_half_may_share_only_its_own_pure_rules(tmp_path: Path) -> None:
    scratch_tree(tmp_path, {
        "edge/__init__.py": "", "edge/kernel/__init__.py": "", "edge/kernel/fmt.py": "", "edge/kernel/db.py": "",
        "edge/modules/__init__.py": "", "edge/modules/a/__init__.py": "", "edge/modules/b/__init__.py": "",
        "edge/modules/a/rules.py": "from edge.kernel import fmt\n",
        "edge/modules/b/rules.py": "from edge.kernel import db\n",
        "central/__init__.py": "", "central/modules/__init__.py": "", "central/modules/a/__init__.py": "",
        "central/modules/a/tender.py": "from edge.modules.a import rules\nfrom edge.kernel import fmt\n",
        "central/modules/a/peek.py": "from edge.modules.b import rules\n",
    })  # fmt: skip
    assert layer_violations(list(imports(tmp_path, ("edge", "central")))) == [
        "a module's rules import more than the kernel's leaves: edge.modules.b.rules -> edge.kernel.db",
        "central imports edge internals beyond the ledger library and the wire format: central.modules.a.peek -> edge.modules.b",
        "central imports edge internals beyond the ledger library and the wire format: central.modules.a.peek -> edge.modules.b.rules",
    ]


def test_only_the_central_entry_wording_may_read_the_parts_wording(tmp_path: Path) -> None:
    scratch_tree(tmp_path, {
        "edge/__init__.py": "", "edge/modules/__init__.py": "PARTS = ()\n", "edge/modules/a/__init__.py": "",
        "edge/modules/a/db.py": "", "edge/web/__init__.py": "", "edge/web/ledgerview.py": "",
        "central/__init__.py": "",
        "central/entrywords.py": "from edge.modules import PARTS\nfrom edge.web.ledgerview import summary\n"
                                 "from edge.modules.a import db\n",
        "central/app.py": "from edge.web.ledgerview import summary\n",
    })  # fmt: skip
    assert layer_violations(list(imports(tmp_path, ("edge", "central")))) == [
        "central imports edge internals beyond the ledger library and the wire format: central.app -> edge.web.ledgerview",
        "central imports edge internals beyond the ledger library and the wire format: central.entrywords -> edge.modules.a",
        "central imports edge internals beyond the ledger library and the wire format: central.entrywords -> edge.modules.a.db",
    ]
