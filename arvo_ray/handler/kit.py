"""Building blocks every handler kind shares, for workflows and authors of new handler kinds.

Not everyday API (so not in :mod:`arvo_ray.handler`'s ``__all__``), but a stable place to import
from instead of the handler's private modules: turning returned outputs into event specs,
resolving domains, and building ``sys.*.error`` events the way the original does.
"""

from arvo_ray import _lazy
from arvo_ray.handler._domain import resolve_domains
from arvo_ray.handler._output import normalize_outputs, raw_extensions
from arvo_ray.handler._system_error import create_system_error_events

__all__ = ["create_system_error_events", "normalize_outputs", "raw_extensions", "resolve_domains"]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__], owner="arvo_ray.handler")
