#!/usr/bin/env bash
# The whole cluster goes away mid-run (the `evload kafka-mock` process is
# killed) and never comes back: evload must still end within a bound, write
# its results, count the unacknowledged events as failed, and say which
# address stopped answering — never hang (librdkafka retries silently, and
# its offset queries can outlive their timeout against a dead cluster).
# message.timeout.ms is lowered to 5 s to keep the test short; the default
# is 30 s (docs/kafka.md). The cluster is killed once the status line shows
# events delivered end to end (about 1 s in), and the report must show the
# kill inside the 5 s publishing window. The failures are accounted for
# exactly: each failed publish is an unconfirmed event in the ledger, nothing
# acked is called lost (the cluster can no longer be read: what it acked and
# evload did not see stays pending), and a threshold on publish errors fails
# the run (exit 1).
source "$(dirname "$0")/kafka_lib.bash" "$@"
topic=it-gone-$RANDOM$RANDOM
MOCK_PID=
on_exit kmock_stop
kmock_start --brokers 1 --partitions 2 --topic "$topic"

cat >"$TMP/s.json" <<JSON
{ "name": "kafka-gone", "target": "kafka://$servers/$topic",
  "publish": { "executor": "constant-arrival-rate", "rate": 200, "duration": "5s" },
  "verify": { "groups": 1, "drain_timeout": "3s" },
  "kafka": { "message.timeout.ms": 5000 },
  "thresholds": { "publish_errors": ["count==0"] } }
JSON
start=$SECONDS
# A librdkafka handle stuck on the dead cluster is abandoned at exit by
# design (teardown does not wait for it): not a leak worth reporting here.
ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 run_bg 150 run "$TMP/s.json" --json "$TMP/r.json"
await_status recv 1 60
# SIGKILL: the cluster vanishes at once, as in a crash (a SIGTERM'd
# kafka-mock tears its cluster down, which once never finished in CI and
# hung the test for its whole 900 s).
kmock_stop KILL
t_kill=$(since_start)
wait_bg 1
took=$((SECONDS - start))
le "ended within a bound (s)" "$took" 120
f=$TMP/r.json
planned "$f" "cluster gone" 1000
during_publish "cluster killed" "$f" "$t_kill"
nonzero "acked before the kill" "$(jqv "$f" .publish.acked)"
nonzero "failed (never acknowledged)" "$(jqv "$f" .publish.failed)"
eq "every outcome counted" "$(jqv "$f" 'sum(.publish.acked, .publish.failed)')" 1000
eq "each failed publish is an unconfirmed event" "$(jqv "$f" .deliver.unconfirmed)" "$(jqv "$f" .publish.failed)"
eq "nothing acked called lost" "$(jqv "$f" .deliver.lost)" 0
eq "every acked event delivered or pending" \
  "$(jqv "$f" 'sum(.deliver.delivered, .deliver.late, .deliver.pending)')" "$(jqv "$f" .publish.acked)"
eq "the verdict" "$(jqv "$f" .verdict)" fail
eq "publish_errors count==0 failed on the failures" \
  "$(jqv "$f" '.thresholds[] | select(.metric == "publish_errors") | "\(.pass) \(.value)"')" "false $(jqv "$f" .publish.failed)"
eq "watermarks marked stale" "$(jqv "$f" .broker.kafka.watermarks_stale)" true
is_null "appended unknown" "$(jqv_nullable "$f" .broker.kafka.appended)"
CHECKS=$((CHECKS+1))
grep -qF "${servers%%,*} stopped answering" "$TMP/err" || fail "stderr does not name the address: $(cat "$TMP/err")"
echo "cluster gone at ${t_kill}s: ended after $took s; $(jqv "$f" .publish.acked) acked, $(jqv "$f" .publish.failed) failed of 1000"
done_ok
