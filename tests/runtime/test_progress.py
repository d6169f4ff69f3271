"""Progress: one line, in place; a stream that is not a terminal gets the final line once."""

from __future__ import annotations

import io

from arvo_ray.runtime._progress import Progress


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_log_gets_one_final_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pipe = Pipe()
    monkeypatch.setattr("sys.stderr", pipe)
    progress = Progress(4, "arvo sharded", unit="wf")
    for _ in range(4):
        progress.update(1)
    assert pipe.getvalue() == ""  # nothing while it runs
    progress.close()
    (line,) = pipe.getvalue().splitlines()
    assert line.startswith("arvo sharded: 4/4 wf (100%)")


def test_the_line_counts_and_percents() -> None:
    progress = Progress(3, "work", file=None)
    assert progress.line() == "work: 0/3 it (0%)"
    progress.update(1)
    assert progress.line() == "work: 1/3 it (33%)"
    assert Progress(0, "nothing", file=None).line().startswith("nothing: 0/0 it")
