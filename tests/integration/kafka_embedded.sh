#!/usr/bin/env bash
# Kafka against an in-process librdkafka mock cluster (kafka://embedded/TOPIC):
# zero loss, order per partition, lag reported, in both CloudEvents modes, with
# several groups and members; and the target's usage errors.
source "$(dirname "$0")/kafka_lib.bash" "$@"
sfx=$RANDOM$RANDOM
# The first three runs (each its own in-process cluster and topic) and the
# unreachable one (10 s waiting for a broker) go at once, each with its own
# output (run_rc_in), and are checked afterwards. The retention run, whose
# expiry needs a publisher far faster than its consumer, goes alone after.
kscenario "$TMP/s.json" "kafka://embedded/it-emb-$sfx?brokers=3&partitions=4"
kscenario "$TMP/b.json" "kafka://embedded/it-emb-b-$sfx?brokers=1&partitions=2"
cat >"$TMP/q.json" <<JSON
{ "name": "kafka-it-burst", "target": "kafka://embedded/it-emb-q-$sfx?partitions=4",
  "publish": { "executor": "max-throughput", "count": 20000, "lanes": 4, "max_in_flight": 20000 },
  "verify": { "drain_timeout": "40s" }, "thresholds": { "lost": ["count==0"] } }
JSON
run_rc_in "$TMP/ra" 0 run "$TMP/s.json" --set verify.groups=2 --set verify.consumers=2 --json "$TMP/a.json" --quiet &
pids=($!)
run_rc_in "$TMP/rb" 0 run "$TMP/b.json" --set event.mode=binary --set verify.consumers=3 \
  --set kafka.linger.ms=10 --set kafka.compression.codec=lz4 --json "$TMP/b.out.json" --quiet &
pids+=($!)
run_rc_in "$TMP/rq" 0 run "$TMP/q.json" --set kafka.queue.buffering.max.messages=500 --json "$TMP/q.out.json" --quiet &
pids+=($!)
run_rc_in "$TMP/unreach" 3 run "$TMP/s.json" --target "kafka://127.0.0.1:1/it" &
pids+=($!)
wait_jobs "${pids[@]}"

# Structured mode, 2 groups x 2 members over 4 partitions.
kexact "$TMP/a.json" structured 1500
eq "groups named after the run" "$(jqv "$TMP/a.json" '.deliver.groups[1].name | test("^evload-[0-9a-f]+-g1$")')" true
eq "duplicated==0" "$(jqv "$TMP/a.json" .deliver.duplicated)" 0

# Binary mode (ce_ headers), more consumers than partitions (some idle).
kexact "$TMP/b.out.json" binary 1500
eq "binary duplicated==0" "$(jqv "$TMP/b.out.json" .deliver.duplicated)" 0
eq "binary partitions" "$(jqv "$TMP/b.out.json" .broker.kafka.partitions)" 2

# Max-throughput burst bigger than the local queue: QUEUE_FULL is waited out.
kexact "$TMP/q.out.json" queue-full 20000
eq "queue-full duplicated==0" "$(jqv "$TMP/q.out.json" .deliver.duplicated)" 0
nonzero "queue_full counted" "$(jqv "$TMP/q.out.json" .broker.kafka.queue_full)"

# Retention: a consumer 2 ms per event behind a 1-partition burst of 4 KiB
# events (~18 MB) while the mock keeps ~5 MiB per partition: the log drops
# what the group had not read yet. Every lost event is reported as expired.
cat >"$TMP/r.json" <<JSON
{ "name": "kafka-it-retention", "target": "kafka://embedded/it-emb-r-$sfx?brokers=1&partitions=1",
  "event": { "data_size": 4096 },
  "publish": { "executor": "max-throughput", "count": 4000, "lanes": 1, "max_in_flight": 4000 },
  "verify": { "work": { "min": "2ms", "max": "2ms" }, "drain_timeout": "40s" },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 1 run "$TMP/r.json" --set kafka.queued.max.messages.kbytes=64 \
  --set kafka.max.partition.fetch.bytes=65536 --json "$TMP/r.out.json" --quiet
f=$TMP/r.out.json
planned "$f" "retention" 4000
eq "retention: acked" "$(jqv "$f" .publish.acked)" 4000
nonzero "retention: expired" "$(jqv "$f" .broker.kafka.expired)"
eq "retention: lost==expired" "$(jqv "$f" .deliver.lost)" "$(jqv "$f" .broker.kafka.expired)"
eq "retention: delivered+lost==acked" "$(jqv "$f" 'sum(.deliver.delivered, .deliver.lost)')" 4000
eq "retention: duplicated==0" "$(jqv "$f" .deliver.duplicated)" 0
eq "retention: reordered==0" "$(jqv "$f" .deliver.reordered)" 0
grep -q 'expired from' "$TMP/err" || fail "no expiry note on stderr: $(cat "$TMP/err")"

# Usage errors: exit 2 with the nearest name; an unreachable cluster: exit 3.
run_rc 2 run "$TMP/s.json" --target "kafka://embedded/t?partitons=3"
grep -q 'did you mean "partitions"' "$TMP/err" || fail "no suggestion: $(cat "$TMP/err")"
run_rc 2 run "$TMP/s.json" --set kafka.lingerr.ms=5
grep -q 'lingerr.ms' "$TMP/err" || fail "property not named: $(cat "$TMP/err")"
run_rc 2 run "$TMP/s.json" --target "kafka://embedded/bad:topic"
# (the unreachable cluster's run went with the first three)
grep -q '127.0.0.1:1' "$TMP/unreach/err" || fail "address not named: $(cat "$TMP/unreach/err")"
done_ok
