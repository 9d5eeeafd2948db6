#!/usr/bin/env bash
# One run split over 4 local evload instances (scripts/shards: the same
# environment as the Kubernetes Indexed Job of `evload k8s render`), each a
# competing consumer of one RabbitMQ queue: together they publish exactly the
# plan's events, the merge finds every one delivered once, nothing lost or
# pending, and latency percentiles equal to those of the union of the
# shards' histograms. Then one instance starts 2 s late: it says so
# (run.start_late_s), catches up (sched_lag), and the merge still accounts
# for every event.
source "$(dirname "$0")/rabbitmq_lib.bash"
source "$(dirname "$0")/shards_lib.bash"
rmq_start
# No cleanup=1: the first instance to finish would delete the queue under
# the others' consumers; the test deletes it at the end.
CLEANUP_QUEUES+=("$Q")
cat >"$TMP/s.json" <<JSON
{ "name": "shards-rabbitmq",
  "target": "$AMQP_BASE/%2f?exchange=$EX&queue=$Q&exchange_type=direct",
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 400, "duration": "4s" },
  "verify": { "groups": 1, "consumers": 1, "prefetch": 20, "drain_timeout": "5s" },
  "thresholds": { "lost": ["count==0"] } }
JSON

# 1. Four instances, on time (the barrier holds each until all are subscribed).
shards_run 0 "$TMP/a" --start-in 3 4 "$TMP/s.json" --quiet
shards_exact "$TMP/a" 4 1600 "on time:"

# 2. Instance 3 starts 2 s after the common start instant, the others on time.
shards_run 0 "$TMP/b" --start-in 3 --late 3:2 4 "$TMP/s.json" --quiet
ge "late: shard 3 start_late_s" "$(jqv "$TMP/b/shard-3.json" .run.start_late_s)" 1.9
le "late: shard 3 start_late_s" "$(jqv "$TMP/b/shard-3.json" .run.start_late_s)" 10
ge "late: shard 3 caught up (sched_lag max ms)" "$(jqv "$TMP/b/shard-3.json" .latency.sched_lag.max)" 1900
for i in 0 1 2; do
  le "late: shard $i start_late_s" "$(jqv "$TMP/b/shard-$i.json" .run.start_late_s)" 0.5
done
shards_exact "$TMP/b" 4 1600 "late:"
done_ok
