"""`segc overlap --format html`: one self-contained page with a heatmap, rendered in headless
Chromium (Debian's `chromium`; scripts/test installs it) and checked as a person sees it: the
DOM after rendering has a cell per pair with the right number and hover title, and the
screenshot shows the cells in the colours of their Jaccard values."""
from __future__ import annotations

import colorsys
import itertools
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from segc.engines import connect

from fixtures import runner_project as rp

WINDOW = (1000, 1100)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:  # not a skip: scripts/test installs it (apt-get install chromium)
        pytest.fail("headless Chromium is needed: apt-get install -y chromium", pytrace=False)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--hide-scrollbars", "--force-device-scale-factor=1"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The fixture project's overlap report, written by `segc overlap --format html --out`."""
    root = tmp_path_factory.mktemp("html")
    db = root / "data.duckdb"
    rp.write_project(root, {"duckdb": f"dialect: duckdb\npath: {db}\n"})
    with connect({"dialect": "duckdb", "path": str(db)}) as e:
        rp.load_data(e)
    out = root / "report" / "overlap.html"
    p = subprocess.run([sys.executable, "-m", "segc", "overlap", ".", "--format", "html", "--out", str(out),
                        "--as-of", rp.AS_OF_ISO], cwd=root, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"wrote {out}\n"
    return out


class _Cells(HTMLParser):
    """The heatmap's cells and the page's visible text, from the DOM Chromium dumps."""

    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self.text: list[str] = []
        self.resources: list[tuple] = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-a" in a:
            self._cell = {**a, "text": ""}
            self.cells.append(self._cell)
        for k in ("src", "href"):
            if k in a:
                self.resources.append((tag, a[k]))
        if tag in ("link", "script", "iframe", "img"):
            self.resources.append((tag, a))

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data.strip()
        if data.strip():
            self.text.append(data.strip())


def _jaccard(a: str, b: str) -> float:
    A, B = rp.MEMBERS[a], rp.MEMBERS[b]
    return len(A & B) / len(A | B)


def test_the_rendered_page_has_the_heatmap_cells(report, tmp_path):
    r = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile")
    assert r.returncode == 0, r.stderr
    page = _Cells()
    page.feed(r.stdout)
    assert page.resources == []  # self-contained: nothing to fetch
    assert "12 persons, 9 segments." in page.text
    names = list(dict.fromkeys(c["data-a"] for c in page.cells))
    assert sorted(names) == sorted(rp.MEMBERS)
    assert len(page.cells) == 81
    for cell, (a, b) in zip(page.cells, itertools.product(names, names)):
        A, B = rp.MEMBERS[a], rp.MEMBERS[b]
        assert (cell["data-a"], cell["data-b"]) == (a, b)
        assert cell["text"] == f"{_jaccard(a, b):.2f}"
        assert cell["data-jaccard"] == f"{_jaccard(a, b):.3f}"
        assert cell["title"] == f"{a} ∩ {b}: {len(A & B)} persons; {len(A & B) / len(A) * 100:.1f}% of {a} in {b}"
    # the sizes table, as text: name, members, share
    i = page.text.index("share")
    assert page.text[i + 1:i + 1 + 3 * 9] == [x for n in names for x in (n, str(len(rp.MEMBERS[n])), f"{len(rp.MEMBERS[n]) / 12:.2%}")]


# --- the screenshot -----------------------------------------------------------------------------


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG without interlace."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((x + p) & 255 for x, p in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
    return width, height, rows


def _cell_colour(j: float) -> tuple[int, int, int]:
    """The template's background for a Jaccard value: hsl(212, 70%, 100 - 60·j %)."""
    shade = round(j * 100)
    r, g, b = colorsys.hls_to_rgb(212 / 360, (100 - shade * 0.6) / 100, 0.7)
    return round(r * 255), round(g * 255), round(b * 255)


def test_the_screenshot_shows_the_heatmap(report, tmp_path):
    png = tmp_path / "overlap.png"
    r = chromium(f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}", report.as_uri(),
                 profile=tmp_path / "profile")
    assert r.returncode == 0 and png.exists(), r.stderr
    width, height, rows = read_png(png)
    assert (width, height) == WINDOW

    def pixels(colour) -> int:
        target = bytes(colour)
        return sum(sum(1 for x in range(0, len(row), 3) if abs(row[x] - target[0]) <= 2 and abs(row[x + 1] - target[1]) <= 2
                       and abs(row[x + 2] - target[2]) <= 2) for row in rows)

    # how many cells of each Jaccard value the matrix has (0 is the page's white: not counted)
    names = sorted(rp.MEMBERS)
    cells: dict[int, int] = {}
    for a, b in itertools.product(names, names):
        shade = round(_jaccard(a, b) * 100)
        cells[shade] = cells.get(shade, 0) + 1
    assert cells[100] == 11 and cells[83] == 4 and cells[50] == 8  # 9 diagonal + paid = paid_active; …
    dark, mid, light = pixels(_cell_colour(1.0)), pixels(_cell_colour(0.83)), pixels(_cell_colour(0.5))
    # a cell is 72 × 40 px (56 × 32 and its padding) of background, less its number
    area = 72 * 40
    for count, n in ((dark, 11), (mid, 4), (light, 8)):
        assert 0.8 * n * area < count <= n * area, (count, n)
    # the proportions between colours are the proportions between cell counts
    assert dark / mid == pytest.approx(11 / 4, rel=0.15)
    assert light / mid == pytest.approx(8 / 4, rel=0.15)
