"""``arvo_ray.machine`` stays pure Python (its ``__all__`` is pinned in ``tests/test_exports.py``)."""

from __future__ import annotations

import subprocess
import sys


def test_should_not_import_ray() -> None:
    """The interpreter is pure Python: importing it does not load Ray."""
    code = "import sys, arvo_ray.machine; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
