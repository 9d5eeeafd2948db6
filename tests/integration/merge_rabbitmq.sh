#!/usr/bin/env bash
# Several evload instances, one run (--instance I/N, one run_id: the schedule
# split between them by lane), competing
# consumers of one RabbitMQ queue spread over the instances; a third-party
# client (npm amqplib) takes exactly N messages off the queue behind their
# backs. No instance alone can tell loss from an event another instance
# consumed (each reports what it misses as pending); `evload merge` unions
# their ledgers and reports exactly N lost, totals equal to the sum, latency
# equal to the union's, and exits 1 on the lost threshold. Missing and
# duplicated shards are refused.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
N=13
cat >"$TMP/m.json" <<'JSON'
{ "name": "merge-rabbitmq",
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 300, "duration": "5s" },
  "verify": { "groups": 1, "consumers": 1, "prefetch": 1,
              "work": { "min": "15ms", "max": "15ms" }, "drain_timeout": "40s" },
  "thresholds": { "lost": ["count==0"] } }
JSON
# No cleanup=1: the first instance to finish would delete the queue under the
# others' consumers; the test deletes it at the end.
T="$AMQP_BASE/%2f?exchange=$EX&queue=$Q&exchange_type=direct"
CLEANUP_QUEUES+=("$Q")
pids=()
for i in 0 1 2; do
  timeout 120 "$EVLOAD" run "$TMP/m.json" --target "$T" --set run_id="m$SUFFIX" --instance "$i/3" \
    --json "$TMP/s$i.json" --quiet >"$TMP/out$i" 2>"$TMP/err$i" &
  pids+=($!)
done
# Take from the backlog once all three publish (the queue exists once one set it up).
sleep 2
node_helper take "$AMQP_BASE/%2f" "$Q" "$N" 60 >"$TMP/take.json" || fail "the thief failed"
for p in "${pids[@]}"; do wait "$p" || true; done
eq "thief took" "$(jq -r .taken "$TMP/take.json")" "$N"
sum_att=0
for i in 0 1 2; do
  f="$TMP/s$i.json"
  eq "instance $i: attempted == its share" "$(jqv "$f" .publish.attempted)" "$(jqv "$f" .publish.expected)"
  eq "instance $i: instance" "$(jqv "$f" .run.instance)" "$i"
  eq "instance $i: lost (cannot know)" "$(jqv "$f" .deliver.lost)" 0
  eq "instance $i: completed" "$(jqv "$f" .run.completed)" true
  sum_att=$((sum_att + $(jqv "$f" .publish.attempted)))
done
rc=0
"$EVLOAD" merge "$TMP/s0.json" "$TMP/s1.json" "$TMP/s2.json" -o "$TMP/merged.json" >"$TMP/mout" 2>&1 || rc=$?
CHECKS=$((CHECKS+1))
[ "$rc" = 1 ] || { cat "$TMP/mout"; fail "merge exited $rc, expected 1 (lost threshold)"; }
M="$TMP/merged.json"
eq "merged attempted == sum" "$(jqv "$M" .publish.attempted)" "$sum_att"
# The instances split the schedule by lane: together, exactly the plan's events.
eq "merged attempted == the plan's" "$sum_att" 1500
eq "merged lost == taken" "$(jqv "$M" .deliver.lost)" "$N"
eq "merged pending" "$(jqv "$M" .deliver.pending)" 0
eq "merged delivered" "$(jqv "$M" .deliver.delivered)" "$((sum_att - N))"
eq "merged duplicated" "$(jqv "$M" .deliver.duplicated)" 0
eq "merged foreign" "$(jqv "$M" .deliver.foreign)" 0
eq "merged verdict" "$(jqv "$M" .verdict)" fail
eq "merged from" "$(jqv "$M" .run.merged_from)" 3
CHECKS=$((CHECKS+1))
grep -q "^merged   the results of 3 instances" "$TMP/mout" || fail "merge summary: $(cat "$TMP/mout")"
grep -q "^instance " "$TMP/mout" && fail "the merged summary reads as one instance's"
eq "shards reported" "$(jqv "$M" '.shards|length')" 3
# Received adds up, and the merged e2e histogram is the union of the shards'.
eq "received == sum" "$(jqv "$M" .deliver.received)" "$(jq -s 'map(.deliver.received)|add' "$TMP"/s?.json)"
eq "e2e count == sum" "$(jqv "$M" .latency.e2e.count)" "$(jq -s 'map(.latency.e2e.count)|add' "$TMP"/s?.json)"
eq "e2e max == max" "$(jqv "$M" .latency.e2e.max)" "$(jq -s 'map(.latency.e2e.max)|max' "$TMP"/s?.json)"
grep -q '✗ lost' "$TMP/mout" || fail "merged summary does not show the failed lost threshold"
# A missing or a duplicated shard is refused (exit 2).
rc=0; "$EVLOAD" merge "$TMP/s0.json" "$TMP/s1.json" -q >/dev/null 2>"$TMP/e" || rc=$?
eq "missing shard refused" "$rc" 2
grep -q "instances" "$TMP/e" || fail "missing shard: $(cat "$TMP/e")"
rc=0; "$EVLOAD" merge "$TMP/s0.json" "$TMP/s1.json" "$TMP/s1.json" -q >/dev/null 2>"$TMP/e" || rc=$?
eq "duplicated shard refused" "$rc" 2
grep -q "given twice" "$TMP/e" || fail "duplicated shard: $(cat "$TMP/e")"
done_ok
