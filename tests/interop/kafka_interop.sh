#!/usr/bin/env bash
# Interop: a real third-party consumer (npm kafkajs 2.2.4 with the cloudevents
# 10.0.0 SDK's Kafka binding) reads what evload produced into an
# `evload kafka-mock` cluster, in structured and in binary mode: every event
# must parse as a valid CloudEvent with evload's extensions, none missing.
source tests/e2e/lib.bash "$@"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
[ -d tests/interop/node_modules/kafkajs ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
sfx=$RANDOM$RANDOM
MOCK_PID=
on_exit kmock_stop
kmock_start --brokers 3 --partitions 3 --topic "ia-s-$sfx" --topic "ia-b-$sfx"

cat >"$TMP/s.json" <<JSON
{ "name": "kafka-interop", "target": "kafka://$servers/ia-s-$sfx",
  "event": { "type": "dev.evload.interop", "source": "/evload/interop", "data_size": 512,
             "data": { "customer": "Zoë", "note": "quote \" and tab\t" } },
  "publish": { "lanes": 3, "rate": 300, "duration": "2s" },
  "verify": { "drain_timeout": "30s" }, "thresholds": { "lost": ["count==0"] } }
JSON
for mode in structured binary; do
  topic=ia-s-$sfx
  [ "$mode" = binary ] && topic=ia-b-$sfx
  run_rc 0 run "$TMP/s.json" --target "kafka://$servers/$topic" --set event.mode=$mode --json "$TMP/$mode.json" --quiet
  n=600
  planned "$TMP/$mode.json" "$mode" "$n"
  eq "$mode: every event acked" "$(jqv "$TMP/$mode.json" .publish.acked)" "$n"
  eq "$mode: evload verified all" "$(jqv "$TMP/$mode.json" .deliver.delivered)" "$n"
  rc=0
  timeout 120 node tests/interop/kafka_helper.js consume "$servers" "$topic" "$n" "$mode" 90 >"$TMP/$mode.node" 2>&1 || rc=$?
  cat "$TMP/$mode.node"
  eq "$mode: kafkajs + cloudevents parsed all $n as valid" "$rc" 0
  tail -n 1 "$TMP/$mode.node" >"$TMP/$mode.last.json"
  eq "$mode: valid count" "$(jqv "$TMP/$mode.last.json" .valid)" "$n"
done
done_ok
