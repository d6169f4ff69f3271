"""Building blocks the other arvo_ray layers share, for authors of new handler kinds too.

Not everyday API (so not in :mod:`arvo_ray.core`'s ``__all__``), but a stable place to import
from instead of the core's private modules: deterministic event ids, bounded quoting of user
values in messages, the checks orchestrators and resumables apply to their contracts, and JSON
text and trimming exactly as the TypeScript original's JavaScript does them.
"""

from arvo_ray import _lazy
from arvo_ray.core._ids import derived_event_id
from arvo_ray.core._js_json import js_stringify, js_trim
from arvo_ray.core._orchestration_utils import InputValidation, validate_input, validate_services
from arvo_ray.core._primitives import QUOTE_LIMIT, quote

__all__ = [
    "InputValidation",
    "QUOTE_LIMIT",
    "derived_event_id",
    "js_stringify",
    "js_trim",
    "quote",
    "validate_input",
    "validate_services",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__], owner="arvo_ray.core")
