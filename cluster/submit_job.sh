#!/usr/bin/env bash
# Submit an arvo_ray job to a running cluster through the Ray Jobs API.
#
#   RAY_ADDRESS=http://<head>:8265 cluster/submit_job.sh            # 200 workflows
#   RAY_ADDRESS=http://<head>:8265 cluster/submit_job.sh 1000 --brokers 2
#
# The package travels as this repository's wheel (cluster/package.sh); the working directory
# is uploaded for the entrypoint, the multi-node check (two sharded hosts pinned to worker
# resources; adapt host_options in multinode_check.py to your cluster's resource names).
# Extra arguments go to the check.
set -euo pipefail
WORKFLOWS="${1:-200}"
shift || true
: "${RAY_ADDRESS:?set RAY_ADDRESS to the dashboard address, e.g. http://127.0.0.1:8265}"
cd "$(dirname "$0")/.."
. cluster/package.sh

submit() {
  "$RAY" job submit --address "$RAY_ADDRESS" --working-dir . --runtime-env-json "$RUNTIME_ENV" \
    -- python cluster/multinode_check.py --workflows "$WORKFLOWS" --address auto "$@"
}

# A cluster that just started may not have its job agent yet: it refuses the submission
# ("No available agent"), and nothing ran, so submitting again is safe.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  status=0
  submit "$@" 2>&1 | tee "$WHEELS/submit.log" || status=$?
  grep -q "No available agent" "$WHEELS/submit.log" || exit "$status"
  echo "submit_job.sh: the cluster has no job agent yet (attempt $attempt); retrying" >&2
  sleep 6
done
exit 1
