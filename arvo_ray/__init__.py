"""arvo_ray: the Arvo event-driven architecture in Python, placed onto Ray."""

from arvo_ray._version import __version__
from arvo_ray.core import *  # noqa: F403
from arvo_ray.core import __all__ as _core_all

__all__ = sorted(["__version__", *_core_all])
