"""``qinglian flash --harden``: the production hardening of a seal's board, step by step.

Whoever holds a board without it and a USB cable reads ``identity.json`` (the device key)
with esptool and can mint grants. The answer is the chip's own: flash encryption in release
mode (the flash, the filesystem that holds the key included, reads back as ciphertext),
Secure Boot v2 (only firmware signed with the village's signing key boots), JTAG off and the
ROM download mode locked down, and on ESP32-S3/C3 an HMAC key in eFuse (``HMAC_UP``) that
protects the NVS encryption key, so a key kept in NVS never lies in flash unprotected.

The steps follow Espressif's "Security Features Enablement Workflows" (flash encryption
first, then Secure Boot v2, the download mode last) with the commands of the esptool
package (``esptool``, ``espefuse``, ``espsecure``). Burning eFuses cannot be undone: every
step that writes to the board is printed with its exact commands and runs only after the
technician types the chip's MAC address (or names it with ``--burn-mac`` for an unattended
line); ``--yes`` covers only the steps on the technician's own computer. A simulated board
has no eFuses: against hostsim the plan is printed and refused.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

CHIPS = ("esp32", "esp32s3", "esp32c3")
CHIP_NAMES = {"esp32": "ESP32 (v3.0 or later)", "esp32s3": "ESP32-S3", "esp32c3": "ESP32-C3"}
# Where the ROM loads the second-stage bootloader from; the partition table and the app are the same on all three.
BOOTLOADER_AT = {"esp32": "0x1000", "esp32s3": "0x0", "esp32c3": "0x0"}
PARTITION_TABLE_AT = "0x8000"
APP_AT = "0x10000"
_MAC = re.compile(r"MAC:\s*((?:[0-9a-f]{2}:){5}[0-9a-f]{2})", re.IGNORECASE)


class HardenError(Exception):
    """Hardening stopped; the message says why and what was done."""


@dataclass(frozen=True)
class Step:
    title: str
    commands: tuple[tuple[str, ...], ...]
    board: bool  # writes to the board: asks for the chip's MAC before it runs
    burns: bool  # burns eFuses: irreversible
    note: str = ""


@dataclass(frozen=True)
class Files:
    """The technician's key folder and the production MicroPython build for this chip."""

    keys: Path
    images: Path

    @property
    def fe_key(self) -> Path:
        return self.keys / "flash_encryption_key.bin"

    @property
    def signing_key(self) -> Path:
        return self.keys / "secure_boot_signing_key.pem"

    @property
    def digest(self) -> Path:
        return self.keys / "secure_boot_digest.bin"

    @property
    def hmac_key(self) -> Path:
        return self.keys / "hmac_key.bin"

    @property
    def nvs_key(self) -> Path:
        return self.keys / "nvs_encr_key.bin"


def _images(chip: str, files: Files) -> list[tuple[str, Path, bool]]:
    """(flash address, built file, signed by secure boot) of the production build."""
    return [
        (BOOTLOADER_AT[chip], files.images / "bootloader" / "bootloader.bin", True),
        (PARTITION_TABLE_AT, files.images / "partition_table" / "partition-table.bin", False),
        (APP_AT, files.images / "micropython.bin", True),
    ]


def _output(source: Path, keys: Path, suffix: str) -> Path:
    return keys / f"{source.stem}-{suffix}.bin"


def plan(chip: str, port: str, files: Files) -> list[Step]:
    """Every step, in the order Espressif's workflow requires, with the exact commands."""
    if chip not in CHIPS:
        raise HardenError(f"不支持的芯片 unsupported chip {chip!r}; use one of {', '.join(CHIPS)}")
    xts = chip != "esp32"  # ESP32-S3/C3 encrypt with AES-XTS and have key blocks with purposes
    fuse = ("espefuse", "--port", port, "--chip", chip)
    tool = ("esptool", "--port", port, "--chip", chip)
    k = {name: str(getattr(files, name)) for name in ("fe_key", "signing_key", "digest", "hmac_key", "nvs_key")}
    steps = [
        Step(
            "读取芯片与 eFuse 现状 read the chip and its eFuses",
            ((*tool, "chip-id"), (*fuse, "summary")),
            board=False, burns=False,
            note=("Secure Boot v2 needs chip revision v3.0 or later. " if chip == "esp32" else "")
            + "Flash encryption must not be on yet (FLASH_CRYPT_CNT / SPI_BOOT_CRYPT_CNT 0).",
        ),
    ]  # fmt: skip
    host_keys: list[tuple[str, ...]] = [
        ("espsecure", "generate-flash-encryption-key", k["fe_key"]),
        ("espsecure", "generate-signing-key", "--version", "2", "--scheme", "rsa3072", k["signing_key"]),
        ("espsecure", "digest-sbv2-public-key", "--keyfile", k["signing_key"], "--output", k["digest"]),
    ]
    if xts:
        host_keys.append(
            ("nvs_partition_gen.py", "generate-key", "--key_protect_hmac", "--kp_hmac_keygen",
             "--kp_hmac_keyfile", k["hmac_key"], "--keyfile", k["nvs_key"])
        )  # fmt: skip
    steps.append(
        Step(
            "在本机生成密钥 make the keys on this computer",
            tuple(host_keys), board=False, burns=False,
            note="One flash encryption key per board. Keep the signing key offline (it signs every future firmware); "
            "nvs_partition_gen.py comes with ESP-IDF (components/nvs_flash/nvs_partition_generator).",
        )
    )  # fmt: skip
    steps.append(
        Step("擦除闪存 erase the flash (the board's identity and journal go too)", ((*tool, "erase-flash"),), board=True, burns=False)
    )
    if xts:
        fe_key: tuple[str, ...] = (*fuse, "burn-key", "BLOCK_KEY0", k["fe_key"], "XTS_AES_128_KEY")
        crypt: tuple[tuple[str, ...], ...] = ((*fuse, "burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"),)
    else:
        fe_key = (*fuse, "burn-key", "flash_encryption", k["fe_key"])
        crypt = ((*fuse, "burn-efuse", "FLASH_CRYPT_CNT", "127"), (*fuse, "burn-efuse", "FLASH_CRYPT_CONFIG", "0xF"))
    steps += [
        Step("烧录闪存加密密钥 burn the flash encryption key (read- and write-protected)", (fe_key,), board=True, burns=True),
        Step("启用闪存加密（发布模式）enable flash encryption in release mode", crypt, board=True, burns=True,
             note="Release mode: the count is burnt to its last value, so encryption can never be turned off again."),
    ]  # fmt: skip
    if chip == "esp32":
        lockdown = (
            (*fuse, "burn-efuse", "DISABLE_DL_ENCRYPT", "0x1", "DISABLE_DL_DECRYPT", "0x1", "DISABLE_DL_CACHE", "0x1", "JTAG_DISABLE", "0x1"),
            (*fuse, "write-protect-efuse", "DIS_CACHE"),
        )
    else:
        download_cache = ("DIS_DOWNLOAD_ICACHE", "0x1", "DIS_DOWNLOAD_DCACHE", "0x1") if chip == "esp32s3" else ("DIS_DOWNLOAD_ICACHE", "0x1")
        lockdown = (
            (*fuse, "burn-efuse", *download_cache, "DIS_PAD_JTAG", "0x1", "DIS_USB_JTAG", "0x1", "DIS_DIRECT_BOOT", "0x1",
             "DIS_DOWNLOAD_MANUAL_ENCRYPT", "0x1"),
            (*fuse, "write-protect-efuse", "DIS_ICACHE"),
        )  # fmt: skip
    steps.append(
        Step("关闭 JTAG 与下载模式下的闪存读写 disable JTAG and flash access from the ROM download mode", lockdown, board=True, burns=True,
             note="USB serial stays on: it is the seal's line to the edge.")
    )  # fmt: skip
    if xts:
        steps.append(
            Step(
                "烧录 HMAC 密钥（保护 NVS 加密密钥）burn the HMAC key that protects the NVS encryption key",
                ((*fuse, "burn-key", "BLOCK_KEY1", k["hmac_key"], "HMAC_UP"),), board=True, burns=True,
                note="Firmware built with CONFIG_NVS_SEC_KEY_PROTECT_USING_HMAC and key id 1 derives the NVS key "
                "through the HMAC peripheral: the key in eFuse can be used but never read.",
            )
        )  # fmt: skip
    if xts:
        digest: tuple[str, ...] = (*fuse, "burn-key", "BLOCK_KEY2", k["digest"], "SECURE_BOOT_DIGEST0")
        enable: tuple[tuple[str, ...], ...] = ((*fuse, "burn-efuse", "SECURE_BOOT_EN"),)
        protect: tuple[tuple[str, ...], ...] = (
            (*fuse, "write-protect-efuse", "RD_DIS"),
            (*fuse, "burn-efuse", "SECURE_BOOT_KEY_REVOKE1", "1", "SECURE_BOOT_KEY_REVOKE2", "1"),
        )
    else:
        digest = (*fuse, "burn-key", "secure_boot_v2", k["digest"])
        enable = ((*fuse, "burn-efuse", "ABS_DONE_1"),)
        protect = ((*fuse, "write-protect-efuse", "RD_DIS"),)
    steps += [
        Step("烧录安全启动公钥摘要 burn the Secure Boot v2 public key digest", (digest,), board=True, burns=True),
        Step("启用安全启动 v2 enable Secure Boot v2", enable, board=True, burns=True),
        Step("保护安全启动 eFuse protect the Secure Boot eFuses", protect, board=True, burns=True,
             note="RD_DIS is write-protected only now: the flash encryption key above had to be read-protected first."
             + (" Unused digest slots 1 and 2 are revoked." if xts else "")),
    ]  # fmt: skip
    sign_encrypt: list[tuple[str, ...]] = []
    write: list[str] = []
    for address, source, signed in _images(chip, files):
        plain = source
        if signed:
            plain = _output(source, files.keys, "signed")
            sign_encrypt.append(("espsecure", "sign-data", "--version", "2", "--keyfile", k["signing_key"], "--output", str(plain), str(source)))
        encrypted = _output(source, files.keys, "enc")
        sign_encrypt.append(
            ("espsecure", "encrypt-flash-data", *(("--aes-xts",) if xts else ()), "--keyfile", k["fe_key"],
             "--address", address, "--output", str(encrypted), str(plain))
        )  # fmt: skip
        write += [address, str(encrypted)]
    steps += [
        Step(
            "签名并加密固件映像 sign, then encrypt the production MicroPython images", tuple(sign_encrypt), board=False, burns=False,
            note="A MicroPython build for this chip with Secure Boot v2 and flash encryption (release mode) in its sdkconfig, "
            "and a partition table whose vfs partition carries the encrypted flag: the identity file then lies encrypted in flash.",
        ),
        Step("写入固件映像 write the images", ((*tool, "write-flash", *write),), board=True, burns=False),
        Step(
            "锁定 ROM 下载模式（最后一步）lock the ROM download mode (last: espefuse cannot burn anything after it)",
            ((*fuse, "burn-efuse", "UART_DOWNLOAD_DIS"),) if chip == "esp32" else ((*fuse, "burn-efuse", "ENABLE_SECURITY_DOWNLOAD"),),
            board=True, burns=True,
            note="Then delete the flash encryption key from this computer, and provision the seal as usual with "
            "`qinglian flash --release ...`: the key it writes goes straight into encrypted flash.",
        ),
    ]  # fmt: skip
    return steps


def render(chip: str, port: str, steps: Sequence[Step]) -> str:
    lines = [f"生产加固计划 production hardening plan for {CHIP_NAMES[chip]} on {port}", ""]
    for i, step in enumerate(steps, 1):
        mark = "【不可逆 IRREVERSIBLE】" if step.burns else ("【写入设备 writes the board】" if step.board else "【不写设备 no writes to the board】")
        lines.append(f"{i}. {step.title} {mark}")
        lines += [f"     $ {shlex.join(c)}" for c in step.commands]
        if step.note:
            lines.append(f"     {step.note}")
    return "\n".join(lines)


def is_simulated(port: str) -> bool:
    """hostsim's UART: a TCP socket, or a pseudo-terminal (a real board is a USB serial device)."""
    if "://" in port:
        return port.startswith("socket://")
    return Path(port).resolve().as_posix().startswith("/dev/pts/")


Run = Callable[[Sequence[str]], str]


def run_command(command: Sequence[str]) -> str:
    """Run one tool of the esptool package (or ESP-IDF's NVS generator); its output, or HardenError."""
    argv = list(command)
    if argv[0] in ("esptool", "espefuse", "espsecure"):
        argv = [sys.executable, "-m", argv[0], *argv[1:]]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise HardenError(f"命令失败 command failed ({done.returncode}): {shlex.join(command)}\n{done.stdout}{done.stderr}")
    return done.stdout


def harden(
    chip: str,
    port: str,
    files: Files,
    assume_yes: bool = False,
    burn_mac: str | None = None,
    ask: Callable[[str], str] | None = None,
    run: Run = run_command,
    say: Callable[[str], None] = print,
) -> None:
    """Print the plan, then run it step by step, each board step only after its confirmation.

    ``ask`` reads the technician's answer (None: no terminal, so nothing irreversible runs
    without ``burn_mac``). eFuse commands get espefuse's ``--do-not-confirm`` only because the
    chip's MAC was typed (or given) here, a stronger check than its own "BURN".
    """
    steps = plan(chip, port, files)
    say(render(chip, port, steps))
    if is_simulated(port):
        raise HardenError(
            f"{port} 是模拟板（hostsim），没有 eFuse，无法加固；以上步骤只能在真实的 {CHIP_NAMES[chip]} 上执行 "
            "a simulated board has no eFuses: nothing was done"
        )
    files.keys.mkdir(mode=0o700, parents=True, exist_ok=True)  # the keys made here are secrets
    mac: str | None = None
    for i, step in enumerate(steps, 1):
        say(f"\n[{i}/{len(steps)}] {step.title}")
        if step.board:
            mac = mac or _read_mac(port, chip, run)
            _confirm_board(step, mac, burn_mac, ask)
        elif not assume_yes:
            if ask is None:
                raise HardenError(f"第 {i} 步需要确认 step {i} needs a confirmation: run it in a terminal, or add --yes")
            if ask("继续？continue? [y/N] ").strip().lower() not in ("y", "yes"):
                raise HardenError(f"已在第 {i} 步停止 stopped before step {i}; steps 1–{i - 1} are done")
        for command in step.commands:
            argv = list(command)
            if step.burns and argv[0] == "espefuse":
                argv.insert(1, "--do-not-confirm")
            say(f"$ {shlex.join(argv)}")
            say(run(argv))
    say("✓ 加固完成 hardening done")


def _read_mac(port: str, chip: str, run: Run) -> str:
    found = _MAC.search(run(["esptool", "--port", port, "--chip", chip, "read-mac"]))
    if found is None:
        raise HardenError(f"读不到芯片的 MAC 地址 could not read the chip's MAC address on {port}")
    return found.group(1).lower()


def _confirm_board(step: Step, mac: str, burn_mac: str | None, ask: Callable[[str], str] | None) -> None:
    what = "不可逆：烧录后无法撤销 IRREVERSIBLE" if step.burns else "将改写设备 this writes to the board"
    if burn_mac is not None:
        if burn_mac.strip().lower() != mac:
            raise HardenError(f"--burn-mac {burn_mac} 不是这块板（{mac}）the connected chip is {mac}: nothing burnt")
        return
    if ask is None:
        raise HardenError(
            f"{what}: 无人值守时不执行，除非用 --burn-mac {mac} 明确指定这块板 "
            "an unattended run does not write the board unless --burn-mac names this chip"
        )
    typed = ask(f"{what}。请输入本板 MAC 地址 {mac} 以确认 type the chip's MAC to go on: ")
    if typed.strip().lower() != mac:
        raise HardenError("MAC 不符，已停止 the MAC does not match: stopped, this step was not run")
