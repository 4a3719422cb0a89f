"""``qinglian flash --harden``: the production hardening plan, its confirmations, and its refusal on hostsim.

esptool is never run here: the plan's eFuse names are checked against the eFuse tables esptool's
package ships (espefuse/efuse_defs), and the runs use a recorder in place of the tools.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from edge_support import qinglian

from hostsim.control import SimBoard
from tools.harden import CHIPS, Files, HardenError, harden, is_simulated, plan

PORT = "/dev/ttyUSB0"
MAC = "24:0a:c4:12:34:56"
_ESPEFUSE = importlib.util.find_spec("espefuse")  # found, not imported: nothing of esptool runs here
assert _ESPEFUSE is not None and _ESPEFUSE.origin is not None
DEFS = Path(_ESPEFUSE.origin).parent / "efuse_defs"
PURPOSES = {chip: ("XTS_AES_128_KEY", "HMAC_UP", "SECURE_BOOT_DIGEST0") for chip in ("esp32s3", "esp32c3")}


def files(tmp_path: Path) -> Files:
    return Files(tmp_path / "keys", tmp_path / "build")


def commands(chip: str, tmp_path: Path) -> list[list[str]]:
    return [list(c) for step in plan(chip, PORT, files(tmp_path)) for c in step.commands]


def position(cmds: list[list[str]], *words: str) -> int:
    """Index of the first command that contains all ``words``."""
    return next(i for i, c in enumerate(cmds) if all(w in c for w in words))


@pytest.mark.parametrize("chip", CHIPS)
def test_the_plan_follows_espressifs_order_with_real_efuse_names(chip: str, tmp_path: Path) -> None:
    steps = plan(chip, PORT, files(tmp_path))
    cmds = commands(chip, tmp_path)
    for c in cmds:
        if c[0] in ("esptool", "espefuse"):
            assert c[1:5] == ["--port", PORT, "--chip", chip]  # every board command names the port and the chip
    # Every eFuse the plan burns or protects is one espefuse knows for this chip.
    table = (DEFS / f"{chip}.yaml").read_text()
    named = [a for c in cmds if c[0] == "espefuse" and c[5] in ("burn-efuse", "write-protect-efuse") for a in c[6:] if not a[0].isdigit()]
    assert named
    for name in named:
        assert re.search(rf"^\s+{name}\s*:", table, re.MULTILINE), f"{name} is no eFuse of {chip}"

    xts = chip != "esp32"
    fe_key = position(cmds, "burn-key", str(files(tmp_path).fe_key))
    crypt = position(cmds, "burn-efuse", "SPI_BOOT_CRYPT_CNT" if xts else "FLASH_CRYPT_CNT")
    digest = position(cmds, "burn-key", str(files(tmp_path).digest))
    sb_on = position(cmds, "burn-efuse", "SECURE_BOOT_EN" if xts else "ABS_DONE_1")
    rd_dis = position(cmds, "write-protect-efuse", "RD_DIS")
    write = position(cmds, "write-flash")
    lock = position(cmds, "burn-efuse", "ENABLE_SECURITY_DOWNLOAD" if xts else "UART_DOWNLOAD_DIS")
    # Flash encryption first (its key must be read-protected before RD_DIS is write-protected), then
    # Secure Boot v2, the images, and the download mode last (espefuse burns nothing after it).
    assert position(cmds, "erase-flash") < fe_key < crypt < digest < sb_on < rd_dis < write < lock == len(cmds) - 1
    if xts:
        assert cmds[fe_key][-1] == "XTS_AES_128_KEY" and cmds[crypt][-1] == "7"
        assert cmds[digest][5:] == ["burn-key", "BLOCK_KEY2", str(files(tmp_path).digest), "SECURE_BOOT_DIGEST0"]
        hmac = position(cmds, "burn-key", str(files(tmp_path).hmac_key))
        assert cmds[hmac][-1] == "HMAC_UP" and crypt < hmac < digest
        assert "SECURE_BOOT_KEY_REVOKE1" in cmds[position(cmds, "SECURE_BOOT_KEY_REVOKE2")]  # unused digest slots
        source = (DEFS.parent / "efuse" / chip / "fields.py").read_text()
        assert all(f'("{p}",' in source for p in PURPOSES[chip])  # key purposes espefuse accepts for this chip
    else:
        assert cmds[fe_key][5:7] == ["burn-key", "flash_encryption"] and cmds[crypt][-1] == "127"
        assert ["burn-efuse", "FLASH_CRYPT_CONFIG", "0xF"] == cmds[position(cmds, "FLASH_CRYPT_CONFIG")][5:]
        assert cmds[digest][5:7] == ["burn-key", "secure_boot_v2"]
        assert "JTAG_DISABLE" in cmds[position(cmds, "DISABLE_DL_ENCRYPT")]
        assert not any(str(files(tmp_path).hmac_key) in c for c in cmds)  # the ESP32 has no HMAC peripheral
    # Images are signed with the Secure Boot key, then encrypted with the flash encryption key, at their address.
    for image in ("bootloader", "micropython"):
        signed = position(cmds, "sign-data", str(files(tmp_path).keys / f"{image}-signed.bin"))
        encrypted = position(cmds, "encrypt-flash-data", str(files(tmp_path).keys / f"{image}-signed.bin"))
        assert signed < encrypted < write and ("--aes-xts" in cmds[encrypted]) == xts
    assert cmds[write][5:7] == ["write-flash", "0x1000" if chip == "esp32" else "0x0"]
    # Every eFuse step is marked irreversible (and so asks at the board); the others only read the board.
    for step in steps:
        burns = any(c[0] == "espefuse" and c[5] in ("burn-key", "burn-efuse", "write-protect-efuse") for c in step.commands)
        assert step.burns == burns and (step.board or not burns)
        if not step.board:
            assert all(c[5] in ("chip-id", "summary") for c in step.commands if PORT in c)


def test_hostsim_gets_the_plan_and_a_refusal(board: SimBoard, tmp_path: Path) -> None:
    result = qinglian("flash", "--harden", "--port", board.serial_url, "--chip", "esp32s3",
                      "--keys", str(tmp_path / "keys"), "--image-dir", str(tmp_path / "build"), "--yes")  # fmt: skip
    assert result.returncode == 1
    assert "生产加固计划" in result.stdout and "不可逆 IRREVERSIBLE" in result.stdout
    assert f"espefuse --port {board.serial_url} --chip esp32s3 burn-efuse SPI_BOOT_CRYPT_CNT 7" in result.stdout
    assert "模拟板" in result.stderr and "no eFuses" in result.stderr
    assert not (tmp_path / "keys").exists()  # nothing was run, not even on this computer
    assert board.control.state()["running"]
    assert is_simulated(board.serial_url) and not is_simulated(PORT) and not is_simulated("rfc2217://10.0.0.5:4000")


class Bench:
    """Stands in for the tools: records each command; read-mac answers with the chip's MAC."""

    def __init__(self) -> None:
        self.ran: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.ran.append(list(argv))
        return f"Detecting chip type... ESP32-S3\nMAC: {MAC}\n" if "read-mac" in argv else ""

    def burnt(self) -> list[list[str]]:
        return [c for c in self.ran if c[0] == "espefuse" and ("burn-key" in c or "burn-efuse" in c)]


def test_unattended_runs_write_the_board_only_for_the_named_chip(tmp_path: Path) -> None:
    bench = Bench()
    with pytest.raises(HardenError, match="--burn-mac"):
        harden("esp32s3", PORT, files(tmp_path), assume_yes=True, ask=None, run=bench, say=lambda _: None)
    assert bench.ran and not bench.burnt() and not any("erase-flash" in c for c in bench.ran)  # the host steps ran, no more

    bench = Bench()
    with pytest.raises(HardenError, match=MAC):
        harden("esp32s3", PORT, files(tmp_path), assume_yes=True, burn_mac="24:0a:c4:00:00:01", run=bench, say=lambda _: None)
    assert not bench.burnt()

    with pytest.raises(HardenError, match="--yes"):  # no terminal and no --yes: not even the host steps
        harden("esp32s3", PORT, files(tmp_path), ask=None, run=Bench(), say=lambda _: None)

    bench = Bench()
    harden("esp32s3", PORT, files(tmp_path), assume_yes=True, burn_mac=MAC.upper(), run=bench, say=lambda _: None)
    expected = [["espefuse", "--do-not-confirm", *c[1:]] if c[0] == "espefuse" and c[5] != "summary" else c for c in commands("esp32s3", tmp_path)]
    assert [c for c in bench.ran if "read-mac" not in c] == expected  # all of it, in order, each burn confirmed here


def test_a_technician_types_the_mac_before_each_board_step(tmp_path: Path) -> None:
    asked: list[str] = []
    answers = iter(["y", "y", MAC, MAC, "24:0a:c4:12:34:57"])  # two host steps, erase, the key; then a typo

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    bench = Bench()
    with pytest.raises(HardenError, match="MAC 不符"):
        harden("esp32", PORT, files(tmp_path), ask=ask, run=bench, say=lambda _: None)
    assert MAC in asked[2] and "不可逆" in asked[3] and "IRREVERSIBLE" in asked[4]
    burnt = bench.burnt()
    assert [c[6:8] for c in burnt] == [["burn-key", "flash_encryption"]]  # the typo stopped the next burn
    assert burnt[0][1] == "--do-not-confirm"
