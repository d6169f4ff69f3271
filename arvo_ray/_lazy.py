"""Lazy exports and public ``__module__`` names for arvo_ray's packages.

A package lists which of its names live in which module; each module is imported on first
access to one of its names (as ``ray`` and ``httpx`` do), so ``import arvo_ray`` stays cheap and
never imports Ray, and optional dependencies (``redis``, the OpenTelemetry SDK) load only when
used. Classes and functions then report the public package as their ``__module__``
(``arvo_ray.runtime.ArvoRuntime``, not ``arvo_ray.runtime._runtime.ArvoRuntime``): that is what
reprs, docs and tracebacks show, and where pickles look them up.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports", "set_public_module"]


def set_public_module(module: str, values: Iterable[Any], *, owner: str | None = None) -> None:
    """Name ``module`` as the ``__module__`` of each value defined in a private module of
    ``owner`` (default: ``module`` itself, a package)."""
    prefix = f"{owner or module}._"
    for value in values:
        if getattr(value, "__module__", "").startswith(prefix):
            with contextlib.suppress(AttributeError, TypeError):  # e.g. type aliases
                value.__module__ = module


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for ``{module: names}``.

    A name is imported from its module on first access and then cached in the package, so
    later accesses are plain attribute lookups.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        set_public_module(package, [value])
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
