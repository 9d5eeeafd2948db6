#!/usr/bin/env bash
# Deliberate loss: while evload runs, another client (npm amqplib) takes
# exactly N messages off the verifier's queue behind evload's back (basic.get
# + ack). evload's consumer is slowed (verify.work) so a backlog exists to
# take from. evload must report exactly N lost — no more, no fewer — and
# every other event delivered. The thief starts once events are seen
# delivered and must be done while evload still publishes.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
N=17
cat >"$TMP/loss.json" <<'JSON'
{ "name": "rabbitmq-loss",
  "event": { "type": "dev.evload.loss", "data_size": 256 },
  "publish": { "executor": "constant-arrival-rate", "lanes": 1, "rate": 200, "duration": "5s" },
  "verify": { "groups": 1, "consumers": 1, "prefetch": 1,
              "work": { "min": "10ms", "max": "10ms" }, "drain_timeout": "60s" },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_bg 180 run "$TMP/loss.json" --target "$(target)" --json "$TMP/l.json"
await_status recv 1 60
t_take=$(since_start)
node_helper take "$AMQP_BASE/%2f" "$Q" "$N" 60 >"$TMP/take.json" || fail "the thief failed"
t_taken=$(since_start)
# The lost threshold fails: exit 1.
wait_bg 1
echo "the thief took $N from ${t_take}s to ${t_taken}s"
eq "thief took" "$(jqv "$TMP/take.json" .taken)" "$N"
planned "$TMP/l.json" "loss" 1000
during_publish "theft" "$TMP/l.json" "$t_take" "$t_taken"
eq "acked" "$(jqv "$TMP/l.json" .publish.acked)" 1000
eq "lost == taken" "$(jqv "$TMP/l.json" .deliver.lost)" "$N"
eq "delivered" "$(jqv "$TMP/l.json" .deliver.delivered)" "$((1000 - N))"
eq "duplicated" "$(jqv "$TMP/l.json" .deliver.duplicated)" 0
eq "unconfirmed" "$(jqv "$TMP/l.json" .deliver.unconfirmed)" 0
eq "drain not timed out" "$(jqv "$TMP/l.json" .deliver.drain_timed_out)" false
eq "queue empty at end" "$(jqv "$TMP/l.json" '.broker.rabbitmq.queues[0].ready_at_end')" 0
grep -q '✗ lost' "$TMP/out" || fail "summary does not show the failed lost threshold"
done_ok
