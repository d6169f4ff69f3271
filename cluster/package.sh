# Sourced by the job scripts: this repository's package, as its wheel builds it, unpacked for
# the runtime env's `py_modules` (a wheel given there would be pip-installed with its
# dependencies, Ray included, fetched from the network). Sets PACKAGE and RUNTIME_ENV; the
# package's dependencies (ray, pydantic, opentelemetry, tqdm) come from the cluster's image.
PYTHON="${PYTHON:-python}"
RAY="${RAY:-ray}"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
isolation=()
"$PYTHON" -c "import setuptools, wheel" 2>/dev/null && isolation=(--no-build-isolation)
"$PYTHON" -m pip wheel . --no-deps --quiet "${isolation[@]}" -w "$WHEELS"
"$PYTHON" -m zipfile -e "$(ls "$WHEELS"/arvo_ray-*.whl)" "$WHEELS/unpacked"
PACKAGE="$WHEELS/unpacked/arvo_ray"
RUNTIME_ENV="{\"py_modules\": [\"$PACKAGE\"], \"excludes\": [\".git\", \".ci\", \".venv\", \"node_modules\", \"*.sqlite3\"]}"
