"""Firmware release and flashing figures.

    python benchmarks/bench_flash.py

Prints the size of the compiled ESP32 release (.mpy bytes, against the
Python source it comes from), and the time ``qinglian flash`` takes against a
hostsim board: provisioning a factory-fresh board and re-flashing it through a
maintenance window, against copying the same files with plain ``mpremote fs
cp`` in the same run (the baseline: what the checking, provisioning and
waiting for the boot add).
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edge_support import DEVICE, write_config  # noqa: E402

from edge.agent import EdgeAgent  # noqa: E402
from edge.kernel.config import load_config  # noqa: E402
from hostsim.control import SimBoard  # noqa: E402
from hostsim.flash import FIRMWARE_DIR  # noqa: E402
from tools import flash, release, releasekey  # noqa: E402
from tools.progress import Progress  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key_path = tmp / "release.pem"
        releasekey.generate(key_path)
        key = releasekey.load_private(key_path)
        compiled = release.build(tmp / "mpy", key, 1)
        source_bytes = sum(p.stat().st_size for p in FIRMWARE_DIR.glob("*.py"))
        mpy_bytes = sum((compiled.folder / n).stat().st_size for n in compiled.files)
        print(f"release for xtensawin: {len(compiled.files)} files, {mpy_bytes} bytes "
              f"(source {source_bytes} bytes, ratio {mpy_bytes / source_bytes:.2f})")  # fmt: skip
        hostsim_release = release.build(tmp / "src", key, 1, target="source")

        with SimBoard(tmp / "board", factory=True) as board:
            files = [str(hostsim_release.folder / n) for n in sorted(hostsim_release.files)]
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mpremote", "connect", board.serial_url, "resume", "fs", "cp", *files, ":"],
                           check=True, capture_output=True)  # fmt: skip
            baseline = time.perf_counter() - t0
            config_path = write_config(tmp / "edge", board.serial_url)
            with config_path.open("a") as f:
                f.write(f'\n[firmware]\nrelease_pubkey = "{releasekey.public_path(key_path)}"\n')
            config = load_config(config_path)

            async def flash_once() -> float:
                agent = await EdgeAgent.open(config)
                try:
                    t = time.perf_counter()
                    await flash.flash(board.serial_url, hostsim_release, agent, config.device(DEVICE), progress=Progress(7, io.StringIO()))
                    return time.perf_counter() - t
                finally:
                    await agent.close()

            fresh = asyncio.run(flash_once())
            again = asyncio.run(flash_once())
        size = sum((hostsim_release.folder / n).stat().st_size for n in hostsim_release.files)
        print(f"plain mpremote fs cp of the {len(files)} files ({size} bytes): {baseline:6.2f} s  (baseline)")
        print(f"qinglian flash, factory-fresh board:        {fresh:6.2f} s  ({fresh / baseline:.1f}x)")
        print(f"qinglian flash, re-flash via maintenance:   {again:6.2f} s  ({again / baseline:.1f}x)")


if __name__ == "__main__":
    main()
