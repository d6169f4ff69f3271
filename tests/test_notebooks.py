"""The example notebooks run top to bottom, read well offline, and are committed stripped.

Each executed notebook is also exported to HTML and drawn in headless Chromium
(:mod:`notebook_pictures`): diagrams have ink, no output is stderr, progress is one line.

Each notebook runs in its own kernel process started from *this* interpreter
(``sys.executable -m ipykernel_launcher``, through a kernelspec written to a temporary folder),
so it sees the same installed arvo_ray whatever kernelspecs the machine has. Every notebook
starts and stops its own local Ray (``address="local"``), so a Ray session this test process
may already hold (tests/runtime) does not matter.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_pictures import check_pictures, find_chromium
from redis_server import require_or_skip

NOTEBOOKS = Path(__file__).resolve().parent.parent / "examples" / "notebooks"
NAMES = ["01_quickstart", "02_orchestration", "03_resumable_and_failures"]
KERNEL = "arvo-ray-tests"
CELL_TIMEOUT = 600
"""Seconds per cell: generous, since a 2-core CI machine starts Ray in 5-20 s."""
RAY_START_TIMEOUT = "The current node timed out during startup"
"""Ray's error when its raylet misses the fixed 30 s it gets to register (an overloaded machine)."""

# What each notebook must display besides plain text: the rich views it demonstrates.
EXPECTED_OUTPUT: dict[str, list[str]] = {
    "01_quickstart": [
        "ArvoEvent com.calc.add</caption>",
        "RunResult (ok)</caption>",
        "trace (2 events)</caption>",
        "runtime stats</caption>",
    ],
    "02_orchestration": [
        "text/vnd.mermaid\nstateDiagram-v2",
        "image/svg+xml",
        "trace (11 events)</caption>",
        "workflow record</caption>",
        "runtime stats</caption>",
        "image/png",
    ],
    "03_resumable_and_failures": [
        "ArvoEvent arvo.orc.inc.done</caption>",
        "ArvoEvent arvo.orc.number.approval.done</caption>",
        "<code>sys.com.value.read.error</code>",
        "workflow record</caption>",
        "RunResult (1 error(s))</caption>",
        "DeadLetter</caption>",
    ],
}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def current_kernel(folder: Path) -> KernelManager:
    """A kernel manager whose only kernelspec runs ipykernel on ``sys.executable``."""
    spec_dir = folder / "kernels" / KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "arvo_ray tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def kernel_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The notebooks start their own cluster; never point them at this process's one.
    env.pop("RAY_ADDRESS", None)
    env.pop("MPLBACKEND", None)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["RAY_AUTH_MODE"] = "disabled"
    env["ARVO_RAY_HOME"] = str(folder / "arvo-home")
    env["IPYTHONDIR"] = str(folder / "ipython")
    return env


def displayed(nb: nbformat.NotebookNode) -> str:
    """Every output's MIME types and contents, as one searchable text."""
    parts: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for mime, content in output.get("data", {}).items():
                parts.append(mime)
                parts.append(content if isinstance(content, str) else json.dumps(content))
    return "\n".join(parts)


def execute(name: str, folder: Path) -> nbformat.NotebookNode:
    nb = read(name)
    # A last cell reporting which interpreter ran the notebook.
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    kernel = current_kernel(folder)
    client = NotebookClient(
        nb,
        km=kernel,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        allow_errors=False,
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        # Raises CellExecutionError, naming the cell and its traceback, on the first error.
        client.execute(env=kernel_env(folder))
    finally:
        # nbclient leaves a kernel it was handed running: stop it (and so its Ray) here.
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=False)
    return nb


def execute_once_more_if_ray_did_not_start(name: str, folder: Path) -> nbformat.NotebookNode:
    """:func:`execute`, run a second time (fresh kernel, fresh Ray) only if Ray failed to start."""
    try:
        return execute(name, folder / "first")
    except CellExecutionError as error:
        if RAY_START_TIMEOUT not in str(error):
            raise
        return execute(name, folder / "second")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    """Every cell runs without error in a kernel of this interpreter, showing the rich views."""
    nb = execute_once_more_if_ray_did_not_start(name, tmp_path)
    errors = [
        output
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    # A quiet start: no warning or log line anywhere (nothing is wrong).
    stderr = [
        output.get("text", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert stderr == []
    # Progress is one line, updated in place: the saved notebook keeps the final one.
    progress = [
        output["data"]["text/plain"]
        for cell in nb.cells
        if "run_many(" in cell.source
        for output in cell.get("outputs", [])
        if "wf (" in output.get("data", {}).get("text/plain", "")
    ]
    assert all(len(line.splitlines()) == 1 and "(100%)" in line for line in progress), progress
    if name == "02_orchestration":
        assert len(progress) == 1
    assert nb.cells[-1].outputs[-1]["text"].strip() == sys.executable
    text = displayed(nb)
    missing = [expected for expected in EXPECTED_OUTPUT[name] if expected not in text]
    assert missing == []
    # As a reader sees it offline: exported to HTML and drawn by headless Chromium.
    if find_chromium() is None:
        require_or_skip("Chromium is not on PATH (apt-get install chromium): no pictures")
    check_pictures(nb, tmp_path / "pictures", name=name)


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_notebook_has_no_outputs(name: str) -> None:
    """Notebooks are committed stripped: no outputs, no execution counts, valid nbformat."""
    nb = read(name)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert [cell.outputs for cell in code] == [[] for _ in code]
    assert [cell.execution_count for cell in code] == [None for _ in code]


def test_every_notebook_in_the_folder_is_tested() -> None:
    """A new notebook must be added to NAMES (and so executed here)."""
    assert sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb")) == NAMES


def test_the_quickstart_runs_in_process_and_on_ray_with_the_same_code() -> None:
    """Notebook 01 switches from the in-process broker to Ray by the one line that makes the
    bus: the cells that run an event are the same, and return the same RunResult."""
    cells = [cell.source for cell in read("01_quickstart").cells if cell.cell_type == "code"]
    makers = [source for source in cells if "bus = " in source]
    assert [maker.splitlines()[-1] for maker in makers] == [
        "bus = create_simple_event_broker([handler])",
        'bus = ArvoRuntime(handlers=[handler], sqlite_path=workdir / "memory.sqlite3")',
    ]
    first, second = (cells.index(maker) for maker in makers)
    assert cells[first + 1] == cells[second + 1]
    assert "bus.run_async(event, trace=True)" in cells[first + 1]


def test_each_notebook_explains_itself_and_cleans_up() -> None:
    """Each notebook opens with a markdown title and ends by shutting Ray down."""
    for name in NAMES:
        cells: Any = read(name).cells
        assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
        assert "ray.shutdown()" in cells[-1].source
        assert cells[-1].source.count(".shutdown()") == 2  # the runtime's, then Ray's
