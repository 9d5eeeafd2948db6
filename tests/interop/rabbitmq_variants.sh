#!/usr/bin/env bash
# The verifier accepts the CloudEvents encodings other AMQP 0-9-1 producers
# use, not only evload's own. Run 1 (binary mode, fixed run id) also feeds a
# side queue. Run 2 has the same run id and publishes the same ids again, at
# 25/s; once it has sent 150, amqplib re-encodes the side queue's first 100
# events (seqs 1..100, already sent by run 2), data bytes untouched, in five
# variants (structured with a charset parameter; binary with `cloudEvents:`,
# `ce-`, `ce_` + a native integer; sdk-java's header-only style) into run 2's
# queue. Run 2's ledger must see each of those 100 events twice (once from
# itself, once as a variant) and the other 100 once, with nothing corrupt,
# foreign or lost. (A copy arriving before run 2 sent its seq would claim an
# event that did not exist yet: foreign, by design.)
source "$(dirname "$0")/../integration/rabbitmq_lib.bash"
rmq_start
RUN="v$SUFFIX"
N=200
side="evt-vside-$SUFFIX"
q2="evt-vq2-$SUFFIX"
ex2="evt-vex2-$SUFFIX"
CLEANUP_QUEUES+=("$side" "$q2")
cat >"$TMP/v.json" <<JSON
{ "name": "rabbitmq-variants", "run_id": "$RUN",
  "event": { "type": "dev.evload.variants", "data_size": 300, "mode": "binary" },
  "publish": { "executor": "max-throughput", "count": $N, "lanes": 1 },
  "verify": { "groups": 1, "consumers": 1, "drain_timeout": "30s" } }
JSON
# Run 1: the side queue is bound to run 1's exchange with its routing key.
EX="evt-vex1-$SUFFIX" Q="evt-vq1-$SUFFIX"
node_helper bind "$AMQP_BASE/%2f" "$EX" direct "$side" "$Q" >/dev/null || fail "helper bind"
run_rc 0 run "$TMP/v.json" --target "$(target)" --json "$TMP/r1.json"
planned "$TMP/r1.json" "run 1" "$N"
eq "run 1 acked" "$(jqv "$TMP/r1.json" .publish.acked)" "$N"
eq "run 1 lost" "$(jqv "$TMP/r1.json" .deliver.lost)" 0
# Run 2 on its own exchange and queue, paced so the variants go in mid-run.
node_helper bind "$AMQP_BASE/%2f" "$ex2" direct "$q2" "$q2" >/dev/null || fail "helper bind 2"
EX="$ex2" Q="$q2"
V=100
jq '.publish = {"rate": 25, "duration": "8s", "lanes": 1}' "$TMP/v.json" >"$TMP/v2.json"
run_bg 120 run "$TMP/v2.json" --target "$AMQP_BASE/%2f?exchange=$ex2&queue=$q2" --json "$TMP/r2.json"
await_status sent 150 30
node_helper variants "$AMQP_BASE/%2f" "$side" "$q2" "$V" 60 >"$TMP/var.json" || fail "helper variants"
eq "re-encoded" "$(jqv "$TMP/var.json" .republished)" "$V"
during_publish_now=$(since_start)
wait_bg 0
f="$TMP/r2.json"
during_publish "variants injected" "$f" "$during_publish_now"
planned "$f" "run 2" "$N"
eq "run 2 received" "$(jqv "$f" .deliver.received)" "$((N + V))"
eq "run 2 delivered" "$(jqv "$f" .deliver.delivered)" "$N"
eq "run 2 duplicated (the variants)" "$(jqv "$f" .deliver.duplicated)" "$V"
eq "run 2 corrupted" "$(jqv "$f" .deliver.corrupted)" 0
eq "run 2 foreign" "$(jqv "$f" .deliver.foreign)" 0
eq "run 2 lost" "$(jqv "$f" .deliver.lost)" 0
node_helper delete "$AMQP_BASE/%2f" "$side" "evt-vex1-$SUFFIX" >/dev/null || true
node_helper delete "$AMQP_BASE/%2f" "$q2" "$ex2" >/dev/null || true
echo "variants accepted: $(jq -c .per_variant "$TMP/var.json") (structured+charset, cloudEvents:, ce-, ce_+long, sdk-java)"
done_ok
