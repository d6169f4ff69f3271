"""README.md's Python examples run as written: the contract, the handler in-process and on Ray,
the resumable and the orchestrator (both driven to their answers here)."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import ContractViolation, create_arvo_orchestrator_event_factory

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_examples_run(ray_session: None) -> None:
    """Each block runs in the namespace the earlier ones left, and gives what it says."""
    contract, handler, resumable, orchestrator = python_blocks()
    namespace: dict[str, Any] = {}
    *lines, refused = contract.rstrip().splitlines()
    exec("\n".join(lines), namespace)
    with pytest.raises(ContractViolation, match=r"data\.a"):
        exec(refused, namespace)

    # The handler block awaits at the top level, as in a notebook.
    body = textwrap.indent(handler, "    ")
    exec(f"async def _main():\n{body}\n    return locals()", namespace)
    namespace.update(asyncio.run(namespace["_main"]()))
    assert namespace["result"].final.data == {"total": 3}

    exec(resumable, namespace)
    exec(orchestrator, namespace)
    init = create_arvo_orchestrator_event_factory(namespace["double_sum"].version("1.0.0")).init(
        source="com.readme.client", data={"a": 1, "b": 2}
    )
    for workflow in (namespace["workflow"], namespace["orchestrator"]):
        broker = create_simple_event_broker([namespace["handler"], workflow])
        done = asyncio.run(broker.resolve(init))
        assert done is not None and done.data == {"total": 6}, (workflow, done)
