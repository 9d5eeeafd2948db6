#!/usr/bin/env bash
# A consumer slower than the publisher (the slow-consumer case of pipelines):
# 200 events/s for 6 s (1200 events) into RabbitMQ, one consumer that works
# 20 ms per event (at most 50 events/s), a 5 s drain. By the drain deadline
# (11 s after the start) the consumer can have worked through at most
# 50 x 11 = 550 events, and seen at most one batch (64, the engine's
# RECV_BATCH, recorded when taken, before the work) more: 614. So at least
# 586 are still in the queue: a backlog, not a loss. The drain always runs to
# its deadline here (the backlog is the point), so it is kept short: a longer
# one only moves the same bound.
#   1. default sweep: what the queue still holds is read after the deadline
#      (without the simulated work) and counted late; lost 0; a threshold on
#      lost passes while one on late fails the run (exit 1)
#   2. no sweep (verify.sweep_timeout 0): the rest is pending, with the
#      queue's depth at the end as evidence; lost 0; a threshold on lost
#      passes while one on pending fails the run (exit 1); --missing lists
#      exactly the pending events
# The two runs go at once, each on its own exchange and queue (the second's
# names get a "-2"): a consumer slowed further by the other run only lowers
# what it can deliver, and every bound below is an upper one on that.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
CLEANUP_QUEUES+=("$Q" "$Q-2")
T2="$AMQP_BASE/%2f?exchange=$EX-2&queue=$Q-2&cleanup=1"
[ "$T2" != "$(target)" ] || fail "the second run's target is the first's"

cat >"$TMP/slow.json" <<JSON
{ "name": "rabbitmq-slow-consumer", "target": "$(target)",
  "event": { "type": "dev.evload.slow", "source": "/evload/test", "data_size": 256 },
  "publish": { "rate": 200, "duration": "6s", "max_in_flight": 1000 },
  "verify": { "groups": 1, "consumers": 1, "prefetch": 100, "work": "20ms", "drain_timeout": "5s" } }
JSON

# thr FILE METRIC: whether the threshold on METRIC held.
thr() { jqv "$1" ".thresholds[] | select(.metric == \"$2\") | .pass"; }

run_rc_in "$TMP/r1" 1 run "$TMP/slow.json" --json "$TMP/1.json" \
  --set 'thresholds={"lost": ["count==0"], "late": ["count==0"]}' &
p1=$!
run_rc_in "$TMP/r2" 1 run "$TMP/slow.json" --target "$T2" --json "$TMP/2.json" --missing "$TMP/2.missing" \
  --set verify.sweep_timeout=0s --set 'thresholds={"lost": ["count==0"], "pending": ["count==0"]}' &
wait_jobs "$p1" $!

# 1. swept: late
R=$TMP/1.json
att=$(jqv "$R" .publish.attempted)
eq "1 attempted" "$att" 1200
eq "1 acked" "$(jqv "$R" .publish.acked)" 1200
delivered=$(jqv "$R" .deliver.delivered)
late=$(jqv "$R" .deliver.late)
echo "1: delivered in time $delivered, late $late, sweep $(jqv "$R" .deliver.sweep_s) s"
le "1 delivered in time <= 50/s x 11 s + 64" "$delivered" 614
ge "1 late: the backlog at the deadline" "$late" 586
eq "1 lost" "$(jqv "$R" .deliver.lost)" 0
eq "1 pending" "$(jqv "$R" .deliver.pending)" 0
eq "1 delivered + late" "$((delivered + late))" "$att"
eq "1 drain timed out" "$(jqv "$R" .deliver.drain_timed_out)" true
eq "1 swept" "$(jqv "$R" .deliver.swept)" true
eq "1 duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "1 nothing of run 2 (its own queue)" "$(jqv "$R" .deliver.foreign)" 0
eq "1 threshold on lost held" "$(thr "$R" lost)" true
eq "1 threshold on late failed" "$(thr "$R" late)" false
ge "1 the queue grew (max depth)" "$(jqv "$R" .backpressure.max_depth)" 586
# Late events were read after the deadline: no e2e for them.
eq "1 e2e measured for the events in time only" "$(jqv "$R" .latency.e2e.count)" "$delivered"

# 2. no sweep: pending, with the depth as evidence
R=$TMP/2.json
att=$(jqv "$R" .publish.attempted)
eq "2 attempted" "$att" 1200
eq "2 nothing of run 1 (its own queue)" "$(jqv "$R" .deliver.foreign)" 0
delivered=$(jqv "$R" .deliver.delivered)
pending=$(jqv "$R" .deliver.pending)
holds=$(jqv "$R" '.deliver.outputs[0].holds_at_end')
echo "2: delivered $delivered, pending $pending, the queue held $holds at the end"
le "2 delivered <= 50/s x 11 s + 64" "$delivered" 614
ge "2 pending: the backlog" "$pending" 586
eq "2 lost" "$(jqv "$R" .deliver.lost)" 0
eq "2 late" "$(jqv "$R" .deliver.late)" 0
eq "2 delivered + pending" "$((delivered + pending))" "$att"
eq "2 not swept" "$(jqv "$R" .deliver.swept)" false
ge "2 evidence: the queue held at least the pending events" "$holds" "$pending"
eq "2 threshold on lost held" "$(thr "$R" lost)" true
eq "2 threshold on pending failed" "$(thr "$R" pending)" false
eq "2 --missing lists the pending events" \
  "$(awk '!/^#/ { n += $5 } END { print n + 0 }' "$TMP/2.missing")" "$pending"
done_ok
