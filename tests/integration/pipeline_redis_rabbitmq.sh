#!/usr/bin/env bash
# Pipeline Redis Pub/Sub -> relay -> RabbitMQ. evload publishes into a Redis
# channel; tests/interop/relay.js (an ioredis subscriber in, an amqplib
# confirm channel out; a separate process) publishes every message to a
# fanout exchange it declares; evload verifies with --source
# amqp://…?exchange=OUT&queue=Q&declare=1 and 3 groups (queues Q-g0..g2 that
# evload declares, as asked, and binds to the relay's exchange), one
# consumer each:
#   1. pass-through, drop 7 / dup 5: per group lost == 7 (--missing lists
#      the dropped ids), duplicated == 5, reordered 0
#   2. pass-through, delays of 200..800 ms (order not kept): nothing lost,
#      reordered == the relay's count (> 0), e2e p50 in [200, 850] ms
#   3. new events with the original id only in an AMQP header x-source-id
#      (match header:x-source-id), binary mode: the same exact counts as 1
#   4. new events that only propagate the traceparent (match traceparent),
#      structured mode: the same exact counts as 1
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_redis
need_rabbitmq
CH=pr-in-$SFX
TARGET="redis://127.0.0.1:$REDIS_PORT?channel=$CH"
FROM="$TARGET"
DROP=7 DUP=5
n=0
# Runs 1, 3 and 4 drop events on purpose: those never come, so their drain
# always lasts its whole deadline, LOSS_DRAIN. It must only outlast the
# slowest delivered event (Redis -> relay -> RabbitMQ; one that came later
# would be found by the final sweep, counted late, and fail the counts).
# Measured on the 2-core dev machine: e2e p99 6..429 ms, max 464 ms at
# loadavg 6.6 (other tests running). 3 s is over 6 times that worst max
# (the drain was 5 s).
LOSS_DRAIN=3s

# run NAME MATCH DRAIN RELAY_ARGS...: a fresh output exchange and queues per run.
run() {
  local name=$1 match=$2 drain=$3; shift 3
  n=$((n + 1))
  local ox=pr-out-$SFX-$n oq=pr-q-$SFX-$n g
  AMQP_CLEANUP+=("- $ox")
  for g in 0 1 2; do AMQP_CLEANUP+=("$oq-g$g"); done
  relay_start "$name" --from "$FROM" --to "$AMQP_BASE/%2f?exchange=$ox" "$@"
  pscen "$TMP/$name.json" "$TARGET" "{ \"groups\": 3, \"consumers\": 1, \"drain_timeout\": \"$drain\" }"
  local set=(--set "$(exact_thresholds "$PLANNED_DROP" "$PLANNED_DUP" 3)")
  [ "$match" != envelope ] && set+=(--set "verify.match=$match")
  evrun 0 "$name" run "$TMP/$name.json" --source "$AMQP_BASE/%2f?exchange=$ox&queue=$oq&declare=1" "${set[@]}"
  relay_stop "$name"
  eq "$name: evload found the relay's exchange" "$(jqv "$TMP/$name.json" '.broker["rabbitmq@source"].exchange_existed')" true
}

PLANNED_DROP=$DROP PLANNED_DUP=$DUP
run fault envelope $LOSS_DRAIN --drop $DROP --dup $DUP
pipe_exact "$TMP/fault.json" fault "fault"
eq "fault: 3 queues" "$(jqv "$TMP/fault.json" '.deliver.groups | length')" 3

PLANNED_DROP=0 PLANNED_DUP=0
run delay envelope 10s --delay 200ms..800ms
pipe_exact "$TMP/delay.json" delay "delay"
nonzero "delay: the random holds reordered lanes" "$(rcount delay .reordered)"
# Holds of 200..800 ms (median 500); around them one PUBLISH, one confirmed
# AMQP publish and a delivery to each queue: a few ms, within 50 ms.
pipe_latency "$TMP/delay.json" "delay" 200 850

PLANNED_DROP=$DROP PLANNED_DUP=$DUP
run hdr header:x-source-id $LOSS_DRAIN --drop $DROP --dup $DUP --transform newid-header --out-mode binary
pipe_exact "$TMP/hdr.json" hdr "hdr (header:x-source-id)"
run trace traceparent $LOSS_DRAIN --drop $DROP --dup $DUP --transform trace
pipe_exact "$TMP/trace.json" trace "trace (traceparent)"
done_ok
