"""An app for ``arvo-ray serve``: the number domain, its values in a SQLite file.

    arvo-ray serve arvo_ray.examples.service:app --port 8000

``ARVO_RAY_EXAMPLE_VALUES`` names the values file (default: in the temporary folder), so every
Ray worker process reads and writes the same numbers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from arvo_ray.examples.number_domain import SQLiteKeyValueStore, build_number_domain
from arvo_ray.runtime import ServiceApp

__all__ = ["app"]


def app() -> ServiceApp:
    """The number domain's handlers and orchestrators."""
    path = os.environ.get("ARVO_RAY_EXAMPLE_VALUES") or str(
        Path(tempfile.gettempdir()) / "arvo-ray-example-values.sqlite3"
    )
    domain = build_number_domain(store=SQLiteKeyValueStore(path))
    return ServiceApp(handlers=domain.handlers, workflows=domain.workflows)
