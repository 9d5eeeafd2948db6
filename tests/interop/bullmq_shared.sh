#!/usr/bin/env bash
# Interop (c): an evload worker (concurrency 2) and a Node bullmq Worker
# (concurrency 4) share one queue. No job is processed twice, none is lost:
# evload's deliveries + Node's = every job, each job started once.
source tests/interop/bullmq_lib.bash "$@"

node_bg "$TMP/node.log" worker "$Q" 4 2 4000 120000 "$TMP/node.json"
scenario "$TMP/s.json" \
  '{ "lanes": 2, "rate": 300, "duration": "3s", "max_in_flight": 200 }' \
  '{ "consumers": 2, "work": "2ms", "drain_timeout": "60s" }'
run_rc 0 run "$TMP/s.json" --target "$TARGET" --json "$TMP/s.out.json"
kill -TERM "$NODE_PID" 2>/dev/null || true
wait "$NODE_PID" || fail "node worker failed: $(cat "$TMP/node.log")"
R=$TMP/s.out.json
A=900
planned "$R" shared "$A"
eq "acked" "$(jqv "$R" .publish.acked)" "$A"
D=$(jqv "$R" .deliver.delivered)
P=$(jqv "$TMP/node.json" .distinct)
nonzero "evload processed some" "$D"
nonzero "Node processed some" "$P"
eq "evload + Node == every job" "$((D + P))" "$A"
eq "evload's lost are exactly Node's" "$(jqv "$R" .deliver.lost)" "$P"
eq "evload duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "Node processed twice" "$(jqv "$TMP/node.json" .twice)" 0
eq "evload lock conflicts" "$(jqv "$R" .broker.bullmq.worker.finish_lock_lost)" 0
eq "completed in Redis" "$(rq ZCARD "bull:$Q:completed")" "$A"
eq "jobs started more than once" "$(rq EVAL "local n=0 for _,j in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do if redis.call('HGET', ARGV[1]..j, 'ats') ~= '1' then n=n+1 end end return n" 1 "bull:$Q:completed" "bull:$Q:")" 0
done_ok
