#!/usr/bin/env bash
# Interop (issue 13, item 2): evload publishes into a Redis channel that a
# Node WebSocket relay (npm ws, ws_relay.js) sends to 500 subscribers of one
# evload process, each subscribing with a message first. Every subscriber
# sees every event except subscriber 33, for which the relay drops exactly 7:
# its lost is 7, every other's 0. Then, on a few subscribers: binary frames,
# no subprotocol, a subscribe acknowledged by the server, a server close with
# code 4001 and a resume from the last event id ({last_id}); and a storm
# against a relay that does not resume, where each subscriber's lost equals
# what the relay relayed while it was away.
source tests/interop/edge_lib.bash "$@"
B='.broker["ws@source"]'
SUB=$(jq -rn --arg s '{"type":"subscribe","since":"{last_id}"}' '$s|@uri')

# ---- 500 subscribers, 7 events dropped for one ---------------------------------
relay_start fan ws_relay.js --subscribe --drop 33:10:7
FAN=$RELAY_PID
scenario "$TMP/fan.json" 20 3s 500 ', "thresholds": { "lost": ["count==7"] }'
SRC="ws://127.0.0.1:$PORT/stream?subscriber_header=x-evload-subscriber&subscribe=$SUB"
"$EVLOAD" run "$TMP/fan.json" --source "$SRC" --json "$TMP/fan.out.json" >"$TMP/out" 2>"$TMP/err" &
EV=$!
threads=$(threads_max "$EV" 15)
rc=0; wait "$EV" || rc=$?
[ "$rc" = 0 ] || { cat "$TMP/out" "$TMP/err"; fail "exit $rc, expected 0 (lost == 7 exactly)"; }
relay_stop "$FAN" fan
R=$TMP/fan.out.json
S=$TMP/fan.stats.json
A=$(jqv "$R" .publish.attempted)
eq "attempted" "$A" 60
eq "subscribers (groups)" "$(jqv "$R" '.deliver.groups|length')" 500
eq "lost" "$(jqv "$R" .deliver.lost)" 7
eq "ws#33 lost" "$(jqv "$R" '.deliver.groups[]|select(.name=="ws#33")|.lost')" 7
eq "groups with loss" "$(jqv "$R" '[.deliver.groups[]|select(.lost>0)]|length')" 1
eq "delivered" "$(jqv "$R" .deliver.delivered)" $((A * 500 - 7))
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "corrupted" "$(jqv "$R" .deliver.corrupted)" 0
eq "foreign" "$(jqv "$R" .deliver.foreign)" 0
eq "relay dropped for 33" "$(jq -r '.subscribers["33"].dropped' "$S")" 7
eq "relay sent in all" "$(jq -r '[.subscribers[].sent]|add' "$S")" $((A * 500 - 7))
eq "relay subscribers" "$(jq -r '.subscribers|length' "$S")" 500
eq "connects" "$(jqv "$R" "$B.connects")" 500
eq "subprotocol chosen" "$(jqv "$R" "$B.subprotocols[\"cloudevents.json\"]")" 500
eq "text messages" "$(jqv "$R" "$B.text_messages")" $((A * 500 - 7))
eq "binary messages" "$(jqv "$R" "$B.binary_messages")" 0
nonzero "pongs" "$(jqv "$R" "$B.pongs")"
eq "ping_rtt measured" "$(jqv "$R" .latency.ping_rtt.count)" "$(jqv "$R" "$B.pongs")"
eq "no closes" "$(jqv "$R" "$B.close_codes|length")" 0
ge "threads seen" "$threads" 3
le "threads for 500 subscribers" "$threads" 8
grep -q '499 of 500 groups clean' "$TMP/out" || fail "no compact line in: $(cat "$TMP/out")"

# ---- binary frames, no subprotocol, an ack, a close 4001 and a resume -----------
relay_start close ws_relay.js --subscribe --ack --binary --protocol '' --resume --close 5:30:4001
CLOSE=$RELAY_PID
scenario "$TMP/c.json" 50 2s 20
SRC="ws://127.0.0.1:$PORT/stream?subscriber_header=x-evload-subscriber&subscribe=$SUB&subscribe_ack=subscribed&reconnect_delay=300ms"
run_rc 0 run "$TMP/c.json" --source "$SRC" --json "$TMP/c.out.json" --set 'thresholds={"lost":["count==0"]}'
relay_stop "$CLOSE" close
R=$TMP/c.out.json
S=$TMP/close.stats.json
A=$(jqv "$R" .publish.attempted)
eq "close: lost" "$(jqv "$R" .deliver.lost)" 0
eq "close: duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "close: delivered" "$(jqv "$R" .deliver.delivered)" $((A * 20))
eq "close: no subprotocol" "$(jqv "$R" "$B.subprotocols[\"(none)\"]")" 20
eq "close: binary messages" "$(jqv "$R" "$B.binary_messages")" $((A * 20))
eq "close: acks (text) are not deliveries" "$(jqv "$R" "$B.text_messages")" 21
eq "close: code counted" "$(jqv "$R" "$B.close_codes[\"4001\"]")" 1
eq "close: ws#5's code" "$(jqv "$R" "$B.subscribers[5].close_codes[\"4001\"]")" 1
eq "close: reconnects" "$(jqv "$R" "$B.reconnects")" 1
eq "close: ws#5 reconnected" "$(jqv "$R" "$B.subscribers[5].reconnects")" 1
eq "close: server closes" "$(jqv "$R" "$B.drops.server_closed")" 1
nonzero "close: the relay replayed what ws#5 missed" "$(jq -r '.subscribers["5"].replayed' "$S")"
eq "close: replayed == missed_away" "$(jq -r '.subscribers["5"].replayed' "$S")" \
  "$(jq -r '.subscribers["5"].missed_away' "$S")"
eq "close: reconnect measured" "$(jqv "$R" .latency.reconnect.count)" 1

# ---- a storm against a relay that does not resume -------------------------------
relay_start storm ws_relay.js --subscribe
STORM=$RELAY_PID
scenario "$TMP/st.json" 100 4s 50
SRC="ws://127.0.0.1:$PORT/stream?subscriber_header=x-evload-subscriber&subscribe=$SUB&storm=1200ms&storm_jitter=200ms"
run_rc 1 run "$TMP/st.json" --source "$SRC" --json "$TMP/st.out.json" --set 'thresholds={"lost":["count==0"]}'
relay_stop "$STORM" storm
R=$TMP/st.out.json
S=$TMP/storm.stats.json
drops=$(jqv "$R" "[$B.storm.storms[].dropped]|add")
rec=$(jqv "$R" "$B.reconnects")
away=$((50 - $(jqv "$R" "$B.subscribers_up_at_end")))
ge "storm: storms" "$(jqv "$R" "$B.storm.storms|length")" 3
eq "storm: reconnects + still away == drops" "$((rec + away))" "$drops"
ge "storm: reconnects" "$rec" 150
ge "storm: relay connections" "$(jq -r '[.subscribers[].connections]|add' "$S")" $((50 + rec))
le "storm: relay connections" "$(jq -r '[.subscribers[].connections]|add' "$S")" $((50 + drops))
jq -r '.subscribers|to_entries[]|"ws#\(.key) \(.value.missed_away) 0"' "$S" | sort >"$TMP/relay.txt"
per_sub "$R" >"$TMP/evload.txt"
diff "$TMP/relay.txt" "$TMP/evload.txt" >"$TMP/d" || fail "per-subscriber lost != the relay's missed_away: $(cat "$TMP/d")"
CHECKS=$((CHECKS + 1))
nonzero "storm: lost" "$(jqv "$R" .deliver.lost)"
eq "storm: resume_missed == lost" "$(jqv "$R" "$B.resume.missed")" "$(jqv "$R" .deliver.lost)"
done_ok
