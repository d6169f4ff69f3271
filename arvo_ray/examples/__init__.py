"""Runnable sample domains used by the demo, the notebooks, the benchmarks and the tests."""
