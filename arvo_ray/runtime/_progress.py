"""One line of progress that updates in place: in a notebook, in a terminal, or in a log.

In a Jupyter kernel the line is one display output replaced on each update (no widgets
needed, and a saved notebook keeps only the final line). Elsewhere a terminal gets tqdm's bar
on stderr; a stream that is not a terminal gets nothing until the end, then one line.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress"]


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = getattr(shell, "get_ipython", lambda: None)()
    return ipython is not None and hasattr(ipython, "kernel")


class Progress:
    """``done`` of ``total`` items, shown as one line that is rewritten (at most every
    ``interval`` seconds, and always at the end).

    Example:
        >>> progress = Progress(3, "arvo sharded", unit="wf", file=None)
        >>> progress.update(2)
        >>> progress.line()
        'arvo sharded: 2/3 wf (67%)'
        >>> progress.close()
    """

    def __init__(
        self, total: int, desc: str, *, unit: str = "it", interval: float = 0.25, file: Any = "auto"
    ) -> None:
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.done = 0
        self.started = time.monotonic()
        self._shown_at = 0.0
        self._handle: Any = None
        self._bar: Any = None
        self._file = file
        if file == "auto":
            self._file = sys.stderr
            if _in_kernel():
                from IPython.display import display

                self._handle = display(self._bundle(), raw=True, display_id=True)  # type: ignore[no-untyped-call]
            elif sys.stderr.isatty():
                from tqdm import tqdm  # type: ignore[import-untyped]

                self._bar = tqdm(total=total, desc=desc, unit=unit)

    def line(self) -> str:
        percent = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}{percent}"
        if self.done >= self.total:
            seconds = time.monotonic() - self.started
            text += f" in {seconds:.1f} s" if seconds >= 0.05 else ""
        return text

    def _bundle(self) -> dict[str, str]:
        from html import escape

        return {"text/plain": self.line(), "text/html": f"<pre>{escape(self.line())}</pre>"}

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._handle is not None:
            now = time.monotonic()
            if now - self._shown_at >= self.interval or self.done >= self.total:
                self._shown_at = now
                self._handle.update(self._bundle(), raw=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._handle is not None:
            self._handle.update(self._bundle(), raw=True)
        elif self._file is not None:
            print(self.line(), file=self._file)
