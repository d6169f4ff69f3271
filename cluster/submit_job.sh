#!/usr/bin/env bash
# Submit an arvo_ray job to a running cluster through the Ray Jobs API.
#
#   RAY_ADDRESS=http://<head>:8265 cluster/submit_job.sh            # 200 workflows
#   RAY_ADDRESS=http://<head>:8265 cluster/submit_job.sh 1000
#
# The working directory (this repository) is uploaded; the job installs the package from it
# and runs the multi-node check (two sharded hosts pinned to worker resources; adapt
# host_options in multinode_check.py to your cluster's resource names).
set -euo pipefail
WORKFLOWS="${1:-200}"
: "${RAY_ADDRESS:?set RAY_ADDRESS to the dashboard address, e.g. http://127.0.0.1:8265}"
cd "$(dirname "$0")/.."
ray job submit \
  --address "$RAY_ADDRESS" \
  --working-dir . \
  --runtime-env-json '{"pip": ["pydantic>=2.6", "opentelemetry-sdk>=1.24", "tqdm>=4.60"], "excludes": [".git", ".ci/venv", ".venv", "node_modules"]}' \
  -- python cluster/multinode_check.py --workflows "$WORKFLOWS" --address auto
