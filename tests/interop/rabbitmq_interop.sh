#!/usr/bin/env bash
# A real third-party consumer (npm amqplib + the cloudevents SDK) reads the
# events evload published, in structured and in binary mode, from a side queue
# bound to evload's exchange (evload's own verifier consumes its own queue).
# Every event must parse as a valid CloudEvent (the SDK's strict validation),
# carry evload's extension attributes and this run's id, exactly once each.
source "$(dirname "$0")/../integration/rabbitmq_lib.bash"
rmq_start

for mode in structured binary; do
  EX="evt-ex-i$mode-$SUFFIX" Q="evt-q-i$mode-$SUFFIX"
  side="evt-side-$mode-$SUFFIX"
  CLEANUP_QUEUES+=("$side")
  # The side queue is bound with evload's routing key (the queue name, by default).
  node_helper bind "$AMQP_BASE/%2f" "$EX" direct "$side" "$Q" >/dev/null || fail "helper bind"
  run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target)" --set "event.mode=$mode" \
    --set publish.duration=3s --json "$TMP/$mode.json"
  att=600
  planned "$TMP/$mode.json" "$mode" "$att"
  eq "$mode acked" "$(jqv "$TMP/$mode.json" .publish.acked)" "$att"
  run=$(jqv "$TMP/$mode.json" .run.id)
  eq "$mode evload lost" "$(jqv "$TMP/$mode.json" .deliver.lost)" 0
  eq "$mode exchange reused" "$(jqv "$TMP/$mode.json" .broker.rabbitmq.exchange_existed)" true
  node_helper read "$AMQP_BASE/%2f" "$side" "$att" "$run" 60 >"$TMP/read.json" || fail "helper read"
  r() { jqv "$TMP/read.json" ".$1"; }
  [ "$(r invalid)" = 0 ] || fail "$mode: $(r invalid) invalid CloudEvents: $(jq -c .errors "$TMP/read.json")"
  eq "$mode read" "$(r read)" "$att"
  eq "$mode valid" "$(r valid)" "$att"
  eq "$mode seen as $mode" "$(r "$mode")" "$att"
  eq "$mode duplicates" "$(r duplicates)" 0
  eq "$mode this run" "$(r other_run)" 0
  node_helper delete "$AMQP_BASE/%2f" "$side" "$EX" >/dev/null || fail "helper delete"
  echo "$mode: amqplib + cloudevents SDK validated $(r valid) of $att events"
done
done_ok
