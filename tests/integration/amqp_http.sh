#!/usr/bin/env bash
# amqp+http://: build events published through RabbitMQ's
# management API (POST /api/exchanges/%2F/EXCHANGE/publish), verified by
# evload's AMQP consumer on the bound queue, in structured and binary mode:
# every event seen once. A routing key no queue is bound to: the API answers
# {"routed": false} for each, counted unroutable, failed (unconfirmed), never
# retried.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
./scripts/brokers start rabbitmq || fail "the management API is not up (scripts/brokers start rabbitmq)"
CLEANUP_QUEUES+=("$Q")
API=http://127.0.0.1:15672/api
trap 'curl -s -u guest:guest -X DELETE "$API/exchanges/%2F/$EX" >/dev/null; rmq_cleanup' EXIT
cat >"$TMP/s.json" <<JSON
{ "name": "amqp-http", "target": "amqp+http://guest:guest@127.0.0.1:15672/%2f?exchange=$EX&routing_key=build",
  "event": { "type": "network.example.build.finished", "source": "/ci/builds", "data_size": 400,
             "data": { "pipeline": "web", "status": "success" } },
  "publish": { "lanes": 2, "rate": 150, "duration": "2s", "max_in_flight": 100 },
  "verify": { "source": "$AMQP_BASE/%2f?exchange=$EX&exchange_type=direct&routing_key=build&queue=$Q&declare=1",
              "drain_timeout": "15s" },
  "thresholds": {} }
JSON
A=.broker.amqp_http
for mode in structured binary; do
  f=$TMP/$mode.json
  run_rc 0 run "$TMP/s.json" --set event.mode=$mode --json "$f" --quiet
  att=$(jqv "$f" .publish.attempted)
  eq "$mode attempted" "$att" 300
  eq "$mode acked" "$(jqv "$f" .publish.acked)" "$att"
  eq "$mode delivered" "$(jqv "$f" .deliver.delivered)" "$att"
  eq "$mode received" "$(jqv "$f" .deliver.received)" "$att"
  eq "$mode lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$mode duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$mode corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$mode 200s" "$(jqv "$f" "$A.status[\"200\"]")" "$att"
  eq "$mode unroutable" "$(jqv "$f" "$A.unroutable")" 0
done

# Nothing bound to this routing key.
f=$TMP/unbound.json
run_rc 0 run "$TMP/s.json" --target "amqp+http://guest:guest@127.0.0.1:15672/%2f?exchange=$EX&routing_key=nobody-$SUFFIX" \
  --set verify.drain_timeout=2s --json "$f" --quiet
att=$(jqv "$f" .publish.attempted)
eq "unbound attempted" "$att" 300
eq "unbound unroutable" "$(jqv "$f" "$A.unroutable")" "$att"
eq "unbound failed" "$(jqv "$f" .publish.failed)" "$att"
eq "unbound unconfirmed" "$(jqv "$f" .deliver.unconfirmed)" "$att"
eq "unbound delivered" "$(jqv "$f" .deliver.delivered)" 0
eq "unbound never retried" "$(jqv "$f" "$A.retries")" 0
grep -q guest:guest "$TMP/out" "$TMP/err" "$f" && fail "password printed"

# An exchange that does not exist: the management API answers 404 to every
# publish; the run ends at once with exit 3 and one line naming the target.
run_rc 3 run "$TMP/s.json" --target "amqp+http://guest:guest@127.0.0.1:15672/%2f?exchange=none-$SUFFIX&routing_key=build" \
  --quiet
CHECKS=$((CHECKS + 1))
grep -q "400 on the first requests: the exchange does not exist" "$TMP/err" || fail "missing exchange: $(cat "$TMP/err")"
grep -q guest:guest "$TMP/out" "$TMP/err" && fail "password printed"
done_ok
