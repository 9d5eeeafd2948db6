#!/usr/bin/env bash
# One run split over 4 local evload instances (scripts/shards) against an
# `evload kafka-mock` cluster, one consumer group spread over the instances
# (one partition each): together they publish exactly the plan's events, the
# merge finds every one delivered once, nothing lost or pending, and latency
# percentiles equal to those of the union of the shards' histograms.
source "$(dirname "$0")/kafka_lib.bash" "$@"
source "$(dirname "$0")/shards_lib.bash"
MOCK_PID=
on_exit kmock_stop
topic=it-shards-$RANDOM$RANDOM
kmock_start --brokers 3 --partitions 4 --topic "$topic"
cat >"$TMP/s.json" <<JSON
{ "name": "shards-kafka",
  "target": "kafka://$servers/$topic",
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 400, "duration": "4s" },
  "verify": { "groups": 1, "consumers": 1, "drain_timeout": "5s" },
  "thresholds": { "lost": ["count==0"], "reordered": ["count==0"] } }
JSON
# The group settles across four processes before the start (the barrier).
shards_run 0 "$TMP/a" --start-in 10 4 "$TMP/s.json" --quiet
shards_exact "$TMP/a" 4 1600 "kafka:"
eq "kafka: merged reordered" "$(jqv "$TMP/a/merged.json" .deliver.reordered)" 0
for i in 0 1 2 3; do
  eq "kafka: shard $i group" "$(jqv "$TMP/a/shard-$i.json" '.deliver.groups[0].name')" \
     "$(jqv "$TMP/a/shard-0.json" '.deliver.groups[0].name')"
done
done_ok
