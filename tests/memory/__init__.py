"""Tests for ``arvo_ray.memory``: one contract suite, run against every backend."""
