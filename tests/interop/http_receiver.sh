#!/usr/bin/env bash
# Interop: evload publishes over HTTP into a third-party
# CloudEvents receiver (node:http with the npm cloudevents 10.0.0 SDK, which
# parses and validates every request) that answers 429 with Retry-After: 1 to
# exactly N requests and 400 to exactly M others, and forwards what it
# accepts to evload's own sink, where evload verifies. In binary and in
# structured mode: throttled == N, unconfirmed == M, every other event
# received by the receiver exactly once (its own count) and verified, every
# 429 retried exactly once (requests == attempted + N), and the pause in
# sched_lag and paused_s.
source tests/e2e/lib.bash "$@"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
[ -d tests/interop/node_modules/cloudevents ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
port() { echo $((20000 + RANDOM % 20000)); }
N=3
M=4
for mode in binary structured; do
  rport=$(port)
  sport=$((rport + 1))
  node tests/interop/http_helper.js receiver "$rport" "http://127.0.0.1:$sport/in" $N $M "$TMP/recv.json" 60 >"$TMP/node.out" 2>&1 &
  PID=$!
  for _ in $(seq 50); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
  grep -q listening "$TMP/node.out" || fail "the receiver did not start: $(cat "$TMP/node.out")"
  cat >"$TMP/s.json" <<JSON
{ "name": "http-receiver", "target": "http://127.0.0.1:$rport/events?connections=4",
  "event": { "type": "dev.evload.interop", "source": "/evload/interop", "data_size": 300, "mode": "$mode" },
  "publish": { "lanes": 2, "rate": 150, "duration": "3s", "max_in_flight": 200 },
  "verify": { "source": "http-sink://127.0.0.1:$sport/in", "drain_timeout": "10s" } }
JSON
  f=$TMP/$mode.json
  run_rc 0 run "$TMP/s.json" --json "$f" --quiet
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  r=$TMP/recv.json
  att=$(jqv "$f" .publish.attempted)
  eq "$mode attempted" "$att" 450
  eq "$mode receiver: 429s given" "$(jqv "$r" .given429)" $N
  eq "$mode receiver: 400s given" "$(jqv "$r" .given400)" $M
  eq "$mode receiver: invalid" "$(jqv "$r" .invalid)" 0
  eq "$mode receiver: duplicates" "$(jqv "$r" .duplicates)" 0
  eq "$mode receiver: accepted once each" "$(jqv "$r" .accepted)" $((att - M))
  eq "$mode receiver: requests (each 429 retried once)" "$(jqv "$r" .requests)" $((att + N))
  eq "$mode throttled" "$(jqv "$f" .broker.http.throttled)" $N
  eq "$mode status 429" "$(jqv "$f" '.broker.http.status["429"]')" $N
  eq "$mode status 400" "$(jqv "$f" '.broker.http.status["400"]')" $M
  eq "$mode status 202" "$(jqv "$f" '.broker.http.status["202"]')" $((att - M))
  eq "$mode rejected" "$(jqv "$f" .broker.http.rejected)" $M
  eq "$mode retries" "$(jqv "$f" .broker.http.retries)" $N
  eq "$mode attempts: 2 for the throttled" "$(jqv "$f" '.broker.http.attempts.events["2"]')" $N
  eq "$mode publish failed" "$(jqv "$f" .publish.failed)" $M
  eq "$mode unconfirmed" "$(jqv "$f" .deliver.unconfirmed)" $M
  eq "$mode delivered" "$(jqv "$f" .deliver.delivered)" $((att - M))
  eq "$mode lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$mode duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$mode corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$mode recovered" "$(jqv "$f" .deliver.recovered)" 0
  # Each 429 paused the whole target for about a second: sends held back.
  ge "$mode paused_s" "$(jqv "$f" .broker.http.paused_s)" 0.9
  ge "$mode sched_lag max (ms)" "$(jqv "$f" .latency.sched_lag.max)" 900
done
done_ok
