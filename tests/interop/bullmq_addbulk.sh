#!/usr/bin/env bash
# Interop (b): Node Queue.addBulk adds jobs (CloudEvents made by the
# cloudevents package, not from this run), evload's worker processes them
# together with its own, and Node QueueEvents sees every one `completed`,
# with a return value it can parse.
source tests/interop/bullmq_lib.bash "$@"
N=300

node_bg "$TMP/node.log" addbulk "$Q" "$N" "$TMP/ready" "$TMP/node.json" 60000 "$TMP/stop"
wait_for "Node addBulk" added 30 cat "$TMP/ready"
eq "Node jobs waiting" "$(rq LLEN "bull:$Q:wait")" "$N"

scenario "$TMP/b.json" \
  '{ "lanes": 1, "rate": 100, "duration": "2s" }' \
  '{ "consumers": 4, "drain_timeout": "60s" }' \
  ', "thresholds": { "lost": ["count==0"] }'
run_rc 0 run "$TMP/b.json" --target "$TARGET" --json "$TMP/b.out.json"
touch "$TMP/stop"
wait "$NODE_PID" || fail "Node addbulk/QueueEvents failed: $(cat "$TMP/node.log")"
R=$TMP/b.out.json
A=200
planned "$R" addbulk "$A"
eq "acked" "$(jqv "$R" .publish.acked)" "$A"
eq "own jobs delivered" "$(jqv "$R" .deliver.delivered)" "$A"
eq "lost" "$(jqv "$R" .deliver.lost)" 0
eq "Node's jobs processed by evload (foreign)" "$(jqv "$R" .deliver.foreign)" "$N"
eq "evload worker completed" "$(jqv "$R" .broker.bullmq.worker.completed)" $((A + N))
eq "Node added" "$(jqv "$TMP/node.json" .added)" "$N"
eq "QueueEvents saw every Node job completed" "$(jqv "$TMP/node.json" .completed_own)" "$N"
eq "QueueEvents completed events" "$(jqv "$TMP/node.json" .completed_events)" $((A + N))
eq "QueueEvents parsed the return values" "$(jqv "$TMP/node.json" .returnvalues_ok)" true
# BullMQ's view of one of Node's jobs, finished by evload.
nonzero "Node job 1 finishedOn" "$(rq HGET "bull:$Q:1" finishedOn)"
is_null "Node job 1 returnvalue" "$(rq HGET "bull:$Q:1" returnvalue)"
eq "Node job 1 attemptsMade" "$(rq HGET "bull:$Q:1" atm)" 1
done_ok
