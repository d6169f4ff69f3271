"""``ArvoRuntime``'s docstring example, run for real on the test session's cluster."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import arvo_ray.runtime._runtime as runtime_module
from arvo_ray.runtime import ArvoRuntime


def test_the_arvo_runtime_example_runs_on_ray(
    ray_session: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARVO_RAY_HOME", str(tmp_path))
    docstring = (ArvoRuntime.__doc__ or "").replace("# doctest: +SKIP", "")
    test = doctest.DocTestParser().get_doctest(
        docstring, dict(vars(runtime_module)), "ArvoRuntime", runtime_module.__file__, 0
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted >= 5
    assert results.failed == 0
