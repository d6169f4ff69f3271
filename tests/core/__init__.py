"""Conformance tests for ``arvo_ray.core`` (the port of arvo-core 3.x)."""
