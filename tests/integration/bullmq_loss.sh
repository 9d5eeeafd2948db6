#!/usr/bin/env bash
# Deliberate loss: while the queue is paused (meta paused, which evload's
# workers honour as Node workers do), N waiting jobs are removed behind
# evload's back; after the resume evload must report exactly N lost, and
# every other job delivered once.
source tests/interop/bullmq_lib.bash "$@"
N=7

rq HSET "bull:$Q:meta" paused 1 >/dev/null
scenario "$TMP/l.json" \
  '{ "lanes": 2, "executor": "max-throughput", "count": 300, "max_in_flight": 100 }' \
  '{ "consumers": 4, "drain_timeout": "60s" }'

# The saboteur: once all 300 jobs wait, remove N of them, then resume. The
# queue stays paused until then, so the run cannot end before the fault.
(
  wait_for "jobs waiting" 300 30 rq LLEN "bull:$Q:wait"
  remove_waiting 100 "$N" >"$TMP/removed"
  rq HDEL "bull:$Q:meta" paused >/dev/null
  rq ZADD "bull:$Q:marker" 0 0 >/dev/null
) >"$TMP/saboteur.log" 2>&1 &
SAB=$!
BG_PIDS+=("$SAB")

run_rc 0 run "$TMP/l.json" --target "$TARGET" --json "$TMP/l.out.json"
wait "$SAB" || fail "saboteur failed: $(cat "$TMP/saboteur.log")"
R=$TMP/l.out.json
eq "saboteur removed" "$(cat "$TMP/removed")" "$N"
planned "$R" loss 300
eq "acked" "$(jqv "$R" .publish.acked)" 300
eq "lost == removed" "$(jqv "$R" .deliver.lost)" "$N"
eq "delivered" "$(jqv "$R" .deliver.delivered)" $((300 - N))
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "foreign" "$(jqv "$R" .deliver.foreign)" 0
eq "completed in Redis" "$(jqv "$R" .broker.bullmq.final_counts.completed)" $((300 - N))
eq "drain did not time out" "$(jqv "$R" .deliver.drain_timed_out)" false
done_ok
