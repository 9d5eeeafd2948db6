#!/usr/bin/env bash
# BullMQ across a Redis restart: a private redis-server (its own port, so the
# shared one on 6379 is never restarted: redis_private.bash) with appendonly
# yes and appendfsync always. (1) Mid-run, while jobs are added and processed (200/s, 10 s, 4
# consumers), `redis-cli shutdown nosave` (the AOF, fsynced at every write,
# keeps everything; nosave skips only the RDB snapshot) and the server is
# started again ~2 s later: the run completes with exit 0, nothing is lost
# (no job the server kept is reported lost, none is left in Redis), every add
# is accounted (acked, or failed when its reply was lost with the connection:
# then delivered as recovered or never added: unconfirmed), duplicates are
# only flagged redeliveries, and the publishers, workers and keeper count
# their reconnects. Alongside it, on the same queue, a second evload in
# observer mode (50/s for 8 s; the first one's workers process its jobs):
# its adds and its reader of the events stream survive the restart too, with
# the same accounting. (2) Redis stays down beyond a short reconnect_timeout:
# the run ends early with exit 3, and its summary and results say
# INCOMPLETE, never pass.
source "$(dirname "$0")/../e2e/lib.bash"
source "$(dirname "$0")/redis_private.bash"

Q="evt-restart-$$-$RANDOM"
cat >"$TMP/r.json" <<JSON
{ "name": "bullmq-restart", "target": "bullmq://127.0.0.1:$PORT?queue=$Q&stalled_interval=1s",
  "event": { "type": "dev.evload.bullmq", "data_size": 200 },
  "publish": { "lanes": 2, "rate": 200, "duration": "10s", "max_in_flight": 2000 },
  "verify": { "consumers": 4, "work": { "min": "1ms", "max": "3ms" }, "drain_timeout": "20s" },
  "thresholds": { "lost": ["count==0"] } }
JSON

# (1) Restart mid-run.
R=$TMP/r.out.json O=$TMP/o.out.json
run_bg 90 run "$TMP/r.json" --json "$R"
timeout 90 "$EVLOAD" run "$TMP/r.json" --set verify.mode=observer --set verify.consumers=1 \
  --set publish.lanes=1 --set publish.rate=50 --set publish.duration=8s --quiet \
  --json "$O" >"$TMP/o.out" 2>"$TMP/o.err" &
OBS_PID=$!
on_exit 'kill $OBS_PID 2>/dev/null'
await_status recv 300 30
t_down=$(since_start)
redis_restart 2
t_up=$(since_start)
wait_bg 0
rc=0
wait "$OBS_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$TMP/o.out"; tail -n 20 "$TMP/o.err"; }
expect_rc "the observer run" "$rc" 0
no_sanitizer_report "the observer run" "$TMP/o.err"
echo "redis shut down at ${t_down}s, up again at ${t_up}s"
planned "$R" restart 2000
during_publish "restart" "$R" "$t_down" "$t_up"
eq "verdict" "$(jqv "$R" .verdict)" pass
eq "run completed" "$(jqv "$R" .run.completed)" true
eq "lost" "$(jqv "$R" .deliver.lost)" 0
eq "pending" "$(jqv "$R" .deliver.pending)" 0
eq "late" "$(jqv "$R" .deliver.late)" 0
eq "corrupted" "$(jqv "$R" .deliver.corrupted)" 0
# The observer's jobs, processed by these workers, are foreign here: each once.
eq "foreign == the observer run's jobs" "$(jqv "$R" .deliver.foreign)" \
   "$(jqv "$O" 'sum(.deliver.delivered, .deliver.recovered)')"
eq "drain complete" "$(jqv "$R" .deliver.drain_timed_out)" false
B=.broker.bullmq
# Every event: delivered, or its add's reply was lost (failed: recovered when
# Redis had run it, unconfirmed when not).
eq "classes add up" "$(jqv "$R" 'sum(.deliver.delivered, .deliver.recovered, .deliver.unconfirmed)')" 2000
eq "outcomes add up" "$(jqv "$R" 'sum(.publish.acked, .publish.failed)')" 2000
eq "failed == unanswered adds" "$(jqv "$R" .publish.failed)" "$(jqv "$R" $B.publisher.unanswered)"
eq "failed == recovered + unconfirmed" "$(jqv "$R" .publish.failed)" \
   "$(jqv "$R" 'sum(.deliver.recovered, .deliver.unconfirmed)')"
eq "add errors" "$(jqv "$R" $B.publisher.errors)" 0
eq "every duplicate is a redelivery" "$(jqv "$R" .deliver.duplicated)" "$(jqv "$R" .deliver.redelivered)"
# Reconnects: each of the 2 lanes, the 4 consumers and the keeper lost its
# connection with the server; each came back at least once.
eq "publisher reconnects (each lane once)" "$(jqv "$R" $B.publisher.reconnects)" 2
ge "worker reconnects" "$(jqv "$R" $B.worker.reconnects)" 4
ge "keeper reconnects" "$(jqv "$R" $B.worker.keeper_reconnects)" 1
gt "time down" "$(jqv "$R" $B.down_s)" 0
# Nothing the server kept is left behind or reported lost: Redis holds no
# waiting or active job, and every job it completed was delivered.
eq "final wait" "$(jqv "$R" $B.final_counts.wait)" 0
eq "final active" "$(jqv "$R" $B.final_counts.active)" 0
eq "final completed == delivered + recovered + foreign" "$(jqv "$R" $B.final_counts.completed)" \
   "$(jqv "$R" 'sum(.deliver.delivered, .deliver.recovered, .deliver.foreign)')"
echo "restart: acked $(jqv "$R" .publish.acked), failed $(jqv "$R" .publish.failed)" \
     "(recovered $(jqv "$R" .deliver.recovered), unconfirmed $(jqv "$R" .deliver.unconfirmed))," \
     "duplicated $(jqv "$R" .deliver.duplicated), reconnects pub $(jqv "$R" $B.publisher.reconnects)" \
     "worker $(jqv "$R" $B.worker.reconnects) keeper $(jqv "$R" $B.worker.keeper_reconnects)," \
     "finish retries $(jqv "$R" $B.worker.finish_retries), reclaimed $(jqv "$R" $B.worker.reclaimed)"

# The observer run: the same accounting, and its reader reconnected.
planned "$O" observer 400
eq "observer: verdict" "$(jqv "$O" .verdict)" pass
eq "observer: lost" "$(jqv "$O" .deliver.lost)" 0
eq "observer: pending" "$(jqv "$O" .deliver.pending)" 0
eq "observer: drain complete" "$(jqv "$O" .deliver.drain_timed_out)" false
eq "observer: classes add up" "$(jqv "$O" 'sum(.deliver.delivered, .deliver.recovered, .deliver.unconfirmed)')" 400
eq "observer: failed == unanswered adds" "$(jqv "$O" .publish.failed)" "$(jqv "$O" $B.publisher.unanswered)"
eq "observer: every duplicate is a redelivery" "$(jqv "$O" .deliver.duplicated)" "$(jqv "$O" .deliver.redelivered)"
eq "observer: publisher reconnects" "$(jqv "$O" $B.publisher.reconnects)" 1
ge "observer: reader reconnects" "$(jqv "$O" $B.observer.reconnects)" 1
eq "observer: job_missing" "$(jqv "$O" $B.observer.job_missing)" 0
echo "observer: acked $(jqv "$O" .publish.acked), failed $(jqv "$O" .publish.failed)," \
     "delivered $(jqv "$O" .deliver.delivered), reader reconnects $(jqv "$O" $B.observer.reconnects)"

# (2) Redis stays away beyond reconnect_timeout=1s: ended early, never a pass.
Q="evt-restart-gone-$$-$RANDOM"
G=$TMP/g.out.json
run_bg 60 run "$TMP/r.json" --target "bullmq://127.0.0.1:$PORT?queue=$Q&reconnect_timeout=1s" \
  --set publish.duration=6s --json "$G"
await_status recv 100 30
redis_stop
wait_bg 3
eq "gone: verdict" "$(jqv "$G" .verdict)" incomplete
eq "gone: run completed" "$(jqv "$G" .run.completed)" false
grep -q 'reconnect_timeout' <<<"$(jqv "$G" .run.end_reason)" ||
  fail "gone: end_reason does not name the reconnect_timeout: $(jqv "$G" .run.end_reason)"
grep -q '^verdict: INCOMPLETE ' "$TMP/out" || fail "gone: the summary's verdict is not INCOMPLETE: $(tail -n 5 "$TMP/out")"
lt "gone: attempted < planned" "$(jqv "$G" .publish.attempted)" 1200
done_ok
