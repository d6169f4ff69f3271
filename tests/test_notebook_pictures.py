"""``check_pictures`` on small notebooks built here, with outputs made by hand (no kernel, no Ray).

A notebook holding a state diagram, one progress line and some stdout passes; each problem a
reader would see in the HTML export (a blank diagram, a Mermaid-only diagram, stderr, a progress
output of several lines) fails, naming its cell and output.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_pictures import check_pictures, find_chromium
from PIL import Image
from redis_server import require_or_skip

from arvo_ray.examples.number_domain import number_modifier_machine

PROGRESS = "arvo sharded: 150/150 wf (100%) in 2.1 s"
EMPTY_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="200"></svg>'


@pytest.fixture(autouse=True)
def chromium() -> None:
    """Outside CI a missing Chromium skips these tests; in CI it fails them."""
    if find_chromium() is None:
        require_or_skip(
            "Chromium is not on PATH, so the notebook pictures cannot be checked; "
            "install it (e.g. apt-get install chromium)"
        )


def diagram() -> nbformat.NotebookNode:
    bundle = number_modifier_machine("0.0.1")._repr_mimebundle_()
    return new_output("execute_result", data=bundle, execution_count=1)


def progress(text: str = PROGRESS) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/plain": text, "text/html": f"<pre>{text}</pre>"})


def stdout() -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text="150 workflows in 2.1 s: 70.1 workflows/s\n")


def notebook(*outputs: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A title, then one code cell per output (so output ``k`` sits in cell ``k + 1``)."""
    cells = [new_markdown_cell("# Pictures")]
    cells += [new_code_cell("show()", outputs=[output]) for output in outputs]
    nb = new_notebook(cells=cells)
    nbformat.validate(nb)
    return nb


def test_a_diagram_a_progress_line_and_stdout_pass(tmp_path: Path) -> None:
    """A notebook a reader sees cleanly passes, and leaves a full-page screenshot."""
    shot = check_pictures(notebook(diagram(), progress(), stdout()), tmp_path, name="clean")
    assert shot == tmp_path / "clean.png"
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.width == 1280


def test_an_empty_svg_diagram_fails_as_blank(tmp_path: Path) -> None:
    """A diagram whose SVG draws nothing is reported blank, with the pixel count."""
    empty = diagram()
    empty.data["image/svg+xml"] = EMPTY_SVG
    with pytest.raises(AssertionError, match=r"cell 1, output 0: the state diagram is blank: 0 of"):
        check_pictures(notebook(empty, progress()), tmp_path)


def test_a_mermaid_only_diagram_fails_offline(tmp_path: Path) -> None:
    """Without its SVG a diagram needs mermaid.js from a CDN, which an offline reader lacks."""
    mermaid = diagram()
    del mermaid.data["image/svg+xml"]
    with pytest.raises(
        AssertionError, match=r"cell 1, output 0: .* shows text/vnd.mermaid \(drawn"
    ):
        check_pictures(notebook(mermaid), tmp_path)


def test_a_stderr_stream_fails(tmp_path: Path) -> None:
    """Any stderr stream is reported with its first line."""
    warning = new_output("stream", name="stderr", text="\nUserWarning: something is off\n")
    with pytest.raises(
        AssertionError, match=r"1 problem\(s\).*\n  - cell 3, output 0: shows stderr: 'UserWarning"
    ):
        check_pictures(notebook(diagram(), stdout(), warning), tmp_path)


def test_a_progress_output_of_several_lines_fails(tmp_path: Path) -> None:
    """Progress printed step by step (one line per update) is reported with its line count."""
    steps = "\n".join(f"arvo sharded: {done}/150 wf ({done * 100 // 150}%)" for done in (50, 100))
    several = progress(steps + "\n" + PROGRESS)
    with pytest.raises(
        AssertionError, match=r"cell 2, output 0: the progress output lays out as 3 lines, not one"
    ):
        check_pictures(notebook(diagram(), several), tmp_path)
