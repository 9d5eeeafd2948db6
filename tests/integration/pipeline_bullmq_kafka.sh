#!/usr/bin/env bash
# Pipeline BullMQ -> relay -> Kafka. evload adds one job per event to a
# BullMQ queue (the target is only added to: no worker of evload's runs
# there); tests/interop/relay.js takes the jobs with the npm bullmq Worker
# (concurrency 256; a job completes once its event is produced) and produces
# them to a topic of an `evload kafka-mock` cluster, where evload verifies
# with --source:
#   1. drop 7 / dup 5: lost == 7 with --missing == the dropped ids,
#      duplicated == 5; every job of the input queue completed
#   2. delays of 200..800 ms: nothing lost, reordered == the relay's count,
#      e2e p50 in [200, 850] ms
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_redis
T1=bk-fault-$SFX T2=bk-delay-$SFX
need_kafka "$T1" "$T2"
QIN=bk-in-$SFX
BULL_QUEUES+=("$QIN")
TARGET="bullmq://127.0.0.1:$REDIS_PORT?queue=$QIN"
DROP=7 DUP=5

relay_start fault --from "$TARGET" --to "kafka://$servers/$T1" --drop $DROP --dup $DUP
pscen "$TMP/fault.json" "$TARGET" '{ "groups": 1, "drain_timeout": "5s" }'
evrun 0 fault run "$TMP/fault.json" --source "kafka://$servers/$T1" --set "$(exact_thresholds $DROP $DUP 1)"
relay_stop fault
pipe_exact "$TMP/fault.json" fault "fault"
att=$(jqv "$TMP/fault.json" .publish.attempted)
eq "fault: jobs added by evload" "$(jqv "$TMP/fault.json" .broker.bullmq.publisher.added)" "$att"
eq "fault: every input job completed by the relay's Worker" \
  "$(timeout 10 redis-cli -p "$REDIS_PORT" ZCARD "bull:$QIN:completed")" "$att"

relay_start delay --from "$TARGET" --to "kafka://$servers/$T2" --delay 200ms..800ms
pscen "$TMP/delay.json" "$TARGET" '{ "groups": 1, "drain_timeout": "10s" }'
evrun 0 delay run "$TMP/delay.json" --source "kafka://$servers/$T2" --set "$(exact_thresholds 0 0 1)"
relay_stop delay
pipe_exact "$TMP/delay.json" delay "delay"
# Holds of 200..800 ms (median 500); around them the Worker's fetch (it
# waits on the queue's marker: immediate), one kafkajs produce and
# librdkafka's fetch (fetch.wait.max.ms 10): a few ms, within 50 ms.
pipe_latency "$TMP/delay.json" "delay" 200 850
done_ok
