"""Static types: the firmware against MicroPython's ESP32 stubs, the host code with mypy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPINGS = ROOT / "typings"


def mypy(*args: str, cwd: Path = ROOT, env_path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"MYPYPATH": env_path} if env_path else {}
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}
    )


def test_firmware_against_micropython_stubs() -> None:
    assert (TYPINGS / "machine.pyi").exists(), "MicroPython stubs missing: run `make setup` (installs them into typings/)"
    firmware = sorted(p.name for p in (ROOT / "firmware").glob("*.py"))
    result = mypy(
        "--config-file", str(ROOT / "tests" / "typecheck" / "firmware.ini"), "--custom-typeshed-dir", str(TYPINGS),
        "--cache-dir", str(ROOT / ".mypy_cache" / "firmware"), *firmware,
        cwd=ROOT / "firmware", env_path=str(TYPINGS),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_host_code() -> None:
    result = mypy("--cache-dir", str(ROOT / ".mypy_cache" / "host"))
    assert result.returncode == 0, result.stdout + result.stderr
