#!/usr/bin/env bash
# Interop (issue 13, item 1): evload publishes into a Redis channel that a
# Node SSE relay (node:http, sse_relay.js) streams to 250 subscribers of one
# evload process. Every subscriber sees every event (0 lost, per subscriber)
# except subscriber 17, for which the relay was told to drop exactly 5: its
# lost is 5, every other's 0, and the relay's own account agrees. Then the
# wire format's corners and auth: multi-line data:, event:, retry:, comments,
# an Authorization header from ${VAR} that no output shows, and a wrong token
# refused with exit 3.
source tests/interop/edge_lib.bash "$@"

# ---- 250 subscribers, 5 events dropped for one --------------------------------
relay_start fan sse_relay.js --drop 17:40:5
FAN=$RELAY_PID
scenario "$TMP/fan.json" 50 3s 250 ', "thresholds": { "lost": ["count==5"] }'
SRC="sse+http://127.0.0.1:$PORT/events?subscriber_header=x-evload-subscriber"
"$EVLOAD" run "$TMP/fan.json" --source "$SRC" --json "$TMP/fan.out.json" >"$TMP/out" 2>"$TMP/err" &
EV=$!
threads=$(threads_max "$EV" 12)
rc=0; wait "$EV" || rc=$?
[ "$rc" = 0 ] || { cat "$TMP/out" "$TMP/err"; fail "exit $rc, expected 0 (lost == 5 exactly)"; }
relay_stop "$FAN" fan
R=$TMP/fan.out.json
S=$TMP/fan.stats.json
A=$(jqv "$R" .publish.attempted)
eq "attempted" "$A" 150
eq "acked" "$(jqv "$R" .publish.acked)" "$A"
eq "subscribers (groups)" "$(jqv "$R" '.deliver.groups|length')" 250
eq "lost" "$(jqv "$R" .deliver.lost)" 5
eq "sse#17 lost" "$(jqv "$R" '.deliver.groups[]|select(.name=="sse#17")|.lost')" 5
eq "others lost" "$(jqv "$R" '[.deliver.groups[]|select(.name!="sse#17")|.lost]|add')" 0
eq "groups with loss" "$(jqv "$R" '[.deliver.groups[]|select(.lost>0)]|length')" 1
eq "delivered" "$(jqv "$R" .deliver.delivered)" $((A * 250 - 5))
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "corrupted" "$(jqv "$R" .deliver.corrupted)" 0
eq "foreign" "$(jqv "$R" .deliver.foreign)" 0
eq "reordered" "$(jqv "$R" .deliver.reordered)" 0
# The relay's own account: what it sent each subscriber, and the 5 it dropped.
eq "relay relayed" "$(jq -r .relayed "$S")" "$A"
eq "relay subscribers" "$(jq -r '.subscribers|length' "$S")" 250
eq "relay dropped for 17" "$(jq -r '.subscribers["17"].dropped' "$S")" 5
eq "relay dropped in all" "$(jq -r '[.subscribers[].dropped]|add' "$S")" 5
eq "relay sent in all" "$(jq -r '[.subscribers[].sent]|add' "$S")" $((A * 250 - 5))
eq "relay connections" "$(jq -r '[.subscribers[].connections]|add' "$S")" 250
B='.broker["sse@source"]'
eq "connects" "$(jqv "$R" "$B.connects")" 250
eq "reconnects" "$(jqv "$R" "$B.reconnects")" 0
eq "up at the end" "$(jqv "$R" "$B.subscribers_up_at_end")" 250
eq "connect measured" "$(jqv "$R" .latency.connect.count)" 250
eq "first_event measured" "$(jqv "$R" .latency.first_event.count)" 250
eq "events seen by the fleet" "$(jqv "$R" "$B.events")" $((A * 250 - 5))
eq "sse#17 resume_missed (no reconnect)" "$(jqv "$R" "$B.subscribers[17].resume_missed")" 0
eq "sse#17 last id is the relay's last" "$(jqv "$R" "$B.subscribers[17].last_event_id")" "$A"
# Few threads for many subscribers: main, one lane, at most 4 consumers (and
# what libraries start: none here) — not a thread per subscriber.
ge "threads seen" "$threads" 3
le "threads for 250 subscribers" "$threads" 8
# The summary shows the one subscriber with loss and the rest in one line.
grep -q '^  sse#17  *145  *145  *5$' "$TMP/out" || fail "no sse#17 row in: $(cat "$TMP/out")"
grep -q '249 of 250 groups clean; delivered per group: min 145  median 150  max 150' "$TMP/out" ||
  fail "no compact line in: $(cat "$TMP/out")"
[ "$(grep -c '^  sse#' "$TMP/out")" = 1 ] || fail "the summary lists clean subscribers"

# ---- the wire format's corners, auth, redaction --------------------------------
export EDGE_TOKEN="tok-Qx7vB-zk9"
relay_start wire sse_relay.js --token "$EDGE_TOKEN" --multiline --retry 1500 --comment-every 100 \
  --event cloudevent
WIRE=$RELAY_PID
scenario "$TMP/wire.json" 100 2s 3
SRC="sse+http://127.0.0.1:$PORT/events?header=Authorization:%20Bearer%20\${EDGE_TOKEN}"
run_rc 0 run "$TMP/wire.json" --source "$SRC" --json "$TMP/wire.out.json"
relay_stop "$WIRE" wire
R=$TMP/wire.out.json
A=$(jqv "$R" .publish.attempted)
eq "wire attempted" "$A" 200
eq "wire lost" "$(jqv "$R" .deliver.lost)" 0
eq "wire delivered" "$(jqv "$R" .deliver.delivered)" $((A * 3))
eq "wire corrupted (multi-line data joined)" "$(jqv "$R" .deliver.corrupted)" 0
eq "wire foreign" "$(jqv "$R" .deliver.foreign)" 0
eq "wire retry seen" "$(jqv "$R" "$B.subscribers[0].retry_ms")" 1500
nonzero "wire comments" "$(jqv "$R" "$B.comments")"
eq "wire last id" "$(jqv "$R" "$B.subscribers[2].last_event_id")" "$A"
eq "wire source printed with the header hidden" "$(jqv "$R" '.deliver.outputs[0].source')" \
  "sse+http://127.0.0.1:$PORT/events?header=***"
no_leak "token" "$EDGE_TOKEN" "$TMP/out" "$TMP/err" "$R"

# A wrong token: the relay answers 401, evload stops at the ready barrier.
relay_start deny sse_relay.js --token "$EDGE_TOKEN"
DENY=$RELAY_PID
export EDGE_TOKEN="tok-WRONG-m4p2"
run_rc 3 run "$TMP/wire.json" --source "sse+http://127.0.0.1:$PORT/events?header=Authorization:%20Bearer%20\${EDGE_TOKEN}"
grep -q 'was refused: HTTP 401' "$TMP/err" || fail "no 401 in: $(cat "$TMP/err")"
no_leak "wrong token" "$EDGE_TOKEN" "$TMP/out" "$TMP/err"
relay_stop "$DENY" deny
eq "nothing relayed to a refused subscriber" "$(jq -r '.subscribers|length' "$TMP/deny.stats.json")" 0

# An unreachable server: exit 3 at setup.
run_rc 3 run "$TMP/wire.json" --source "sse+http://127.0.0.1:1/events"
grep -q 'cannot connect' "$TMP/err" || fail "no connect error in: $(cat "$TMP/err")"
done_ok
