#!/usr/bin/env bash
# Interop: a pipeline. evload publishes over HTTP into a
# relay (node:http, the npm cloudevents 10.0.0 SDK's emitter with the relay's
# own retries and backoff), which pushes every event into evload's sink with
# 10 % injected 429s and a 200–800 ms delay on every answer. A relay that
# honours Retry-After: lost 0, duplicated 0, rejected_attempts equal to the
# sink's injected count and to the relay's own count of non-2xx answers, e2e
# above the delay, the audit clean. A relay that ignores Retry-After: the
# same delivery, and the audit books every one of its 429 retries too early.
source tests/e2e/lib.bash "$@"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
[ -d tests/interop/node_modules/cloudevents ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
for policy in ${POLICIES:-honour ignore}; do
  rport=$((20000 + RANDOM % 20000))
  sport=$((rport + 1))
  node tests/interop/http_helper.js relay "$rport" "http://127.0.0.1:$sport/sink" $policy "$TMP/relay.json" 90 >"$TMP/node.out" 2>&1 &
  PID=$!
  for _ in $(seq 50); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
  grep -q listening "$TMP/node.out" || fail "the relay did not start: $(cat "$TMP/node.out")"
  cat >"$TMP/s.json" <<JSON
{ "name": "http-relay", "target": "http://127.0.0.1:$rport/ingress?connections=4",
  "event": { "type": "dev.evload.relay", "source": "/evload/relay", "data_size": 300, "mode": "binary" },
  "publish": { "lanes": 2, "rate": 100, "duration": "3s", "max_in_flight": 200 },
  "verify": { "source": "http-sink://127.0.0.1:$sport/sink?throttle=0.1&delay=200ms..800ms&seed=12",
              "drain_timeout": "20s" } }
JSON
  f=$TMP/$policy.json
  run_rc 0 run "$TMP/s.json" --json "$f" --quiet
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  [ -n "${KEEP:-}" ] && cp "$f" "$TMP/relay.json" "$KEEP/"
  r=$TMP/relay.json
  s='.broker["http_sink@source"]'
  att=$(jqv "$f" .publish.attempted)
  ctx="relay $policy"
  eq "$ctx attempted" "$att" 300
  eq "$ctx acked" "$(jqv "$f" .publish.acked)" "$att"
  eq "$ctx lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx pending" "$(jqv "$f" .deliver.pending)" 0
  eq "$ctx duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$ctx corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$ctx delivered" "$(jqv "$f" .deliver.delivered)" "$att"
  inj=$(jqv "$f" "$s.injected_total")
  nonzero "$ctx injected" "$inj"
  eq "$ctx only 429s injected" "$(jqv "$f" "$s.injected[\"429\"]")" "$inj"
  eq "$ctx rejected_attempts == injected" "$(jqv "$f" "$s.rejected_attempts")" "$inj"
  eq "$ctx relay saw each rejection" "$(jqv "$r" .non2xx)" "$inj"
  eq "$ctx relay errors" "$(jqv "$r" .errors)" 0
  eq "$ctx relay delivered" "$(jqv "$r" .delivered)" "$att"
  eq "$ctx sink requests" "$(jqv "$f" "$s.requests")" "$((att + inj))"
  eq "$ctx every request delayed" "$(jqv "$f" "$s.delayed")" "$((att + inj))"
  ge "$ctx e2e min (ms)" "$(jqv "$f" .latency.e2e.p50)" 200
  ge "$ctx delay min (ms)" "$(jqv "$f" "$s.delay_ms.min")" 199
  le "$ctx delay max (ms)" "$(jqv "$f" "$s.delay_ms.max")" 801
  eq "$ctx never retried" "$(jqv "$f" "$s.retry_audit.total.never_retried")" 0
  if [ $policy = honour ]; then
    eq "$ctx too early" "$(jqv "$f" "$s.retry_audit.total.too_early")" 0
    eq "$ctx honoured" "$(jqv "$f" "$s.retry_audit[\"429\"].honoured")" "$inj"
  else
    eq "$ctx too early: every 429 retry" "$(jqv "$f" "$s.retry_audit[\"429\"].too_early")" "$inj"
    eq "$ctx honoured" "$(jqv "$f" "$s.retry_audit.total.honoured")" 0
  fi
done

# Pending: the sink asks for 5 s, the drain ends after 1 s. The events whose
# retry horizon has not passed may still come: pending, not lost; the sink's
# open rejections are exactly the evidence.
if [ -z "${POLICIES:-}" ]; then
  rport=$((20000 + RANDOM % 20000))
  sport=$((rport + 1))
  node tests/interop/http_helper.js relay "$rport" "http://127.0.0.1:$sport/sink" honour "$TMP/relay.json" 60 >"$TMP/node.out" 2>&1 &
  PID=$!
  for _ in $(seq 50); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
  f=$TMP/pending.json
  run_rc 0 run "$TMP/s.json" --target "http://127.0.0.1:$rport/ingress?connections=4" \
    --set "verify.source=http-sink://127.0.0.1:$sport/sink?throttle=0.3&retry_after=5s&seed=4" \
    --set publish.duration=2s --set verify.drain_timeout=1s --json "$f" --quiet
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  s='.broker["http_sink@source"]'
  att=$(jqv "$f" .publish.attempted)
  open=$(jqv "$f" "$s.rejected_open_at_end")
  nonzero "pending: rejections still open" "$open"
  eq "pending == the open rejections" "$(jqv "$f" .deliver.pending)" "$open"
  eq "pending: lost" "$(jqv "$f" .deliver.lost)" 0
  eq "pending: delivered + pending" "$(jqv "$f" 'sum(.deliver.delivered, .deliver.pending)')" "$att"
  eq "pending: duplicated" "$(jqv "$f" .deliver.duplicated)" 0
fi
done_ok
