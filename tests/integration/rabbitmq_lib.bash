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
  # A test that stopped the app must leave it running.
  if ! timeout 20 rabbitmqctl -q list_queues name >/dev/null 2>&1; then
    timeout 60 rabbitmqctl -q start_app >/dev/null 2>&1 || true
    timeout 60 rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  fi
  for q in "${CLEANUP_QUEUES[@]}"; do
    timeout 20 rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
  done
}
on_exit rmq_cleanup

rmq_start() {
  ./scripts/brokers start rabbitmq || fail "cannot start rabbitmq-server (scripts/brokers start rabbitmq)"
  # The node may be up with the rabbit app stopped (a test interrupted mid-restart).
  if ! timeout 20 rabbitmqctl -q list_queues name >/dev/null 2>&1; then
    timeout 60 rabbitmqctl -q start_app >/dev/null 2>&1 || true
  fi
  timeout 60 rabbitmqctl -q await_startup >/dev/null 2>&1 || fail "rabbitmq-server is not ready"
}

# target [EXTRA_QUERY]: the test's target URL (unique names, cleanup=1).
target() { echo "$AMQP_BASE/%2f?exchange=$EX&queue=$Q&cleanup=1${1:+&$1}"; }

# node_helper ARGS...: runs the amqplib helper with a bound.
node_helper() { timeout 180 node "$HELPER" "$@"; }
