#!/usr/bin/env bash
# Deliberate loss: while evload runs, another client (npm amqplib) takes
# exactly N messages off the verifier's queue behind evload's back (basic.get
# + ack). evload's consumer is slowed (verify.work) so a backlog exists to
# take from. evload must report exactly N lost — no more, no fewer — and the

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
rc=0
timeout 180 "$EVLOAD" run "$TMP/loss.json" --target "$(target)" --json "$TMP/l.json" \
  >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
node_helper take "$AMQP_BASE/%2f" "$Q" "$N" 60 >"$TMP/take.json" || { kill $pid; fail "the thief failed"; }
wait $pid || rc=$?
eq "thief took" "$(jq -r .taken "$TMP/take.json")" "$N"
CHECKS=$((CHECKS+1))
[ "$rc" = 1 ] || { show_run; fail "evload exited $rc, expected 1 (the lost threshold fails)"; }
att=$(jqv "$TMP/l.json" .publish.attempted)
eq "attempted" "$att" 1000
eq "acked" "$(jqv "$TMP/l.json" .publish.acked)" "$att"
eq "lost == taken" "$(jqv "$TMP/l.json" .deliver.lost)" "$N"
eq "delivered" "$(jqv "$TMP/l.json" .deliver.delivered)" "$((att - N))"
eq "duplicated" "$(jqv "$TMP/l.json" .deliver.duplicated)" 0
eq "unconfirmed" "$(jqv "$TMP/l.json" .deliver.unconfirmed)" 0
eq "drain not timed out" "$(jqv "$TMP/l.json" .deliver.drain_timed_out)" false
eq "queue empty at end" "$(jqv "$TMP/l.json" '.broker.rabbitmq.queues[0].ready_at_end')" 0
grep -q '✗ lost' "$TMP/out" || fail "summary does not show the failed lost threshold"
done_ok
