#!/usr/bin/env bash
# Pending vs lost in a pipeline, by evidence. RabbitMQ -> relay -> RabbitMQ,
# where the relay (tests/interop/relay.js --start-on-signal) has declared
# and bound its input queue but does not consume yet: every event evload
# publishes waits in the service's own queue, nothing comes out by the
# drain deadline.
#   1. with verify.observe = [the relay's input queue]: every event is
#      pending (the watched hop holds them all: hops_at_end == attempted),
#      lost 0; the --missing file lists them all. Then the relay is
#      released and forwards every one of them: they were indeed in flight.
#   2. the same without verify.observe: evload has no evidence (its source
#      queue is empty), so every event is lost
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_rabbitmq
EX=pp-in-$SFX RQ=pp-relay-$SFX OX=pp-out-$SFX
AMQP_CLEANUP+=("$RQ $EX" "- $OX" "pp-q1-$SFX" "pp-q2-$SFX")
TARGET="$AMQP_BASE/%2f?exchange=$EX"
FROM="$AMQP_BASE/%2f?exchange=$EX&queue=$RQ"
PUB='{ "lanes": 2, "rate": 100, "duration": "2s" }'

# 1. observed: pending
relay_start held --from "$FROM" --to "$AMQP_BASE/%2f?exchange=$OX" --start-on-signal
grep -q '"held":true' "$TMP/held.out" || fail "the relay is not held: $(cat "$TMP/held.out")"
pscen "$TMP/obs.json" "$TARGET" "{ \"source\": \"$AMQP_BASE/%2f?exchange=$OX&queue=pp-q1-$SFX&declare=1\",
  \"drain_timeout\": \"3s\", \"observe\": [\"$AMQP_BASE/%2f?queue=$RQ\"] }" "$PUB"
evrun 0 obs run "$TMP/obs.json" --set 'thresholds={"lost": ["count==0"], "pending": ["count==200"]}'
R=$TMP/obs.json
att=$(jqv "$R" .publish.attempted)
eq "1 attempted" "$att" 200
eq "1 pending" "$(jqv "$R" .deliver.pending)" "$att"
eq "1 lost" "$(jqv "$R" .deliver.lost)" 0
eq "1 delivered" "$(jqv "$R" .deliver.delivered)" 0
eq "1 the watched hop held them" "$(jqv "$R" '.deliver.outputs[0].hops_at_end')" "$att"
eq "1 the source held nothing" "$(jqv "$R" '.deliver.outputs[0].holds_at_end')" 0
eq "1 classes add up" "$(jqv "$R" '.deliver.outputs[0] | sum(.delivered, .late, .pending, .lost, .unconfirmed, .recovered)')" "$att"
eq "1 --missing lists every pending event" "$(missing_ids "$TMP/obs.missing" | wc -l)" "$att"
# Released, the relay forwards every one of them.
kill -USR2 "$RELAY_PID"
for _ in $(seq 300); do
  kill -USR1 "$RELAY_PID"
  sleep 0.1
  [ "$(jq -r .forwarded "$TMP/held.counts" 2>/dev/null)" = "$att" ] && break
done
relay_stop held
eq "1 released: the relay forwarded what was pending" "$(rcount held .forwarded)" "$att"

# 2. not observed: no evidence, lost
relay_start held2 --from "$FROM" --to "$AMQP_BASE/%2f?exchange=$OX" --start-on-signal
pscen "$TMP/blind.json" "$TARGET" "{ \"source\": \"$AMQP_BASE/%2f?exchange=$OX&queue=pp-q2-$SFX&declare=1\",
  \"drain_timeout\": \"3s\" }" "$PUB"
evrun 1 blind run "$TMP/blind.json" --set 'thresholds={"lost": ["count==0"]}'
R=$TMP/blind.json
eq "2 lost" "$(jqv "$R" .deliver.lost)" "$(jqv "$R" .publish.attempted)"
eq "2 pending" "$(jqv "$R" .deliver.pending)" 0
kill -USR2 "$RELAY_PID"
relay_stop held2
done_ok
