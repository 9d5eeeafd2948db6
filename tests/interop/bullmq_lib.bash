# Shared by tests/integration/bullmq*.sh and tests/interop/bullmq*.sh (sourced,
# not a test itself): the assertions of tests/e2e/lib.bash plus Redis and
# BullMQ helpers. Each test gets a fresh queue name and deletes its keys on exit.
source tests/e2e/lib.bash "$@"

REDIS_PORT=${EVLOAD_REDIS_PORT:-6379}
./scripts/brokers start redis || fail "redis-server could not be started (./scripts/brokers start redis)"
rq() { timeout 20 redis-cli -p "$REDIS_PORT" "$@"; }

# A unique queue per test: tests never share keys.
Q="evt-$(basename "${BASH_SOURCE[1]}" .sh)-$$-$RANDOM"
TARGET="bullmq://127.0.0.1:$REDIS_PORT?queue=$Q"
BG_PIDS=()

bq_cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Delete every key of this test's queue (bounded SCAN through a script).
  rq EVAL "local n=0 for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n=n+1 end return n" \
     0 "bull:$Q:*" >/dev/null 2>&1 || true
}
on_exit bq_cleanup

# scenario FILE JSON-FRAGMENTS: writes a scenario with the test's target; the
# fragments are the publish and verify objects and any extra top-level keys.
scenario() {
  local f=$1 publish=$2 verify=$3 extra=${4:-}
  cat >"$f" <<EOF
{ "name": "$(basename "$f" .json)", "target": "$TARGET",
  "event": { "type": "dev.evload.bullmq", "source": "/evload/test", "data_size": 200 },
  "publish": $publish,
  "verify": $verify $extra }
EOF
}

# Waits (bounded) until a command prints the expected value.
wait_for() {
  local what=$1 want=$2 secs=$3; shift 3
  local i got
  for i in $(seq $((secs * 10))); do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  fail "$what: waited ${secs}s for $want, last saw '$got'"
}

# remove_waiting FROM N: removes N waiting jobs (from index FROM of the wait
# list) behind everybody's back; prints how many it removed.
remove_waiting() {
  local id n=0
  for id in $(rq LRANGE "bull:$Q:wait" "$1" $(($1 + $2 - 1))); do
    [ "$(rq LREM "bull:$Q:wait" 0 "$id")" = 1 ] || fail "job $id was not in wait"
    [ "$(rq DEL "bull:$Q:$id")" = 1 ] || fail "job $id had no hash"
    n=$((n + 1))
  done
  echo "$n"
}

# Node: the pinned bullmq under tests/interop. bullmq 6.7.0 needs the ioredis
# peer package; EVLOAD_INTEROP_NODE_PATH may point at an extra node_modules.
node_check() {
  command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
  [ -d tests/interop/node_modules/bullmq ] || fail "tests/interop/node_modules lacks bullmq: run npm ci in tests/interop"
  (cd tests/interop && NODE_PATH=${EVLOAD_INTEROP_NODE_PATH:-} node -e "require.resolve('ioredis')" 2>/dev/null) ||
    fail "bullmq 6.7.0 needs its peer package ioredis, which tests/interop/node_modules lacks: add ioredis to tests/interop/package.json and run npm ci (or point EVLOAD_INTEROP_NODE_PATH at a node_modules that has it)"
}
node_helper() {
  node_check
  (cd tests/interop && NODE_PATH=${EVLOAD_INTEROP_NODE_PATH:-} exec node bullmq_helper.js "$@")
}
# node_bg LOG ARGS...: the helper in the background; NODE_PID is node itself
# (so a SIGTERM reaches it), killed on exit if still running.
node_bg() {
  local log=$1; shift
  node_check
  (cd tests/interop && NODE_PATH=${EVLOAD_INTEROP_NODE_PATH:-} exec node bullmq_helper.js "$@") >"$log" 2>&1 &
  NODE_PID=$!
  BG_PIDS+=("$NODE_PID")
}
