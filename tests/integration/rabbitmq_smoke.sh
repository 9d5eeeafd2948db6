#!/usr/bin/env bash
# RabbitMQ against a real rabbitmq-server: zero loss end to end in both
# CloudEvents modes, fan-out groups on classic and quorum queues, ack_every,
# unroutable publishes accounted (not lost), and setup errors that exit 3/2
# quickly with the redacted address.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start

# exact_clean FILE CTX GROUPS N: the plan's N events published, each
# delivered exactly once per group.
exact_clean() {
  local f=$1 ctx=$2 groups=$3 att=$4
  planned "$f" "$ctx" "$att"
  eq "$ctx acked==attempted" "$(jqv "$f" .publish.acked)" "$att"
  eq "$ctx failed" "$(jqv "$f" .publish.failed)" 0
  eq "$ctx lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$ctx corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$ctx foreign" "$(jqv "$f" .deliver.foreign)" 0
  eq "$ctx reordered" "$(jqv "$f" .deliver.reordered)" 0
  eq "$ctx delivered" "$(jqv "$f" .deliver.delivered)" "$((att * groups))"
  eq "$ctx groups" "$(jqv "$f" '.deliver.groups|length')" "$groups"
  eq "$ctx confirmed" "$(jqv "$f" .broker.rabbitmq.confirmed)" "$att"
  eq "$ctx published" "$(jqv "$f" .broker.rabbitmq.published)" "$att"
  eq "$ctx republished" "$(jqv "$f" .broker.rabbitmq.republished)" 0
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
}

# 1. The shipped smoke scenario, structured, on this test's own names.
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target)" --json "$TMP/s.json"
exact_clean "$TMP/s.json" structured 1 1000
eq "redacted target" "$(jqv "$TMP/s.json" .run.target | grep -c 'guest:\*\*\*@')" 1
grep -q 'guest:guest' "$TMP/out" "$TMP/err" "$TMP/s.json" && fail "password printed"

# 2. Binary mode, 3 groups on a fanout exchange, 2 competing consumers each,
#    acks every 10, 2 lanes.
EX="evt-ex-b-$SUFFIX" Q="evt-q-b-$SUFFIX"
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target ack_every=10)" \
  --set event.mode=binary --set verify.groups=3 --set verify.consumers=2 \
  --set publish.duration=3s --json "$TMP/b.json"
exact_clean "$TMP/b.json" binary 3 600
eq "fanout by default" "$(jqv "$TMP/b.json" .broker.rabbitmq.exchange_type)" fanout
eq "group names" "$(jqv "$TMP/b.json" '.deliver.groups[2].name')" "$Q-g2"
le "acks batched" "$(jqv "$TMP/b.json" .broker.rabbitmq.acks_sent)" \
   "$(( $(jqv "$TMP/b.json" .broker.rabbitmq.deliveries) / 2 ))"

# 3. Quorum queues, one consumer: order promised, so reorders are counted (0).
EX="evt-ex-q-$SUFFIX" Q="evt-q-q-$SUFFIX"
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target queue_type=quorum)" \
  --set verify.consumers=1 --set verify.groups=2 --set publish.duration=3s --json "$TMP/q.json"
exact_clean "$TMP/q.json" quorum 2 600
eq "quorum" "$(jqv "$TMP/q.json" .broker.rabbitmq.queue_type)" quorum

# 4. Unroutable: mandatory publishes with a routing key nothing is bound to
#    come back (basic.return): failed/unconfirmed and counted unroutable,
#    never lost. The topology exists already (bound with the queue's name);
#    declare=0 uses it as it is.
EX="evt-ex-u-$SUFFIX" Q="evt-q-u-$SUFFIX"
CLEANUP_QUEUES+=("$Q")
node_helper bind "$AMQP_BASE/%2f" "$EX" direct "$Q" "$Q" >/dev/null || fail "helper bind"
run_rc 1 run scenarios/rabbitmq-smoke.json --target "$(target 'declare=0&routing_key=nowhere')" \
  --set publish.duration=2s --json "$TMP/u.json"
node_helper delete "$AMQP_BASE/%2f" "$Q" "$EX" >/dev/null || fail "helper delete"
att=400
planned "$TMP/u.json" unroutable "$att"
eq "unroutable acked" "$(jqv "$TMP/u.json" .publish.acked)" 0
eq "unroutable lost" "$(jqv "$TMP/u.json" .deliver.lost)" 0
eq "unroutable failed" "$(jqv "$TMP/u.json" .publish.failed)" "$att"
eq "unroutable unconfirmed" "$(jqv "$TMP/u.json" .deliver.unconfirmed)" "$att"
eq "unroutable counted" "$(jqv "$TMP/u.json" .broker.rabbitmq.unroutable)" "$att"

# 5. Setup errors: wrong password (exit 3, redacted), nothing listening
#    (exit 3, fast), declare=0 on a missing queue (exit 3), unknown parameter
#    (exit 2, nearest name).
start=$(date +%s)
run_rc 3 run scenarios/rabbitmq-smoke.json \
  --target "amqp://guest:wrongpw@127.0.0.1:5672/%2f?exchange=$EX&queue=$Q"
grep -q 'login failed' "$TMP/err" || fail "no login error: $(cat "$TMP/err")"
grep -q 'wrongpw' "$TMP/out" "$TMP/err" && fail "password printed"
run_rc 3 run scenarios/rabbitmq-smoke.json --target "amqp://guest:guest@127.0.0.1:1/%2f?queue=$Q"
grep -q 'cannot connect to 127.0.0.1:1' "$TMP/err" || fail "no connect error: $(cat "$TMP/err")"
run_rc 3 run scenarios/rabbitmq-smoke.json --target "$AMQP_BASE/%2f?exchange=$EX-none&queue=$Q-none&declare=0"
grep -q 'is not there' "$TMP/err" || fail "no declare=0 error: $(cat "$TMP/err")"
run_rc 2 run scenarios/rabbitmq-smoke.json --target "$AMQP_BASE/%2f?queue=$Q&ack_evry=10"
grep -q 'did you mean "' "$TMP/err" || fail "no nearest name: $(cat "$TMP/err")"
le "setup errors are quick" "$(( $(date +%s) - start ))" 60
done_ok
