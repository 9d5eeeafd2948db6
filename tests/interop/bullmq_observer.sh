#!/usr/bin/env bash
# Interop (a): evload publishes, a real Node bullmq Worker (concurrency 4)
# processes, and evload's observer, reading only the events stream, reports
# every job completed and nothing lost. Also: a job removed behind
# everybody's back before the Node worker starts is reported lost, exactly.
source tests/interop/bullmq_lib.bash "$@"

node_bg "$TMP/node.log" worker "$Q" 4 5 3000 120000 "$TMP/node.json"
scenario "$TMP/o.json" \
  '{ "lanes": 2, "rate": 200, "duration": "3s", "max_in_flight": 200 }' \
  '{ "mode": "observer", "drain_timeout": "60s" }' \
  ', "thresholds": { "lost": ["count==0"] }'
run_rc 0 run "$TMP/o.json" --target "$TARGET" --json "$TMP/o.out.json"
kill -TERM "$NODE_PID" 2>/dev/null || true
wait "$NODE_PID" || fail "node worker failed: $(cat "$TMP/node.log")"
R=$TMP/o.out.json
A=600
planned "$R" observer "$A"
eq "acked" "$(jqv "$R" .publish.acked)" "$A"
eq "delivered (completed by Node)" "$(jqv "$R" .deliver.delivered)" "$A"
eq "lost" "$(jqv "$R" .deliver.lost)" 0
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "corrupted" "$(jqv "$R" .deliver.corrupted)" 0
eq "e2e (add -> completed) never negative" "$(jqv "$R" .latency.e2e.out_of_range)" 0
eq "e2e measured for every job" "$(jqv "$R" .latency.e2e.count)" "$A"
eq "observer completed events" "$(jqv "$R" .broker.bullmq.observer.completed)" "$A"
eq "observer failed events" "$(jqv "$R" .broker.bullmq.observer.failed)" 0
eq "queue_wait measured" "$(jqv "$R" '.broker.bullmq.queue_wait | sum(.count, .out_of_range)')" "$A"
eq "processing measured" "$(jqv "$R" .broker.bullmq.processing.count)" "$A"
ge "processing p50 >= the 5 ms of work" "$(jqv "$R" .broker.bullmq.processing.p50)" 4
eq "Node processed" "$(jqv "$TMP/node.json" .distinct)" "$A"
eq "Node processed twice" "$(jqv "$TMP/node.json" .twice)" 0

# Deliberate loss seen by the observer: jobs are added while no worker runs;
# N are removed; then the Node worker starts and processes the rest.
N=5
rq DEL "bull:$Q:events" >/dev/null
scenario "$TMP/l.json" \
  '{ "executor": "max-throughput", "count": 200, "max_in_flight": 100 }' \
  '{ "mode": "observer", "drain_timeout": "90s" }'
(
  wait_for "jobs waiting" 200 30 rq LLEN "bull:$Q:wait"
  remove_waiting 50 "$N" >"$TMP/removed"
  node_helper worker "$Q" 4 0 2000 60000 "$TMP/node2.json"
) >"$TMP/saboteur.log" 2>&1 &
SAB=$!
BG_PIDS+=("$SAB")
run_rc 0 run "$TMP/l.json" --target "$TARGET" --json "$TMP/l.out.json"
wait "$SAB" || fail "saboteur/worker failed: $(cat "$TMP/saboteur.log")"
R=$TMP/l.out.json
eq "loss: saboteur removed" "$(cat "$TMP/removed")" "$N"
planned "$R" loss 200
eq "loss: lost == removed" "$(jqv "$R" .deliver.lost)" "$N"
eq "loss: delivered" "$(jqv "$R" .deliver.delivered)" $((200 - N))
eq "loss: Node processed" "$(jqv "$TMP/node2.json" .distinct)" $((200 - N))
done_ok
