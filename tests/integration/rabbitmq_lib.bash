# Shared by the RabbitMQ integration and interop tests (sourced, not a test).
# Starts rabbitmq-server through scripts/brokers (FAILS, never skips, when it
# cannot), gives each test unique exchange/queue names, and cleans up on exit.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.bash"

HELPER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../interop" && pwd)/rabbitmq_helper.js"
AMQP_BASE=${EVLOAD_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
SUFFIX=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
EX="evt-ex-$SUFFIX"
Q="evt-q-$SUFFIX"
CLEANUP_QUEUES=()

rmq_cleanup() {
  # A test that stopped the app must leave it running (scripts/brokers
  # starts it again; at once when it runs). Queues go through the
  # management API: each rabbitmqctl call starts an Erlang VM (1-2 s).
  ./scripts/brokers start rabbitmq >/dev/null 2>&1 || true
  for q in "${CLEANUP_QUEUES[@]}"; do
    curl -s -o /dev/null -m 20 -u guest:guest -X DELETE "http://127.0.0.1:15672/api/queues/%2f/$q" || true
  done
}
on_exit rmq_cleanup

# rmq_start: scripts/brokers start rabbitmq, which returns once the rabbit
# app runs (it starts the app again when a test interrupted mid-restart left
# the node up without it) and its management API answers.
rmq_start() {
  ./scripts/brokers start rabbitmq || fail "cannot start rabbitmq-server (scripts/brokers start rabbitmq)"
}

# target [EXTRA_QUERY]: the test's target URL (unique names, cleanup=1).
target() { echo "$AMQP_BASE/%2f?exchange=$EX&queue=$Q&cleanup=1${1:+&$1}"; }

# node_helper ARGS...: runs the amqplib helper with a bound.
node_helper() { timeout 180 node "$HELPER" "$@"; }
