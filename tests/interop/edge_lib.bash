# Shared by tests/interop/sse_*.sh and ws_*.sh (sourced, not a test itself):
# the assertions of tests/e2e/lib.bash, a redis-server from scripts/brokers,
# and the Node relays (sse_relay.js, ws_relay.js) that carry a Redis channel
# evload publishes into to their SSE or WebSocket subscribers. Each test gets
# its own channel, so relays of other tests never see its events.
source tests/e2e/lib.bash "$@"

REDIS_PORT=${EVLOAD_REDIS_PORT:-6379}
./scripts/brokers start redis || fail "redis-server could not be started (./scripts/brokers start redis)"
CH="evload-edge-$(basename "${BASH_SOURCE[1]}" .sh)-$$-$RANDOM"
TARGET="redis://127.0.0.1:$REDIS_PORT?channel=$CH"
RELAY_PIDS=()

edge_cleanup() {
  local pid
  for pid in "${RELAY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
on_exit edge_cleanup

node_check() {
  command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
  local m
  for m in ws ioredis eventsource; do
    [ -d "tests/interop/node_modules/$m" ] || fail "tests/interop/node_modules lacks $m: run npm ci in tests/interop"
  done
}

# relay_start NAME SCRIPT ARGS...: starts tests/interop/SCRIPT on a free port
# relaying $CH; sets PORT and RELAY_PID; its stats go to $TMP/NAME.stats.json
# when relay_stop NAME runs (SIGTERM), its log to $TMP/NAME.log.
relay_start() {
  local name=$1 script=$2; shift 2
  node_check
  (cd tests/interop && exec node "$script" --channel "$CH" --redis-port "$REDIS_PORT" \
     --stats "$TMP/$name.stats.json" "$@") >"$TMP/$name.log" 2>&1 &
  RELAY_PID=$!
  RELAY_PIDS+=("$RELAY_PID")
  local i
  for i in $(seq 100); do
    grep -q '^ready ' "$TMP/$name.log" 2>/dev/null && break
    kill -0 "$RELAY_PID" 2>/dev/null || fail "relay $name exited: $(cat "$TMP/$name.log")"
    sleep 0.1
  done
  PORT=$(awk '/^ready /{print $2}' "$TMP/$name.log")
  [ -n "$PORT" ] || fail "relay $name printed no port within 10 s: $(cat "$TMP/$name.log")"
}

# relay_stop PID NAME: SIGTERM, then waits for the stats file.
relay_stop() {
  local pid=$1 name=$2
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -s "$TMP/$name.stats.json" ] || fail "relay $name wrote no stats: $(cat "$TMP/$name.log")"
}

# scenario FILE RATE DURATION GROUPS [EXTRA]: a scenario for this test's
# channel: one lane at RATE for DURATION, GROUPS subscribers.
scenario() {
  local f=$1 rate=$2 dur=$3 groups=$4 extra=${5:-}
  cat >"$f" <<EOF
{ "name": "$(basename "$f" .json)", "target": "$TARGET",
  "event": { "type": "dev.evload.edge", "source": "/evload/edge", "data_size": 200 },
  "publish": { "lanes": 1, "rate": $rate, "duration": "$dur", "max_in_flight": 1000 },
  "verify": { "groups": $groups, "drain_timeout": "3s" } $extra }
EOF
}

# per_sub FILE: "name lost duplicated" per group of a results file, sorted.
per_sub() { jq -r '.deliver.groups[] | "\(.name) \(.lost) \(.duplicated)"' "$1" | sort; }

# threads_max PID SECONDS: the most threads PID had, sampled every 50 ms.
threads_max() {
  local pid=$1 n=$(( $2 * 20 )) t=0 x
  for _ in $(seq "$n"); do
    x=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${x:-0}" -gt "$t" ] && t=$x
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$t"
}
