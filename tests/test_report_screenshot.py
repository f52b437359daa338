"""The demo's report opens in a real browser and its charts render: a headless Chromium screenshot.

Needs Chromium (Debian: ``apt-get install -y chromium``; or set ``DASHAI_CHROMIUM`` to a
Chrome/Chromium binary). Without one the test is skipped, unless ``DASHAI_REQUIRE_BROWSER=1``
(CI), which makes the missing browser a failure.

The PNG is decoded here in pure Python (zlib and the five PNG row filters; PIL is not a
dependency), and the check is not just "not blank": the page must show many pixels in the
colours of the metric curves (TRAIN #636efa, VALIDATION #EF553B), which only Plotly draws
(no CSS on the page uses them). A copy of the report whose ``Plotly.newPlot`` calls are
disabled must fail that same check, so the check cannot pass on text and tables alone.
Chromium runs behind a proxy that refuses every connection: the report needs no network.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).parent / "dashai-store")
WIDTH, HEIGHT = 1280, 2000
TRAIN_BLUE = (0x63, 0x6E, 0xFA)
VALIDATION_RED = (0xEF, 0x55, 0x3B)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser() -> str | None:
    explicit = os.environ.get("DASHAI_CHROMIUM")
    if explicit:
        return explicit
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    found = find_browser()
    if found is None:
        message = "no Chromium found (apt-get install -y chromium, or set DASHAI_CHROMIUM)"
        if os.environ.get("DASHAI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DASHAI_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh demo's report.html (SQLite; the page does not depend on the backend)."""
    work = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k != "DASHAI_HOME"}
    result = subprocess.run(
        [SCRIPT, "demo", "--home", str(work / "home"), "--quiet"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return work / "home" / "report.html"


def screenshot(browser: str, page: Path, out: Path, profile: Path) -> bytes:
    """Chromium's headless screenshot of ``page``; returns the PNG bytes."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # Every connection attempt goes to a port nothing listens on: no network.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=10000",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
    assert out.is_file(), f"chromium wrote no screenshot: {result.stderr[-2000:]}"
    return out.read_bytes()


# -- a pure-Python PNG decoder ---------------------------------------------------------------------


def _add_rows(a: bytes, b: bytes) -> bytes:
    """Byte-wise (a + b) mod 256 of two rows at once (SWAR on Python ints: no carry between bytes)."""
    n = len(a)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    low, high = int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:  # Up
        return _add_rows(line, prev)
    out = bytearray(line)
    if kind == 1:  # Sub: a running sum per channel
        for c in range(bpp):
            out[c::bpp] = bytes(accumulate(line[c::bpp], lambda s, v: (s + v) & 255))
    elif kind == 3:  # Average
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:  # Paeth
        for i in range(len(out)):
            a, c = (out[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
            b = prev[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
    return bytes(out)


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, pixels as RGB tuples, row-major) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, tag = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif tag == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    pixels: list[tuple[int, int, int]] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prev, bpp)
        pixels.extend(zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=True))
        prev = row
    return width, height, pixels


def _encode_filtered(rows: list[bytes], bpp: int, kinds: list[int]) -> bytes:
    """A PNG whose rows use the given filter types (to test the decoder on all five)."""

    def predictor(kind: int, a: int, b: int, c: int) -> int:
        if kind == 1:
            return a
        if kind == 2:
            return b
        if kind == 3:
            return (a + b) >> 1
        if kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            return a if pa <= pb and pa <= pc else b if pb <= pc else c
        return 0

    raw = bytearray()
    prev = bytes(len(rows[0]))
    for row, kind in zip(rows, kinds, strict=True):
        raw.append(kind)
        for i, value in enumerate(row):
            a, c = (row[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
            raw.append((value - predictor(kind, a, prev[i], c)) & 255)
        prev = row

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", len(rows[0]) // bpp, len(rows), 8, 6 if bpp == 4 else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


# -- judging a screenshot ------------------------------------------------------------------------------


def near(colour: tuple[int, int, int], tolerance: int = 16) -> Callable[[tuple[int, int, int]], bool]:
    return lambda px: all(abs(p - q) <= tolerance for p, q in zip(px, colour, strict=True))


def judge(png: bytes) -> dict[str, int]:
    width, height, pixels = decode_png(png)
    assert (width, height) == (WIDTH, HEIGHT)
    colours = Counter(pixels)
    is_blue, is_red = near(TRAIN_BLUE), near(VALIDATION_RED)
    return {
        "distinct": len(colours),
        "non_white": sum(n for c, n in colours.items() if min(c) < 235),
        "train_blue": sum(n for c, n in colours.items() if is_blue(c)),
        "validation_red": sum(n for c, n in colours.items() if is_red(c)),
    }


# -- tests -------------------------------------------------------------------------------------------------


def test_the_decoder_reads_every_filter_type() -> None:
    import random

    rng = random.Random(5)
    for bpp in (3, 4):
        rows = [bytes(rng.randrange(256) for _ in range(7 * bpp)) for _ in range(10)]
        kinds = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]
        width, height, pixels = decode_png(_encode_filtered(rows, bpp, kinds))
        assert (width, height) == (7, 10)
        expected = [tuple(row[i : i + 3]) for row in rows for i in range(0, len(row), bpp)]
        assert pixels == expected


def test_the_demo_png_payload_decodes() -> None:
    from dashai_store.demo import png_bytes

    width, height, pixels = decode_png(png_bytes(4, 3, lambda x, y: (x * 60, y * 100, 9)))
    assert (width, height) == (4, 3)
    assert pixels == [(x * 60, y * 100, 9) for y in range(3) for x in range(4)]


def test_the_report_renders_its_charts_in_chromium(browser: str, report: Path, tmp_path: Path) -> None:
    png = screenshot(browser, report, tmp_path / "report.png", tmp_path / "profile")
    shot = judge(png)
    # A real page: text, tables, and charts; the metric curves drawn in their split colours.
    assert shot["distinct"] > 500, shot
    assert shot["non_white"] > WIDTH * HEIGHT // 50, shot
    assert shot["train_blue"] > 1500, shot
    assert shot["validation_red"] > 1500, shot

    # The same page with Plotly's drawing disabled keeps its text and tables but loses the
    # charts' colours: the check above is about charts, not about text.
    inert = tmp_path / "inert.html"
    inert.write_text(report.read_text(encoding="utf-8").replace("Plotly.newPlot(", "(function(){})("))
    control = judge(screenshot(browser, inert, tmp_path / "inert.png", tmp_path / "profile-inert"))
    assert control["non_white"] > 0, control
    assert control["train_blue"] < 100 and control["validation_red"] < 100, control
