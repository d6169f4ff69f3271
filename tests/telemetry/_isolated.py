"""Run a snippet in a fresh interpreter and get back the JSON it emits.

``install_telemetry`` sets process-global OpenTelemetry providers, so every test that calls it
runs its code here. The snippet calls ``emit(value)`` once with a JSON-able result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

_PRELUDE = """
import json as _json, sys as _sys
def emit(value):
    _sys.stdout.write("\\n@@RESULT@@" + _json.dumps(value, default=str) + "\\n")
    _sys.stdout.flush()
"""


@dataclass
class Isolated:
    """What the snippet emitted, and everything it printed."""

    result: Any
    stdout: str
    stderr: str


def run_isolated(code: str, *, timeout: float = 60) -> Isolated:
    """Run ``code`` in a new interpreter; fail with its stderr if it exits non-zero."""
    completed = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    marker = completed.stdout.rfind("@@RESULT@@")
    assert marker >= 0, f"the snippet emitted nothing; stdout: {completed.stdout[-2000:]}"
    payload = completed.stdout[marker + len("@@RESULT@@") :].splitlines()[0]
    return Isolated(
        result=json.loads(payload), stdout=completed.stdout[:marker], stderr=completed.stderr
    )
