"""``import arvo_ray`` is cheap and never loads Ray (lazy exports, as attrs and httpx do)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import arvo_ray

PROBE = """
import json, sys, time
start = time.perf_counter()
import arvo_ray
elapsed = time.perf_counter() - start
loaded = sorted(name for name in sys.modules if name == "ray" or name.startswith(("ray.", "arvo_ray.runtime")))
print(json.dumps({"elapsed": elapsed, "loaded": loaded}))
"""


def probe(code: str = PROBE) -> Any:
    """Run ``code`` in a fresh interpreter and return the JSON it prints."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def test_import_does_not_load_ray_or_the_runtime() -> None:
    """Neither ray nor arvo_ray.runtime is imported by ``import arvo_ray``."""
    assert probe()["loaded"] == []


def test_import_loads_only_the_lazy_loader() -> None:
    """``import arvo_ray`` imports no dependency (pydantic, OpenTelemetry) and, of arvo_ray,
    only the package, its version and the lazy loader: it stays cheap however large it grows."""
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import arvo_ray\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    loaded = probe(code)
    assert [m for m in loaded if m.startswith(("pydantic", "opentelemetry"))] == []
    assert sorted(m for m in loaded if m.startswith("arvo_ray")) == [
        "arvo_ray",
        "arvo_ray._lazy",
        "arvo_ray._version",
    ]


def test_using_the_data_model_does_not_load_ray() -> None:
    """Touching every core export still leaves Ray unloaded."""
    code = (
        "import json, sys, arvo_ray, arvo_ray.core as core\n"
        "[getattr(arvo_ray, name) for name in core.__all__]\n"
        "print(json.dumps({'ray': 'ray' in sys.modules, 'runtime': 'arvo_ray.runtime' in sys.modules}))\n"
    )
    assert probe(code) == {"ray": False, "runtime": False}


def test_accessing_a_public_name_works() -> None:
    """arvo_ray.ArvoEvent is the event class."""
    from arvo_ray.core import ArvoEvent

    assert arvo_ray.ArvoEvent is ArvoEvent


def test_dir_lists_the_public_names() -> None:
    """dir(arvo_ray) includes every name of __all__, loaded or not."""
    assert set(arvo_ray.__all__) <= set(dir(arvo_ray))
    assert dir(arvo_ray) == sorted(dir(arvo_ray))


def test_star_import_gives_all() -> None:
    """``from arvo_ray import *`` binds exactly the names of __all__."""
    namespace: dict[str, object] = {}
    exec("from arvo_ray import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(arvo_ray.__all__)


def test_the_runtime_and_its_timers_need_no_redis_package() -> None:
    """redis is optional: the runtime imports, and chooses a timer store, without it."""
    code = (
        "import json, sys\n"
        "sys.modules['redis'] = None  # as if it were not installed\n"
        "from arvo_ray.memory import SimpleMachineMemory\n"
        "from arvo_ray.runtime import ArvoRuntime, Timers\n"
        "from arvo_ray.runtime._timers import resolved_timers\n"
        "try:\n"
        "    resolved_timers(True, SimpleMachineMemory())\n"
        "except ValueError as error:\n"
        "    print(json.dumps({'refused': 'Timers need a store' in str(error)}))\n"
    )
    assert probe(code) == {"refused": True}
