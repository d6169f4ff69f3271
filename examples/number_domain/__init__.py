"""The number sample domain (contracts, handlers, orchestrators, resumables).

It ships inside the package as :mod:`arvo_ray.examples.number_domain` so the CLI demo works
after ``pip install``; this module re-exports it for scripts and notebooks in this folder.
"""

from arvo_ray.examples.number_domain import *  # noqa: F403
from arvo_ray.examples.number_domain import __all__ as __all__
