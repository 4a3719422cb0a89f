"""The [camera] table of the edge config."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_support import write_config

from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError


def with_camera(tmp_path: Path, table: str) -> Path:
    path = write_config(tmp_path, "socket://127.0.0.1:9")
    path.write_text(path.read_text(encoding="utf-8") + "\n[camera]\n" + table, encoding="utf-8")
    return path


def test_no_camera_no_photos(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "socket://127.0.0.1:9")).camera is None


def test_camera_settings(tmp_path: Path) -> None:
    config = load_config(with_camera(tmp_path, "source = 0\nmonitored_area = [10, 20, 300, 400]\nocr_workers = 2\n"))
    assert config.camera is not None
    assert (config.camera.source, config.camera.monitored_area, config.camera.ocr_workers) == (
        "0",
        (10, 20, 300, 400),
        2,
    )
    assert config.camera.ocr_backend == "tesseract"
    url = load_config(with_camera(tmp_path, 'source = "http://127.0.0.1:8081/stream.mjpg"\n')).camera
    assert url is not None and url.monitored_area is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("monitored_area = [1, 2, 3, 4]\n", "source"),
        ("source = 0\nmonitored_area = [1, 2, 3]\n", "monitored_area"),
        ("source = 0\nmonitored_area = [1, 2, 0, 4]\n", "monitored_area"),
        ('source = 0\nocr_backend = "easyocr"\n', "ocr_backend"),
        ("source = 0\nocr_workers = 0\n", "ocr_workers"),
        ("source = 0\nsurce = 1\n", "surce"),
        ("source = -1\n", "source"),
    ],
)
def test_bad_camera_settings_are_named(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(with_camera(tmp_path, table))
