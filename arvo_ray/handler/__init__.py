"""Handlers: the ``IArvoEventHandler`` protocol, ``ArvoEventHandler`` and domain routing."""

from arvo_ray import _lazy
from arvo_ray.handler._domain import ArvoDomain, DomainSpec, resolve_event_domain
from arvo_ray.handler._handler import (
    ArvoEventHandler,
    HandlerFunction,
    HandlerInput,
    create_arvo_event_handler,
)
from arvo_ray.handler._output import RawEvent
from arvo_ray.handler._protocol import ExecutionResult, IArvoEventHandler, OtelInherit
from arvo_ray.handler._retry import HandlerTimeoutError, RetryPolicy

__all__ = [
    "ArvoDomain",
    "ArvoEventHandler",
    "DomainSpec",
    "ExecutionResult",
    "HandlerFunction",
    "HandlerInput",
    "HandlerTimeoutError",
    "IArvoEventHandler",
    "OtelInherit",
    "RawEvent",
    "RetryPolicy",
    "create_arvo_event_handler",
    "resolve_event_domain",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
