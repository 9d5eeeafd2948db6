#!/usr/bin/env bash
# BullMQ against a real redis-server, evload on both sides (worker mode):
# every job added is processed exactly once and completed with BullMQ's
# state and events; the stalled-job check requeues an abandoned job; v5
# placement while paused; bad targets fail clearly (exit 2), an unreachable
# Redis with exit 3.
source tests/interop/bullmq_lib.bash "$@"

# An abandoned job: in active, no lock (a crashed worker's). The keeper's
# first stall check marks it, the next (1 s later) requeues it; with
# max_stalled_count=0 it carries a deferred failure, so the worker that takes
# it fails it (BullMQ's "job stalled more than allowable limit"). It is not an
# evload event of this run, so the ledger counts it foreign.
rq HSET "bull:$Q:abandoned-1" name x data '{"abandoned":true}' opts '{"attempts":0}' \
   timestamp "$(date +%s%3N)" delay 0 priority 0 >/dev/null
rq LPUSH "bull:$Q:active" abandoned-1 >/dev/null
T_START=$(date +%s%3N)

scenario "$TMP/w.json" \
  '{ "lanes": 2, "rate": 300, "duration": "3s", "max_in_flight": 200 }' \
  '{ "consumers": 4, "work": { "min": "1ms", "max": "3ms" }, "drain_timeout": "30s" }' \
  ', "thresholds": { "lost": ["count==0"], "duplicated": ["count==0"] }'
run_rc 0 run "$TMP/w.json" --target "$TARGET&stalled_interval=1s&max_stalled_count=0" --json "$TMP/w.out.json"
R=$TMP/w.out.json
A=900
planned "$R" worker "$A"
eq "acked" "$(jqv "$R" .publish.acked)" "$A"
eq "delivered" "$(jqv "$R" .deliver.delivered)" "$A"
eq "lost" "$(jqv "$R" .deliver.lost)" 0
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "reordered" "$(jqv "$R" .deliver.reordered)" 0
eq "foreign (the requeued abandoned job)" "$(jqv "$R" .deliver.foreign)" 1
eq "group name" "$(jqv "$R" '.deliver.groups[0].name')" "$Q"
eq "drain complete" "$(jqv "$R" .deliver.drain_timed_out)" false
B=.broker.bullmq
eq "added" "$(jqv "$R" $B.publisher.added)" "$A"
eq "worker completed" "$(jqv "$R" $B.worker.completed)" "$A"
eq "worker failed (deferred)" "$(jqv "$R" $B.worker.failed_deferred)" 1
eq "stalled requeued" "$(jqv "$R" $B.worker.stalled_requeued)" 1
eq "finish lock lost" "$(jqv "$R" $B.worker.finish_lock_lost)" 0
eq "final completed" "$(jqv "$R" $B.final_counts.completed)" "$A"
eq "final failed" "$(jqv "$R" $B.final_counts.failed)" 1
eq "failed job reason" "$(rq HGET "bull:$Q:abandoned-1" failedReason)" "job stalled more than allowable limit"
eq "failed job defa cleared" "$(rq HEXISTS "bull:$Q:abandoned-1" defa)" 0
eq "failed job stalled counter" "$(rq HGET "bull:$Q:abandoned-1" stc)" 1
eq "final wait" "$(jqv "$R" $B.final_counts.wait)" 0
eq "final active" "$(jqv "$R" $B.final_counts.active)" 0
eq "id counter" "$(jqv "$R" $B.final_counts.id)" "$A"
eq "queue_wait count" "$(jqv "$R" $B.queue_wait.count)" "$((A + 1))"
nonzero "timeseries has broker depth" "$(jqv "$R" '[.timeseries[] | select(.broker.completed != null)] | length')"

# BullMQ's state, read back from Redis.
J=$(rq ZRANGE "bull:$Q:completed" -1 -1)
eq "job hash name" "$(rq HGET "bull:$Q:$J" name)" dev.evload.bullmq
eq "job hash opts" "$(rq HGET "bull:$Q:$J" opts)" '{"attempts":0}'
eq "job hash delay" "$(rq HGET "bull:$Q:$J" delay)" 0
eq "job hash priority" "$(rq HGET "bull:$Q:$J" priority)" 0
is_null "job hash returnvalue" "$(rq HGET "bull:$Q:$J" returnvalue)"
eq "job hash ats" "$(rq HGET "bull:$Q:$J" ats)" 1
eq "job hash atm" "$(rq HGET "bull:$Q:$J" atm)" 1
ge "job hash finishedOn (ms, this run)" "$(rq HGET "bull:$Q:$J" finishedOn)" "$T_START"
eq "job lock released" "$(rq EXISTS "bull:$Q:$J:lock")" 0
rq HGET "bull:$Q:$J" data | jq -e .specversion >/dev/null || fail "job data is not a CloudEvent"
eq "job id is the CloudEvent id" "$(rq HGET "bull:$Q:$J" data | jq -r .id)" "$J"
eq "meta maxLenEvents" "$(rq HGET "bull:$Q:meta" opts.maxLenEvents)" 10000
count_events() {
  rq EVAL "local n=0 for _,e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do if e[2][2]==ARGV[1] then n=n+1 end end return n" \
     1 "bull:$Q:events" "$1"
}
eq "added events" "$(count_events added)" "$A"
eq "waiting events" "$(count_events waiting)" "$((A + 1))"
eq "active events" "$(count_events active)" "$((A + 1))"
eq "completed events" "$(count_events completed)" "$A"
eq "failed events" "$(count_events failed)" 1
eq "retries-exhausted events" "$(count_events retries-exhausted)" 1
eq "stalled events" "$(count_events stalled)" 1

# Lock renewal: work (1.5 s) outlasts the lock (1 s); the keeper renews it
# every 0.5 s, so the stall check (every 1 s) never takes a job away.
scenario "$TMP/lk.json" '{ "executor": "max-throughput", "count": 6, "max_in_flight": 6 }' \
  '{ "consumers": 2, "work": "1500ms", "drain_timeout": "60s" }'
run_rc 0 run "$TMP/lk.json" --target "$TARGET&lock_duration=1s&stalled_interval=1s" --json "$TMP/lk.out.json"
R=$TMP/lk.out.json
planned "$R" "long work" 6
eq "long work: delivered" "$(jqv "$R" .deliver.delivered)" 6
eq "long work: duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "long work: completed" "$(jqv "$R" .broker.bullmq.worker.completed)" 6
eq "long work: lock lost at finish" "$(jqv "$R" .broker.bullmq.worker.finish_lock_lost)" 0
eq "long work: stalled requeued" "$(jqv "$R" .broker.bullmq.worker.stalled_requeued)" 0
eq "long work: locks lost at renewal" "$(jqv "$R" .broker.bullmq.worker.locks_lost)" 0
ge "long work: lock renewals" "$(jqv "$R" .broker.bullmq.worker.lock_renewals)" 6

# bullmq_version=5 while the queue is paused: jobs go to the paused list
# (a v5 resume RENAMEs it over wait); the observer sees nothing complete, and
# the queue's depth says they are all still there.
rq DEL "bull:$Q:events" "bull:$Q:marker" >/dev/null
rq HSET "bull:$Q:meta" paused 1 >/dev/null
scenario "$TMP/v5.json" '{ "rate": 100, "duration": "1s" }' '{ "mode": "observer", "drain_timeout": "1s" }'
run_rc 0 run "$TMP/v5.json" --target "$TARGET&bullmq_version=5" --json "$TMP/v5.out.json"
P=100
planned "$TMP/v5.out.json" v5 "$P"
eq "v5 acked" "$(jqv "$TMP/v5.out.json" .publish.acked)" "$P"
eq "v5: paused list" "$(rq LLEN "bull:$Q:paused")" "$P"
eq "v5: wait untouched" "$(rq LLEN "bull:$Q:wait")" 0
eq "v5: no marker while paused" "$(rq ZCARD "bull:$Q:marker")" 0
# Nobody processes them, but they are still in the queue: pending, not lost.
eq "v5: pending (nobody processes)" "$(jqv "$TMP/v5.out.json" .deliver.pending)" "$P"
eq "v5: nothing lost" "$(jqv "$TMP/v5.out.json" .deliver.lost)" 0
eq "v5: sample has paused" "$(jqv "$TMP/v5.out.json" '.backpressure.broker.paused')" "$P"

# Errors: clear message, right exit code, no hang.
scenario "$TMP/e.json" '{ "rate": 10, "duration": "1s" }' '{ }'
run_rc 2 run "$TMP/e.json" --target "$TARGET&queu=x"
grep -q 'did you mean "queue"' "$TMP/err" || fail "no nearest-name hint: $(cat "$TMP/err")"
run_rc 2 run "$TMP/e.json" --target "bullmq://127.0.0.1:$REDIS_PORT"
grep -q 'no queue' "$TMP/err" || fail "missing queue not explained: $(cat "$TMP/err")"
run_rc 2 run "$TMP/e.json" --target "$TARGET" --set event.mode=binary
grep -q 'structured' "$TMP/err" || fail "binary mode not explained: $(cat "$TMP/err")"
run_rc 2 run "$TMP/e.json" --target "$TARGET" --set verify.mode=observer --set verify.consumers=2
run_rc 2 run "$TMP/e.json" --target "$TARGET" --set verify.mode=watcher
run_rc 2 run "$TMP/e.json" --target "$TARGET&bullmq_version=4"
run_rc 3 run "$TMP/e.json" --target "bullmq://127.0.0.1:1?queue=$Q"
grep -q 'cannot connect' "$TMP/err" || fail "unreachable Redis not explained: $(cat "$TMP/err")"
run_rc 3 run "$TMP/e.json" --target "bullmq://user:s3cret@127.0.0.1:1?queue=$Q"
grep -q 's3cret' "$TMP/err" "$TMP/out" && fail "password printed"
done_ok
