#!/usr/bin/env bash
# The whole cluster goes away mid-run (the `evload kafka-mock` process is
# killed) and never comes back: evload must still end within a bound, write
# its results, count the unacknowledged events as failed, and say which
# address stopped answering — never hang (librdkafka retries silently, and
# its offset queries can outlive their timeout against a dead cluster).
# message.timeout.ms is lowered to 5 s to keep the test short; the default
# is 30 s (docs/kafka.md).
source "$(dirname "$0")/kafka_lib.bash" "$@"
topic=it-gone-$RANDOM$RANDOM
MOCK_PID=
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
kmock_start --brokers 1 --partitions 2 --topic "$topic"

cat >"$TMP/s.json" <<JSON
{ "name": "kafka-gone", "target": "kafka://$servers/$topic",
  "publish": { "executor": "constant-arrival-rate", "rate": 200, "duration": "10s" },
  "verify": { "groups": 1, "drain_timeout": "3s" },
  "kafka": { "message.timeout.ms": 5000 } }
JSON
# Killed about 4 s into publishing (setup, with the first group join, takes ~5 s).
( sleep 9; kill "$MOCK_PID" ) &
killer=$!
start=$SECONDS
rc=0
# A librdkafka handle stuck on the dead cluster is abandoned at exit by
# design (teardown does not wait for it): not a leak worth reporting here.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
  timeout 150 "$EVLOAD" run "$TMP/s.json" --quiet --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" || rc=$?
took=$((SECONDS - start))
wait "$killer" 2>/dev/null || true
MOCK_PID=
CHECKS=$((CHECKS+1))
case $rc in 0|1|3) ;; *) cat "$TMP/err"; fail "evload exited $rc after $took s (124: it hung)";; esac
le "ended within a bound (s)" "$took" 120
[ -s "$TMP/r.json" ] || fail "no results written ($(cat "$TMP/err"))"
f=$TMP/r.json
att=$(jqv "$f" .publish.attempted)
nonzero "attempted" "$att"
nonzero "failed (never acknowledged)" "$(jqv "$f" .publish.failed)"
eq "every outcome counted" "$(jqv "$f" '.publish.acked + .publish.failed')" "$att"
eq "watermarks marked stale" "$(jqv "$f" .broker.kafka.watermarks_stale)" true
eq "appended unknown" "$(jqv "$f" .broker.kafka.appended)" null
CHECKS=$((CHECKS+1))
grep -q "${servers%%,*}" "$TMP/err" || fail "stderr does not name the address: $(cat "$TMP/err")"
echo "cluster gone: exit $rc after $took s; $(jqv "$f" .publish.acked) acked, $(jqv "$f" .publish.failed) failed of $att"
done_ok
