#!/usr/bin/env bash
# Pipeline RabbitMQ -> relay -> BullMQ. evload publishes into a RabbitMQ
# exchange; tests/interop/relay.js (amqplib in, the npm bullmq Queue.addBulk
# out; a separate process) adds one job per message to a BullMQ queue:
#   1. evload's own BullMQ worker takes the output queue's jobs (--source
#      bullmq://…, verify.mode worker): drop 7 / dup 5 gives lost == 7 (the
#      --missing ids are the dropped ones), duplicated == 5 (a duplicate is a
#      second job carrying the same event)
#   2. delays of 200..800 ms: nothing lost, e2e p50 in [200, 850] ms
#   3. the relay adds jobs with NEW events, the original id in the data
#      (match json:/data/input_id; BullMQ jobs carry the structured event):
#      the same exact counts
#   4. the user's own Node Worker (npm bullmq, concurrency 4) completes the
#      output jobs and evload only observes (verify.mode observer): the same
#      exact counts, e2e = publish -> completed by the Node worker
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_rabbitmq
need_redis
EX=pb-in-$SFX RQ=pb-relay-$SFX
AMQP_CLEANUP+=("$RQ $EX")
TARGET="$AMQP_BASE/%2f?exchange=$EX"
FROM="$AMQP_BASE/%2f?exchange=$EX&queue=$RQ"
DROP=7 DUP=5
# Runs 1, 3 and 4 drop events on purpose: those never come, so their drain
# always lasts its whole deadline, LOSS_DRAIN. It must only outlast the
# slowest delivered event (RabbitMQ -> relay -> BullMQ -> the worker; one
# that came later would be found by the final sweep, counted late, and fail
# the counts). Measured on the 2-core dev machine at loadavg 5..9 (other
# tests running): e2e p99 15..167 ms, max 185 ms; 3 s is over 15 times
# that max (the drain was 5 s).
LOSS_DRAIN=3s

# bq QUEUE: sets OUT to the queue's URL (and deletes its keys at the end).
bq() { BULL_QUEUES+=("$1"); OUT="bullmq://127.0.0.1:$REDIS_PORT?queue=$1"; }

# 1. evload's worker (the default mode) on the output queue
bq "pb-out-w-$SFX"
relay_start worker --from "$FROM" --to "$OUT" --drop $DROP --dup $DUP
pscen "$TMP/worker.json" "$TARGET" "{ \"consumers\": 1, \"drain_timeout\": \"$LOSS_DRAIN\" }"
evrun 0 worker run "$TMP/worker.json" --source "$OUT" --set "$(exact_thresholds $DROP $DUP 1)"
relay_stop worker
pipe_exact "$TMP/worker.json" worker "worker"
att=$(jqv "$TMP/worker.json" .publish.attempted)
eq "worker: jobs added by the relay" "$(timeout 10 redis-cli -p "$REDIS_PORT" GET "bull:pb-out-w-$SFX:id")" $((att - DROP + DUP))
eq "worker: evload's worker completed them" "$(jqv "$TMP/worker.json" '.broker["bullmq@source"].worker.completed')" $((att - DROP + DUP))

# 2. held 200..800 ms each (order not kept)
bq "pb-out-l-$SFX"
relay_start delay --from "$FROM" --to "$OUT" --delay 200ms..800ms
pscen "$TMP/delay.json" "$TARGET" '{ "consumers": 1, "drain_timeout": "10s" }'
evrun 0 delay run "$TMP/delay.json" --source "$OUT" --set "$(exact_thresholds 0 0 1)"
relay_stop delay
pipe_exact "$TMP/delay.json" delay "delay"
# The holds are 200..800 ms (median 500); around them one confirmed AMQP
# hop, one addBulk and evload's worker fetch (BZPOPMIN wakes at once): a few
# ms, within the 50 ms margin.
pipe_latency "$TMP/delay.json" "delay" 200 850

# 3. new events, the original id in their data
bq "pb-out-d-$SFX"
relay_start data --from "$FROM" --to "$OUT" --drop $DROP --dup $DUP --transform newid-data
pscen "$TMP/data.json" "$TARGET" "{ \"consumers\": 1, \"drain_timeout\": \"$LOSS_DRAIN\" }"
evrun 0 data run "$TMP/data.json" --source "$OUT" --set verify.match=json:/data/input_id \
  --set "$(exact_thresholds $DROP $DUP 1)"
relay_stop data
pipe_exact "$TMP/data.json" data "data (json:/data/input_id)"

# 4. the user's Node Worker completes; evload observes
Q2=pb-out-o-$SFX
bq "$Q2"
(cd "$INTEROP" && exec node bullmq_helper.js worker "$Q2" 4 0 600000 600000 "$TMP/node.json") \
  >"$TMP/node.log" 2>&1 &
NODE_PID=$!
BG_PIDS+=("$NODE_PID")
relay_start observed --from "$FROM" --to "$OUT" --drop $DROP --dup $DUP
pscen "$TMP/observed.json" "$TARGET" "{ \"mode\": \"observer\", \"consumers\": 1, \"drain_timeout\": \"$LOSS_DRAIN\" }"
evrun 0 observed run "$TMP/observed.json" --source "$OUT" --set "$(exact_thresholds $DROP $DUP 1)"
relay_stop observed
kill -TERM "$NODE_PID"
wait "$NODE_PID" || fail "the Node worker failed: $(cat "$TMP/node.log")"
pipe_exact "$TMP/observed.json" observed "observed"
att=$(jqv "$TMP/observed.json" .publish.attempted)
eq "observed: the Node worker processed every job" "$(jq -r .processed "$TMP/node.json")" $((att - DROP + DUP))
eq "observed: completions observed" "$(jqv "$TMP/observed.json" '.broker["bullmq@source"].observer.completed')" $((att - DROP + DUP))
eq "observed: processing measured from BullMQ's timestamps for each completed job" \
  "$(jqv "$TMP/observed.json" '.broker["bullmq@source"].processing.count')" $((att - DROP + DUP))
done_ok
