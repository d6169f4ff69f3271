"""Every public class documents itself with an example, and the examples run.

The examples are doctests: those that need a Ray cluster or a server carry
``# doctest: +SKIP`` on the lines that would start one; everything else executes here.
``ArvoRuntime``'s example is all Ray: ``tests/runtime/test_runtime_docs.py`` runs it on the
test session's cluster.
"""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

PACKAGES = [
    "arvo_ray.core",
    "arvo_ray.handler",
    "arvo_ray.broker",
    "arvo_ray.machine",
    "arvo_ray.workflow",
    "arvo_ray.memory",
    "arvo_ray.runtime",
    "arvo_ray.telemetry",
    "arvo_ray.testing",
    "arvo_ray.timers",
]


def _public_classes() -> list[tuple[str, type]]:
    found: dict[int, tuple[str, type]] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                found.setdefault(id(value), (f"{package}.{name}", value))
    return sorted(found.values(), key=lambda item: item[0])


CLASSES = _public_classes()
RUN_ON_RAY = {"arvo_ray.runtime.ArvoRuntime"}


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[name for name, _ in CLASSES])
def test_every_public_class_has_a_docstring_with_an_example(name: str, cls: type) -> None:
    doc = inspect.getdoc(cls) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert "Example" in doc and ">>>" in doc, f"{name}'s docstring has no Example section"


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[name for name, _ in CLASSES])
def test_the_examples_run(name: str, cls: type) -> None:
    # The package that exports the class: its names are the examples' globals.
    module = importlib.import_module(name.rsplit(".", 1)[0])
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = finder.find(cls, name, globs=dict(vars(module)))
    assert tests, f"{name}: no doctest found"
    for test in tests:
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{name}: {results.failed} example(s) failed (see output above)"
    if name not in RUN_ON_RAY:
        assert results.attempted > 0, f"{name}: every example is skipped"
