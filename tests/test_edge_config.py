"""The edge config: the example loads, and every kind of mistake is a clear error naming its place."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_support import PEOPLE, write_config

from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parent.parent


def test_example_config_loads() -> None:
    config = load_config(REPO / "examples" / "edge.toml")
    assert config.village == "青莲村"
    assert config.data_dir == (REPO / "data" / "edge").resolve()
    assert config.devices[0].url == "socket://127.0.0.1:7001"
    assert config.devices[0].device_id is None  # bound at enrolment
    assert config.route_for("official", 250_000).mode == "chain"
    large = config.route_for("official", 1_000_000)
    assert (large.mode, large.n, len(large.approvers)) == ("n_of_m", 2, 3)
    assert config.people["wangfang"].name == "王芳"


def test_systemd_unit_runs_the_agent() -> None:
    unit = (REPO / "deploy" / "qinglian-edge.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/qinglian/.venv/bin/qinglian edge run --config /etc/qinglian/edge.toml" in unit
    assert "[Install]" in unit


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "cfg", "socket://127.0.0.1:1"))
    assert config.data_dir == (tmp_path / "cfg" / "edge").resolve()
    assert config.key_file == (tmp_path / "cfg" / "secrets" / "master.key").resolve()


def _bad(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.message


BASE = """
village = "v"
data_dir = "d"
key_file = "k"
[[devices]]
name = "s1"
seal = "official"
url = "socket://127.0.0.1:1"
custodian = "wangfang"
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("", "[timing]\nuse_window_s = 0\n"), "use_window_s"),
        (("", "[timing]\nuse_window_s = 90000\n"), "86400"),
        (("", "[timing]\ntypo_s = 3\n"), "typo_s"),
        (('seal = "official"\nurl', 'seal = "stamp"\nurl'), "stamp"),
        (('custodian = "wangfang"', 'custodian = "liming"'), "custodian"),
        (('approvers = ["zhangwei", "chenjing"]', 'approvers = ["zhangwei", "nobody"]'), "nobody"),
        (('approvers = ["zhangwei", "chenjing"]', 'approvers = ["zhangwei", "liming"]'), "liming"),
        (("n = 2\napprovers = [\"zhangwei\", \"chenjing\", \"zhaolei\"]", "n = 4\napprovers = [\"zhangwei\", \"chenjing\", \"zhaolei\"]"), "1..3"),
        (('mode = "chain"', 'mode = "majority"'), "majority"),
        (("max_fen = 1000000\nmode", "max_fen = -5\nmode"), "max_fen"),
        (('roles = ["applicant"]', 'roles = ["boss"]'), "boss"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = BASE + PEOPLE
    if change[0]:
        assert change[0] in text, change[0]
        text = text.replace(change[0], change[1], 1)
    else:
        text = change[1] + text if change[1].startswith("village") else text.replace('key_file = "k"\n', 'key_file = "k"\n' + change[1], 1)
    message = _bad(tmp_path, text)
    assert expected in message
    assert "配置" in message  # the Chinese half is there too


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    assert "invalid TOML" in _bad(tmp_path, "village = ")
    assert "missing key 'devices'" in _bad(tmp_path, 'village = "v"\ndata_dir = "d"\nkey_file = "k"\n' + PEOPLE)


def test_lookups_raise_input_errors(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "socket://127.0.0.1:1"))
    with pytest.raises(InputError) as info:
        config.person("nobody")
    assert info.value.code == "unknown_person"
    with pytest.raises(InputError) as info:
        config.route_for("finance", 0)
    assert info.value.code == "no_route"


def test_every_command_reads_a_config_holding_each_parts_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An edge.toml with a table for every registered part: a command of the web shell, of the tools and of one
    # part each read it (a reader that knows only some of the tables calls the others unknown keys).
    from edge.modules import SECTIONS
    from qinglian.cli import main

    path = write_config(tmp_path / "cfg", "socket://127.0.0.1:1")
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(f"\n[{section.name}]\n" for section in SECTIONS))
    assert {"whistleblower", "competitive_deposit"} <= {s.name for s in SECTIONS}
    assert main(["web", "user", "list", "--config", str(path), "--json"]) == 0
    assert main(["flash", "--config", str(path), "--device", "nope", "--port", "socket://127.0.0.1:1"]) == 1
    assert "unknown key" not in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(path)  # the kernel alone does not know them


def test_the_examples_hours_of_use_load_when_uncommented(tmp_path: Path) -> None:
    text = (REPO / "examples" / "edge.toml").read_text(encoding="utf-8")
    start = text.index("# [devices.hours]")
    end = text.index("\n\n", start)
    block = "\n".join(line.removeprefix("# ") for line in text[start:end].splitlines())
    path = tmp_path / "edge.toml"
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
    hours = load_config(path).devices[0].hours
    assert hours is not None and (hours.opens.isoformat(), hours.closes.isoformat()) == ("08:30:00", "17:30:00")
