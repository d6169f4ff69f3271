#!/usr/bin/env bash
# A multi-node Ray cluster on one machine: a head and two workers with distinct resources.
#
#   cluster/local_cluster.sh start     # prints the address to pass as RAY_ADDRESS
#   cluster/local_cluster.sh status
#   cluster/local_cluster.sh stop
#
# Environment: ARVO_CLUSTER_PORT (default 6390), ARVO_CLUSTER_DIR (default /tmp/arvo-cluster),
# RAY (the ray executable; default: the one next to this Python), ARVO_CLUSTER_DASHBOARD_PORT
# (start the dashboard and its Jobs API there, for `ray job submit`; needs ray[default]).
# Workers advertise the custom resources "worker_a" and "worker_b" (100 units each) so actors can
# be pinned to one of them, e.g. ArvoRuntime(host_options=[{"resources": {"worker_a": 1}}, ...]).
set -euo pipefail

PORT="${ARVO_CLUSTER_PORT:-6390}"
DIR="${ARVO_CLUSTER_DIR:-/tmp/arvo-cluster}"
RAY="${RAY:-ray}"
ADDRESS="127.0.0.1:${PORT}"
export RAY_USAGE_STATS_ENABLED="${RAY_USAGE_STATS_ENABLED:-0}"
# A throwaway cluster on loopback needs no token; every node (and driver) must agree on the mode.
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"

start() {
  mkdir -p "$DIR"
  local dashboard=(--include-dashboard=false)
  if [ -n "${ARVO_CLUSTER_DASHBOARD_PORT:-}" ]; then
    # The head's agent takes the jobs: its own port, since another Ray on this machine may
    # hold the default one (and then no agent would ever take a job).
    dashboard=(--include-dashboard=true --dashboard-host=127.0.0.1
      --dashboard-port="$ARVO_CLUSTER_DASHBOARD_PORT"
      --dashboard-agent-listen-port="$((ARVO_CLUSTER_DASHBOARD_PORT + 1))")
  fi
  "$RAY" start --head --node-ip-address=127.0.0.1 --port="$PORT" --num-cpus=0 \
    --resources='{"head": 100}' "${dashboard[@]}" --temp-dir="$DIR" \
    --object-store-memory=200000000 --disable-usage-stats >"$DIR/head.log" 2>&1 \
    || { echo "head failed to start, see $DIR/head.log:" >&2; tail -5 "$DIR/head.log" >&2; exit 1; }
  for worker in a b; do
    local agent=()
    if [ -n "${ARVO_CLUSTER_DASHBOARD_PORT:-}" ]; then
      agent=(--dashboard-agent-listen-port="$((ARVO_CLUSTER_DASHBOARD_PORT + $([ "$worker" = a ] && echo 2 || echo 3)))")
    fi
    "$RAY" start --address="$ADDRESS" --node-ip-address=127.0.0.1 --num-cpus=1 \
      --resources="{\"worker_${worker}\": 100}" --object-store-memory=200000000 "${agent[@]}" \
      >"$DIR/worker_${worker}.log" 2>&1 \
      || { echo "worker_${worker} failed, see $DIR/worker_${worker}.log" >&2; tail -5 "$DIR/worker_${worker}.log" >&2; stop; exit 1; }
  done
  echo "$ADDRESS"
}

stop() {
  # Only this cluster's processes (found by its folder and port): `ray stop` would also stop
  # any other Ray instance on the machine. Workers exit with their raylet.
  local pids
  pids=$(pgrep -f -- "${DIR}/session|--address=[^ ]*:${PORT}( |$)" || true)
  [ -n "$pids" ] || return 0
  kill $pids 2>/dev/null || true
  for _ in $(seq 50); do
    pids=$(pgrep -f -- "${DIR}/session|--address=[^ ]*:${PORT}( |$)" || true)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  kill -9 $pids 2>/dev/null || true
}

status() {
  "$RAY" status --address="$ADDRESS"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
