#!/usr/bin/env bash
# evload's HTTP publisher against evload's own HTTP sink over real sockets:
# binary, structured and batched mode deliver everything once;
# every fault knob of the sink (429, 503, 500, reset, 400, with seeds) is
# answered by the publisher's status rules, and the two sides' counts agree
# exactly: what the sink answered is what the publisher counted, rejected
# attempts are never duplicates, 400 is final (unconfirmed), the attempt cap
# and the retry deadline end an event as failed, and the retry audit books
# evload's own retries as honoured.
source "$(dirname "$0")/../e2e/lib.bash"
P=$((20000 + RANDOM % 20000))
sink() { echo "http-sink://127.0.0.1:$P/ev${1:+?$1}"; }
cat >"$TMP/s.json" <<JSON
{ "name": "http-sink-it", "target": "http://127.0.0.1:$P/ev?connections=8",
  "event": { "type": "dev.evload.http", "source": "/evload/http", "data_size": 256, "mode": "binary" },
  "publish": { "lanes": 2, "rate": 400, "duration": "2s", "max_in_flight": 400 },
  "verify": { "source": "$(sink)", "drain_timeout": "15s" },
  "thresholds": {} }
JSON
S='.broker["http_sink@source"]'
H=.broker.http

# Every mode, no faults: each event once, one request per event (or batch).
for m in binary structured batched; do
  args=(--set event.mode=$m)
  [ $m = batched ] && args=(--set event.mode=structured --target "http://127.0.0.1:$P/ev?connections=8&batch=10&linger=50ms")
  f=$TMP/$m.json
  run_rc 0 run "$TMP/s.json" "${args[@]}" --json "$f" --quiet
  att=$(jqv "$f" .publish.attempted)
  eq "$m attempted" "$att" 800
  eq "$m acked" "$(jqv "$f" .publish.acked)" "$att"
  eq "$m delivered" "$(jqv "$f" .deliver.delivered)" "$att"
  eq "$m received" "$(jqv "$f" .deliver.received)" "$att"
  eq "$m corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$m foreign" "$(jqv "$f" .deliver.foreign)" 0
  eq "$m sink events" "$(jqv "$f" "$S.events")" "$att"
  eq "$m requests agree" "$(jqv "$f" "$H.requests")" "$(jqv "$f" "$S.requests")"
  eq "$m every request 202" "$(jqv "$f" "$H.status[\"202\"]")" "$(jqv "$f" "$H.requests")"
  eq "$m mode" "$(jqv "$f" "$H.mode")" $m
  eq "$m connections" "$(jqv "$f" "$H.connections_opened + $H.connections_reused")" "$(jqv "$f" "$H.requests")"
  le "$m connections opened (pool of 8)" "$(jqv "$f" "$H.connections_opened")" 8
done
ge "batched: at least 5 events a request" "$(jqv "$TMP/batched.json" "800 / $H.requests")" 5

# Every retryable fault: nothing lost or duplicated, the counts agree.
f=$TMP/faults.json
run_rc 0 run "$TMP/s.json" --set "verify.source=$(sink 'error=0.05&reset=0.02&unavailable=0.01&throttle=0.01&seed=5')" \
  --set publish.duration=3s --json "$f" --quiet
att=$(jqv "$f" .publish.attempted)
eq "faults acked" "$(jqv "$f" .publish.acked)" "$att"
eq "faults delivered" "$(jqv "$f" .deliver.delivered)" "$att"
eq "faults lost" "$(jqv "$f" .deliver.lost)" 0
eq "faults duplicated" "$(jqv "$f" .deliver.duplicated)" 0
for code in 500 503 429; do
  nonzero "faults: sink answered $code" "$(jqv "$f" "$S.answered[\"$code\"]")"
  eq "faults: $code counted by both" "$(jqv "$f" "$H.status[\"$code\"]")" "$(jqv "$f" "$S.answered[\"$code\"]")"
done
nonzero "faults: resets" "$(jqv "$f" "$S.injected.reset")"
eq "faults: throttled == 429 + 503" "$(jqv "$f" "$H.throttled")" "$(jqv "$f" "$S.answered[\"429\"] + $S.answered[\"503\"]")"
eq "faults: rejected attempts == injected" "$(jqv "$f" "$S.rejected_attempts")" "$(jqv "$f" "$S.injected_total")"
eq "faults: sink accepted each once" "$(jqv "$f" "$S.accepted_first")" "$att"
eq "faults: sink accepted again" "$(jqv "$f" "$S.accepted_again")" 0
eq "faults: audit never retried" "$(jqv "$f" "$S.retry_audit.total.never_retried")" 0
eq "faults: audit too early" "$(jqv "$f" "$S.retry_audit.total.too_early")" 0
eq "faults: audit honoured" "$(jqv "$f" "$S.retry_audit.total.honoured")" "$(jqv "$f" "$S.injected_total")"
ge "faults: retried events took 2+ attempts" "$(jqv "$f" "$H.attempts.max")" 2
ge "faults: paused" "$(jqv "$f" "$H.paused_s")" 0.9

# 400 is final: never retried, unconfirmed.
f=$TMP/reject.json
run_rc 0 run "$TMP/s.json" --set "verify.source=$(sink 'reject=0.1&seed=9')" --json "$f" --quiet
n400=$(jqv "$f" "$S.injected[\"400\"]")
nonzero "reject: 400s" "$n400"
eq "reject: unconfirmed" "$(jqv "$f" .deliver.unconfirmed)" "$n400"
eq "reject: publish failed" "$(jqv "$f" .publish.failed)" "$n400"
eq "reject: rejected" "$(jqv "$f" "$H.rejected")" "$n400"
eq "reject: no retries" "$(jqv "$f" "$H.retries")" 0
eq "reject: lost" "$(jqv "$f" .deliver.lost)" 0
eq "reject: audit after_final" "$(jqv "$f" "$S.retry_audit.total.after_final")" 0
eq "reject: audit 400 not retried" "$(jqv "$f" "$S.retry_audit[\"400\"].honoured")" "$n400"

# The attempt cap: every attempt 500, 3 attempts each, then failed.
f=$TMP/cap.json
run_rc 0 run "$TMP/s.json" --set "verify.source=$(sink 'error=1')" \
  --target "http://127.0.0.1:$P/ev?attempts=3&backoff=10ms..20ms" --set publish.rate=50 \
  --set publish.duration=1s --set verify.drain_timeout=1s --json "$f" --quiet
eq "cap: attempted" "$(jqv "$f" .publish.attempted)" 50
eq "cap: failed" "$(jqv "$f" .publish.failed)" 50
eq "cap: unconfirmed" "$(jqv "$f" .deliver.unconfirmed)" 50
eq "cap: gave up" "$(jqv "$f" "$H.gave_up_attempts")" 50
eq "cap: 3 attempts each" "$(jqv "$f" "$H.attempts.events[\"3\"]")" 50
eq "cap: sink rejected 3 x 50" "$(jqv "$f" "$S.rejected_attempts")" 150
eq "cap: sink saw them give up" "$(jqv "$f" "$S.retry_audit[\"500\"].never_retried")" 50

# The retry deadline: no retry starts later than 300ms after the first send.
f=$TMP/deadline.json
run_rc 0 run "$TMP/s.json" --set "verify.source=$(sink 'error=1')" \
  --target "http://127.0.0.1:$P/ev?attempts=100&backoff=100ms..100ms&retry_deadline=300ms" \
  --set publish.rate=50 --set publish.duration=1s --set verify.drain_timeout=1s --json "$f" --quiet
eq "deadline: failed" "$(jqv "$f" .publish.failed)" 50
eq "deadline: gave up" "$(jqv "$f" "$H.gave_up_deadline")" 50
le "deadline: at most 7 attempts (gaps of 50..100ms)" "$(jqv "$f" "$H.attempts.max")" 7
ge "deadline: at least 3 attempts" "$(jqv "$f" "$H.attempts.max")" 3
done_ok
