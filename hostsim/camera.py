"""The virtual desk camera: what lies on the custodian's desk, served as an MJPEG stream.

A :class:`VirtualCamera` knows the page on the desk (rendered from fields or
read from an image file) and every seal impression stamped on it; its frame
is that page photographed as a desk camera would (see :mod:`hostsim.pages`),
re-rendered whenever the desk changes and deterministic for a given seed.

:class:`CameraServer` serves it over HTTP the way IP cameras do, so the edge
opens it with the same OpenCV code as a real camera::

    cv2.VideoCapture("http://127.0.0.1:PORT/stream.mjpg")   # multipart/x-mixed-replace
    GET /frame.jpg   one JPEG        GET /state   the desk as JSON
    POST /place {"spec": {...}} | {"file": PATH} | {"seed": N}     POST /stamp {"at": [x, y]}     POST /clear
    POST /fit {"org": "青莲村股份经济合作社", "label": "公章"}   the seal in the sleeve, which every stamp prints

``qinglian sim device --camera tcp:HOST:PORT`` runs one beside a simulated
board; there a press on the board stamps the page under the camera.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import signal
import threading
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.ocr.desk import A5_PX, FRAME_SIZE
from edge.ocr.preprocess import load
from hostsim import pages
from hostsim.facecam import FaceCamera

log = logging.getLogger("hostsim.camera")

BOUNDARY = "qinglianframe"
DEFAULT_SEAL = ("青山村股份经济合作社", "合同专用章")  # until ``fit`` says which seal the device holds
DEFAULT_FPS = 10.0


def spec_from_dict(data: dict[str, Any]) -> pages.PageSpec:
    """A :class:`PageSpec` from JSON: ``seed`` picks a random page, other keys override its fields."""
    data = dict(data)
    seed = int(data.pop("seed", 0))
    known = {f.name for f in fields(pages.PageSpec)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown page fields: {', '.join(sorted(unknown))}")
    if "date" in data and isinstance(data["date"], str):
        data["date"] = dt.date.fromisoformat(data["date"])
    for key in ("body", "closing"):
        if key in data:
            data[key] = tuple(data[key])
    if "amount_fen" in data and type(data["amount_fen"]) is not int:
        raise ValueError("amount_fen must be an integer number of fen")
    return pages.random_spec(seed, **data)


def spec_to_dict(spec: pages.PageSpec) -> dict[str, Any]:
    out = asdict(spec)
    out["date"] = spec.date.isoformat()
    out["body"], out["closing"] = list(spec.body), list(spec.closing)
    return out


class VirtualCamera:
    """The desk under the camera. Thread-safe; rendering happens in the caller's thread."""

    ops = ("place", "stamp", "fit", "clear")  # the control requests served as POST /<op>

    def __init__(self, seed: int = 0, frame_size: tuple[int, int] = FRAME_SIZE) -> None:
        self.seed = seed
        self.frame_size = frame_size
        self._lock = threading.Lock()
        self._page: np.ndarray | None = None  # the sheet as it is now, stamps included (page pixels)
        self._spec: pages.PageSpec | None = None
        self._source = "empty"
        self._anchor: tuple[int, int] | None = None
        self._shot = pages.Shot()
        self._stamps: list[tuple[int, int]] = []
        # the seal in the sleeve: the device's, whatever page lies under the camera (``fit`` changes it)
        self._org, self._label = DEFAULT_SEAL
        self._version = 0
        self._jpeg = self._render_locked()

    # -- what is on the desk --------------------------------------------------------------

    def place_spec(self, spec: pages.PageSpec, shot: pages.Shot | None = None) -> dict[str, Any]:
        """Put a page printed from ``spec`` on the desk (no stamps yet)."""
        rendered = pages.render_page(spec)
        return self._place(rendered.image, rendered.seal_anchor, f"spec:{spec.title}", spec, shot)

    def place_image(self, image: np.ndarray, shot: pages.Shot | None = None, source: str = "image") -> dict[str, Any]:
        """Put a printed image (a scan or rendered original) on the desk, scaled to an A5 sheet."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        width = A5_PX[0]
        height = max(1, round(image.shape[0] * width / image.shape[1]))
        sheet = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        anchor = (int(width * 0.38), int(height * 0.78))
        return self._place(sheet, anchor, source, None, shot)

    def place_file(self, path: str | Path, shot: pages.Shot | None = None) -> dict[str, Any]:
        image = load(str(path))  # measured before it is decoded: a page is never a decompression bomb
        return self.place_image(image, shot, source=f"file:{Path(path).name}")

    def _place(
        self,
        sheet: np.ndarray,
        anchor: tuple[int, int],
        source: str,
        spec: pages.PageSpec | None,
        shot: pages.Shot | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._version += 1
            self._page = sheet
            self._spec = spec
            self._anchor = anchor
            self._source = source
            self._stamps = []
            self._shot = shot if shot is not None else pages.Shot.random(self.seed * 7919 + self._version)
            self._jpeg = self._render_locked()
            return self._state_locked()

    def fit(self, org: str, label: str) -> dict[str, Any]:
        """Put another seal in the sleeve: ``org`` on its ring, ``label`` (its kind) under the star."""
        if not org or len(org) > 24 or len(label) > 8:
            raise ValueError("a seal needs its organisation (at most 24 characters) and a kind of at most 8")
        with self._lock:
            self._org, self._label = org, label
            return self._state_locked()

    def clear(self) -> dict[str, Any]:
        """Take the page off the desk."""
        with self._lock:
            self._version += 1
            self._page, self._spec, self._anchor, self._source, self._stamps = None, None, None, "empty", []
            self._jpeg = self._render_locked()
            return self._state_locked()

    def stamp(self, at: tuple[int, int] | None = None) -> dict[str, Any]:
        """Press the seal onto the page: at ``at`` (page pixels) or, by default, its seal block.

        A hand never stamps twice on the same spot, so the default position
        wanders a little (seeded). Stamping the empty desk leaves no mark.
        """
        with self._lock:
            if self._page is None or self._anchor is None:
                return self._state_locked()
            self._version += 1
            if at is None:
                rng = random.Random(self.seed * 104729 + self._version)
                at = (self._anchor[0] + rng.randint(-20, 20), self._anchor[1] + rng.randint(-15, 15))
            self._page = pages.stamp_seal(self._page, at, org=self._org, label=self._label, seed=self.seed + self._version)
            self._stamps.append((int(at[0]), int(at[1])))
            self._jpeg = self._render_locked()
            return self._state_locked()

    # -- what the camera sees ---------------------------------------------------------------

    def _render_locked(self) -> bytes:
        frame = pages.photograph(self._page, self._shot, self.seed + self._version, self.frame_size)
        return pages.encode_jpeg(frame, self._shot.jpeg_quality)

    def jpeg(self) -> bytes:
        with self._lock:
            return self._jpeg

    @property
    def version(self) -> int:
        return self._version

    def to_frame(self, point: tuple[float, float]) -> tuple[float, float]:
        """Page pixels of the current sheet to camera-frame pixels."""
        with self._lock:
            size = (self._page.shape[1], self._page.shape[0]) if self._page is not None else A5_PX
            return pages.to_frame(point, self._shot, size)

    def _state_locked(self) -> dict[str, Any]:
        stamps_frame = []
        if self._page is not None:
            size = (self._page.shape[1], self._page.shape[0])
            stamps_frame = [[round(v) for v in pages.to_frame(p, self._shot, size)] for p in self._stamps]
        return {
            "version": self._version,
            "source": self._source,
            "spec": spec_to_dict(self._spec) if self._spec is not None else None,
            "stamps": [list(p) for p in self._stamps],
            "stamps_in_frame": stamps_frame,
            "frame_size": list(self.frame_size),
            "seal": {"org": self._org, "label": self._label},
        }

    def state(self) -> dict[str, Any]:
        with self._lock:
            return self._state_locked()

    # -- control requests (JSON) ------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control request: ``place`` (spec / seed / file), ``stamp`` (at), ``fit`` (org, label: the seal in
        the sleeve), ``clear``, ``state``."""
        op = request.get("op")
        if op == "place":
            if "file" in request:
                return self.place_file(str(request["file"]))
            spec = request.get("spec")
            if spec is None:
                spec = {"seed": int(request.get("seed", 0))}
            if not isinstance(spec, dict):
                raise ValueError("spec must be an object")
            return self.place_spec(spec_from_dict(spec))
        if op == "stamp":
            at = request.get("at")
            if at is not None and (not isinstance(at, list) or len(at) != 2):
                raise ValueError("at must be [x, y] in page pixels")
            return self.stamp(tuple(int(v) for v in at) if at is not None else None)  # type: ignore[arg-type]
        if op == "fit":
            return self.fit(str(request.get("org", "")), str(request.get("label", "")))
        if op == "clear":
            return self.clear()
        if op == "state":
            return self.state()
        raise ValueError(f"unknown camera op {op!r}")


class CameraServer:
    """HTTP for one :class:`VirtualCamera` (or :class:`hostsim.facecam.FaceCamera`): an MJPEG stream, single
    frames, and its control requests."""

    def __init__(self, camera: VirtualCamera | FaceCamera, host: str = "127.0.0.1", port: int = 0, fps: float = DEFAULT_FPS) -> None:
        self.camera = camera
        self.host = host
        self.port = port
        self.fps = fps
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Event | None = None
        self._lock = asyncio.Lock()  # one render at a time

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        assert self._stopping is not None
        self._stopping.set()  # streams end by themselves (cancelling them at loop shutdown logs bogus errors)
        for writer in list(self._writers):
            writer.transport.abort()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5)
        await self._server.wait_closed()
        self._server = None

    async def control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a control request off the event loop (rendering takes a few hundred ms)."""
        async with self._lock:
            return await asyncio.to_thread(self.camera.handle, request)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            request_line = (await reader.readline()).decode("latin-1").strip()
            headers: dict[str, str] = {}
            while line := (await reader.readline()).decode("latin-1").strip():
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            parts = request_line.split()
            if len(parts) < 2:
                return
            method, path = parts[0], parts[1].split("?")[0]
            if method == "GET" and path in ("/stream.mjpg", "/stream", "/video"):
                await self._stream(writer)
            elif method == "GET" and path in ("/frame.jpg", "/snapshot.jpg"):
                await self._send(writer, 200, "image/jpeg", self.camera.jpeg())
            elif method == "GET" and path == "/state":
                await self._send(writer, 200, "application/json", json.dumps(self.camera.state()).encode())
            elif method == "POST" and path.strip("/") in self.camera.ops:
                length = int(headers.get("content-length", "0") or 0)
                body = json.loads(await reader.readexactly(length) or b"{}") if length else {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                answer = await self.control({**body, "op": path.strip("/")})
                await self._send(writer, 200, "application/json", json.dumps(answer).encode())
            else:
                await self._send(writer, 404, "text/plain", b"not found\n")
        except ValueError as exc:
            with contextlib.suppress(ConnectionError):
                await self._send(writer, 400, "application/json", json.dumps({"error": str(exc)}).encode())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, status: int, ctype: str, body: bytes) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "")
        head = f"HTTP/1.0 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            (
                "HTTP/1.0 200 OK\r\n"
                f"Content-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n"
                "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        period = 1.0 / self.fps
        loop = asyncio.get_running_loop()
        assert self._stopping is not None
        while not self._stopping.is_set():
            started = loop.time()
            jpeg = self.camera.jpeg()
            writer.write(
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                + jpeg
                + b"\r\n"
            )
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(0.0, period - (loop.time() - started)))


async def run(host: str, port: int, seed: int, fps: float) -> None:
    camera = VirtualCamera(seed)
    server = CameraServer(camera, host, port, fps)
    await server.start()
    print(json.dumps({"camera": server.url, "port": server.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hostsim.camera", description="a virtual desk camera (MJPEG over HTTP)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(args.host, args.port, args.seed, args.fps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
