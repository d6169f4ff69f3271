"""The in-process event bus: ``SimpleEventBroker`` and ``create_simple_event_broker``."""

from arvo_ray.broker._simple import (
    BrokerError,
    BrokerRun,
    DomainedEvent,
    SimpleEventBroker,
    create_simple_event_broker,
)

__all__ = [
    "BrokerError",
    "BrokerRun",
    "DomainedEvent",
    "SimpleEventBroker",
    "create_simple_event_broker",
]
