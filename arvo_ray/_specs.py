"""``module:attribute`` names, as the command line and service configs give objects.

Shared by ``arvo-ray serve`` (an app) and ``arvo-ray replay`` (a workflow), so both read a name
the same way and say the same thing when it is wrong. Nothing here imports Ray.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["import_attribute"]


def import_attribute(spec: str, what: str) -> Any:
    """The object ``module:attribute`` names (``attribute`` may be dotted).

    Raises:
        ValueError: ``spec`` is not ``module:attribute``, or the module has no such attribute;
            the message names ``what`` was expected (e.g. "An app").
        ImportError: the module cannot be imported.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{what} is given as module:attribute, got {spec!r}")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    return target
