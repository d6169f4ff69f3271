"""The example notebooks as a reader sees them: exported to HTML, drawn by headless Chromium.

:func:`check_pictures` is the whole public surface; tests/test_notebooks.py calls it on each
executed notebook and tests/test_notebook_pictures.py on small notebooks built in the test.
Nothing here starts a kernel or Ray.

Why it is built this way:

- **The lab template, as nbconvert ships it.** It is nbconvert's default, so the page is the
  one ``jupyter nbconvert --to html`` gives a reader, and it marks each output with its
  ``data-mime-type``. It keeps an SVG as a base64 ``<img>``: ``skip_svg_encoding`` (and
  ``sanitize_html``) would pass inline SVG through the HTML sanitizer, which strips it. Its
  CSS is inlined; the scripts it links (RequireJS, MathJax, Mermaid) are only needed for
  widgets, LaTeX and Mermaid-only outputs, so a page showing our SVG reads the same offline.
- **Offline for real.** Chromium resolves no host name (``--host-resolver-rules``), so the
  picture is the one a reader without a CDN sees, and the check does not depend on the network
  of the machine it runs on.
- **Find the diagrams by measuring the page, not by guessing at pixels.** A script added at the
  end of the page waits for ``load`` (images decoded, layout final), then records, for every
  output area in document order, its box, its effective background colour, what it shows
  (``data-mime-type``) and how many lines its text lays out on. ``--dump-dom`` hands that back
  as JSON. The k-th output area is the k-th output of the notebook (the lab template draws
  one area per output, and the counts are checked), so a problem names its cell. The
  screenshot is then taken of the same page in a viewport as tall as the page, and each
  diagram's box is cropped from it. A tiny page per output would also work, but it would
  test a page no reader sees and cost a browser start per diagram; this costs two per notebook.
- **Both runs measure, and must agree.** The screenshot run dumps its DOM too; if the boxes
  it measured differ from the first run's (a layout that depends on the viewport height), the
  check says so instead of cropping the wrong place.
- **Lines, from the layout.** A progress output is one line when its text forms one line box,
  so it is counted from ``Range.getClientRects()`` (text that wraps counts as several lines,
  as a reader sees it), not from newlines in the notebook JSON.

Pixels are read with Pillow, which matplotlib (in the ``test`` extra) already requires.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from PIL import Image, ImageChops

__all__ = ["check_pictures", "find_chromium"]

WIDTH = 1280
"""CSS pixels: a laptop's JupyterLab; the scale factor is forced to 1, so one pixel each."""
MEASURE_HEIGHT = 800
"""Viewport height of the measuring run (the page height is what it measures)."""
MAX_HEIGHT = 60_000
"""A page taller than this is a runaway output, not a notebook to screenshot."""
BROWSER_TIMEOUT = 120
"""Seconds one Chromium run may take; it normally takes one or two."""
INK_THRESHOLD = 48
"""A pixel is ink when a channel differs from the background by more than this (0-255):
anti-aliased fringes alone do not make a picture."""
MIN_INK_PIXELS = 200
"""A diagram shows at least this many ink pixels (the smallest state diagram has thousands)."""
DIAGRAM_TYPES = ("image/svg+xml", "text/vnd.mermaid")
"""An output carrying either is a state diagram (machines display as both, plus text/plain)."""
STDERR_TYPE = "application/vnd.jupyter.stderr"
PROGRESS_LINE = re.compile(r"^.+: \d+/\d+ \S+( \(\d+%\))?( in \d+(\.\d+)? s)?$", re.MULTILINE)
"""The line ``arvo_ray.runtime``'s ``Progress.line()`` shows: ``desc: done/total unit (pct%)``,
plus `` in 2.1 s`` once finished."""

_MEASURE = """
<script>
addEventListener("load", () => {
  const transparent = (colour) => colour === "transparent" || /^rgba\\(.*, 0\\)$/.test(colour);
  function background(element) {
    for (let node = element; node; node = node.parentElement) {
      const colour = getComputedStyle(node).backgroundColor;
      if (!transparent(colour)) return colour;
    }
    return "rgb(255, 255, 255)";
  }
  function lines(element) {
    const boxes = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) {
        if (r.width > 0 && r.height > 0) boxes.push([r.top, r.bottom]);
      }
    }
    boxes.sort((a, b) => a[0] - b[0]);
    let count = 0;
    let bottom = -Infinity;
    for (const [top, end] of boxes) {
      // Boxes that overlap vertically sit on one line (spans of another font shift a pixel).
      if (top >= bottom - 1) { count += 1; bottom = end; } else { bottom = Math.max(bottom, end); }
    }
    return count;
  }
  const areas = document.querySelectorAll(".jp-Cell-outputArea > .jp-OutputArea-child");
  const outputs = [...areas].map((area) => {
    const shown = area.querySelector(":scope > :not(.jp-OutputArea-prompt)") || area;
    const r = shown.getBoundingClientRect();
    const mime = shown.dataset.mimeType
      || (shown.classList.contains("jp-Mermaid") ? "text/vnd.mermaid" : "")
      || (shown.classList.contains("jp-RenderedImage") ? "image" : "");
    return {
      box: [r.left + scrollX, r.top + scrollY, r.width, r.height],
      background: background(shown),
      mime: mime,
      lines: lines(shown),
    };
  });
  const root = document.documentElement;
  const result = document.createElement("script");
  result.type = "application/json";
  result.id = "arvo-pictures";
  result.textContent = JSON.stringify({
    width: root.scrollWidth, height: root.scrollHeight, outputs: outputs,
  });
  document.body.appendChild(result);
});
</script>
"""
_RESULT = re.compile(r'<script type="application/json" id="arvo-pictures">(.*?)</script>', re.S)


@dataclass(frozen=True)
class _Output:
    """One notebook output, where it sits in the notebook and what it should look like."""

    cell: int
    index: int
    node: Any

    @property
    def where(self) -> str:
        return f"cell {self.cell}, output {self.index}"

    @property
    def is_diagram(self) -> bool:
        return any(mime in self.node.get("data", {}) for mime in DIAGRAM_TYPES)

    @property
    def is_progress(self) -> bool:
        if self.node.get("output_type") not in ("display_data", "execute_result"):
            return False
        plain = self.node.get("data", {}).get("text/plain", "")
        return PROGRESS_LINE.search(plain if isinstance(plain, str) else "".join(plain)) is not None

    def first_line(self) -> str:
        text = self.node.get("text") or "".join(self.node.get("traceback", [])) or ""
        if not text:
            text = self.node.get("data", {}).get("text/plain", "")
        line = next((line for line in str(text).splitlines() if line.strip()), "")
        return line if len(line) <= 100 else line[:97] + "..."


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian calls it ``chromium``, others ``chromium-browser``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_pictures(nb: nbformat.NotebookNode, workdir: Path, *, name: str = "notebook") -> Path:
    """Export ``nb`` to HTML, screenshot it in headless Chromium, and check what a reader sees.

    Checks that every state-diagram output (one carrying ``image/svg+xml`` or
    ``text/vnd.mermaid``) shows its SVG with ink on it, that no output area is styled as
    stderr (a ``stderr`` stream or an error traceback), and that every progress output
    (a display whose text is a :data:`PROGRESS_LINE`) lays out as exactly one line.

    Args:
        nb: An executed notebook (its outputs are what is checked).
        workdir: A folder for the page, the screenshot and Chromium's profile.
        name: The page's title and the stem of its files.

    Returns:
        The full-page screenshot, ``workdir / f"{name}.png"``.

    Raises:
        AssertionError: Listing every problem found, each naming its cell and output.
        RuntimeError: Chromium is missing, fails, or the page cannot be measured.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = [
        _Output(cell=c, index=i, node=output)
        for c, cell in enumerate(nb.cells)
        for i, output in enumerate(cell.get("outputs", []))
    ]
    page = workdir / f"{name}.html"
    page.write_text(_export(nb, name), encoding="utf-8")
    shot = workdir / f"{name}.png"

    measured = _measure(page, workdir, height=MEASURE_HEIGHT)
    height = int(measured["height"])
    if not 0 < height <= MAX_HEIGHT:
        raise RuntimeError(f"{page}: the page is {height} px tall; expected 1 to {MAX_HEIGHT}")
    shown = _measure(page, workdir, height=height, screenshot=shot)
    if shown["outputs"] != measured["outputs"]:
        raise RuntimeError(
            f"{page}: output boxes moved between a {MEASURE_HEIGHT} px and a {height} px tall "
            "viewport, so crops of the screenshot would miss them; does the page use vh units?"
        )
    areas: list[dict[str, Any]] = shown["outputs"]
    if len(areas) != len(outputs):
        raise RuntimeError(
            f"{page}: the HTML has {len(areas)} output areas for {len(outputs)} notebook outputs, "
            "so they cannot be matched; did the exporter drop or merge outputs?"
        )
    with Image.open(shot) as image:
        picture = image.convert("RGB")
    problems = [
        problem
        for output, area in zip(outputs, areas, strict=True)
        for problem in _problems(output, area, picture)
    ]
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise AssertionError(
            f"{name}: {len(problems)} problem(s) a reader of the HTML export would see "
            f"(page {page}, screenshot {shot}):\n{listed}"
        )
    return shot


def _export(nb: nbformat.NotebookNode, name: str) -> str:
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    head, tail = body.rsplit("</body>", 1)
    return head + _MEASURE + "</body>" + tail


def _measure(
    page: Path, workdir: Path, *, height: int, screenshot: Path | None = None
) -> dict[str, Any]:
    """One Chromium run: the page's measurements, and its screenshot when asked for."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(
            "Chromium is not on PATH (tried 'chromium' and 'chromium-browser'); install it, "
            "e.g. apt-get install chromium"
        )
    command = [
        chromium,
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={workdir / 'chromium-profile'}",
        f"--window-size={WIDTH},{height}",
        "--dump-dom",
    ]
    if screenshot is not None:
        screenshot.unlink(missing_ok=True)
        command.append(f"--screenshot={screenshot}")
    command.append(page.resolve().as_uri())
    try:
        run = subprocess.run(
            command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"Chromium took over {BROWSER_TIMEOUT} s on {page}") from error
    found = _RESULT.search(run.stdout)
    if run.returncode != 0 or found is None or (screenshot and not screenshot.is_file()):
        # Chromium's stderr is mostly D-Bus noise; its tail says what went wrong.
        tail = "\n".join(run.stderr.strip().splitlines()[-10:])
        raise RuntimeError(
            f"Chromium (exit {run.returncode}) did not measure{' and screenshot' * bool(screenshot)}"
            f" {page}:\n{tail}"
        )
    result: dict[str, Any] = json.loads(found.group(1))
    return result


def _problems(output: _Output, area: dict[str, Any], picture: Image.Image) -> list[str]:
    problems: list[str] = []
    mime = area["mime"]
    if mime == STDERR_TYPE:
        kind = "an error traceback" if output.node.get("output_type") == "error" else "stderr"
        problems.append(f"{output.where}: shows {kind}: {output.first_line()!r}")
    if output.is_diagram:
        if mime != "image/svg+xml":
            offline = " (drawn by mermaid.js from a CDN, so blank offline)" * (
                mime == "text/vnd.mermaid"
            )
            problems.append(
                f"{output.where}: the state diagram shows {mime or 'nothing'}{offline}, not its "
                "image/svg+xml; give the output an SVG and nothing ranked above it (text/html, "
                "text/markdown)"
            )
        else:
            ink, total = _ink(picture, area)
            if ink < MIN_INK_PIXELS:
                problems.append(
                    f"{output.where}: the state diagram is blank: {ink} of {total} pixels differ "
                    f"from the background {area['background']} (at least {MIN_INK_PIXELS} must); "
                    "is its SVG empty or drawn in the background colour?"
                )
    if output.is_progress:
        if area["lines"] != 1:
            problems.append(
                f"{output.where}: the progress output lays out as {area['lines']} lines, not one "
                f"(starting {output.first_line()!r}); update one display in place instead of "
                "printing each step"
            )
        elif _ink(picture, area)[0] == 0:
            problems.append(f"{output.where}: the progress line is invisible")
    return problems


def _ink(picture: Image.Image, area: dict[str, Any]) -> tuple[int, int]:
    """Pixels of ``area``'s box, on the screenshot, that differ from its background: (ink, all)."""
    x, y, width, height = area["box"]
    # Shrink to whole pixels inside the box, so a neighbour's edge never counts.
    left, top = max(0, _ceil(x)), max(0, _ceil(y))
    right, bottom = min(picture.width, int(x + width)), min(picture.height, int(y + height))
    if right <= left or bottom <= top:
        return 0, 0
    region = picture.crop((left, top, right, bottom))
    plain = Image.new("RGB", region.size, _rgb(area["background"]))
    red, green, blue = ImageChops.difference(region, plain).split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    counts = strongest.histogram()
    return sum(counts[INK_THRESHOLD + 1 :]), region.width * region.height


def _ceil(value: float) -> int:
    return -int(-value // 1)


def _rgb(colour: str) -> tuple[int, int, int]:
    """``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` as CSS computes it, without the alpha."""
    numbers = re.findall(r"[\d.]+", colour)
    if len(numbers) < 3:
        raise RuntimeError(f"cannot read the background colour {colour!r}")
    red, green, blue = (round(float(number)) for number in numbers[:3])
    return red, green, blue
