#!/usr/bin/env bash
# Run `arvo-ray serve` as a long-lived job on a running cluster (Ray Jobs API).
#
#   RAY_ADDRESS=http://<head>:8265 cluster/serve_job.sh                       # the example app
#   RAY_ADDRESS=http://<head>:8265 cluster/serve_job.sh mypackage.service:app --port 8000
#   ray job stop --address http://<head>:8265 <job id>                        # stops it cleanly
#
# The package travels as this repository's wheel (cluster/package.sh); your app's module
# must be importable on the cluster (in its image, or in this working directory, which is
# uploaded). The bearer token comes from ARVO_RAY_TOKEN in the job's environment. Ray Serve's
# HTTP proxy listens on the head node (0.0.0.0 here, so other hosts can reach it).
set -euo pipefail
APP="${1:-arvo_ray.examples.service:app}"
shift || true
: "${RAY_ADDRESS:?set RAY_ADDRESS to the dashboard address, e.g. http://127.0.0.1:8265}"
cd "$(dirname "$0")/.."
. cluster/package.sh
ENV_WITH_TOKEN="$("$PYTHON" -c '
import json, os, sys
env = json.loads(sys.argv[1])
if os.environ.get("ARVO_RAY_TOKEN"):
    env["env_vars"] = {"ARVO_RAY_TOKEN": os.environ["ARVO_RAY_TOKEN"]}
print(json.dumps(env))' "$RUNTIME_ENV")"
"$RAY" job submit --no-wait --address "$RAY_ADDRESS" --working-dir . \
  --runtime-env-json "$ENV_WITH_TOKEN" \
  -- python -m arvo_ray.cli serve "$APP" --host 0.0.0.0 "$@"
