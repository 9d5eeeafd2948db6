#!/usr/bin/env bash
# Interop (issue 13, item 3): reconnect storms over 100 SSE subscribers of
# the Node relay. Every storm drops the subscribers (all of them, or a
# rotating half), each reconnects after up to 200 ms of jitter with
# Last-Event-ID; evload counts the reconnects and reports their latency.
#   - A relay that ignores Last-Event-ID: each subscriber's lost equals what
#     the relay itself counts it relayed while that subscriber was away, and
#     evload's resume check names the same events as missed.
#   - A relay that honours it: nothing lost; the relay replayed exactly what
#     each subscriber had missed, and evload saw replays.
#   - A relay that replays 2 events too many on each resume: each
#     subscriber's duplicated equals the relay's count of them.
source tests/interop/edge_lib.bash "$@"
B='.broker["sse@source"]'

# storm_checks FILE STATS PER_STORM: the storms during publishing dropped
# PER_STORM subscribers each and every one of them came back in step.
storm_checks() {
  local R=$1 S=$2 per=$3 n
  n=$(jqv "$R" "[$B.storm.storms[]|select(.at_s < 5)]|length")
  eq "storms while publishing" "$n" 3
  eq "dropped per storm" "$(jqv "$R" "[$B.storm.storms[]|select(.at_s < 5)|.dropped]|unique|join(\",\")")" "$per"
  eq "back in step per storm" "$(jqv "$R" "[$B.storm.storms[]|select(.at_s < 5)|.back_in_step]|unique|join(\",\")")" "$per"
  eq "every storm's time until all are back" "$(jqv "$R" "[$B.storm.storms[]|select(.at_s < 5)|.all_back_s|select(. != null)]|length")" 3
  local drops away rec
  drops=$(jqv "$R" "[$B.storm.storms[].dropped]|add")
  rec=$(jqv "$R" "$B.reconnects")
  # A storm in the drain may leave some still away when the run ends.
  away=$((100 - $(jqv "$R" "$B.subscribers_up_at_end")))
  eq "reconnects + still away == storm drops" "$((rec + away))" "$drops"
  ge "reconnects" "$rec" $((3 * per))
  eq "drops by storm" "$(jqv "$R" "$B.drops.storm")" "$drops"
  eq "no other drops" "$(jqv "$R" "$B.drops.server_closed + $B.drops.error")" 0
  eq "reconnect latencies" "$(jqv "$R" .latency.reconnect.count)" "$rec"
  ge "reconnect p50 measured" "$(jqv "$R" .latency.reconnect.p50)" 0.001
  # (one the relay answered just as the run ended may not have reached evload)
  ge "relay connections" "$(jq -r '[.subscribers[].connections]|add' "$S")" $((100 + rec))
  le "relay connections" "$(jq -r '[.subscribers[].connections]|add' "$S")" $((100 + drops))
}

# ---- a relay without resume: lost == what it relayed while each was away ----
relay_start plain sse_relay.js
PLAIN=$RELAY_PID
scenario "$TMP/s.json" 100 5s 100
SRC="sse+http://127.0.0.1:$PORT/events?subscriber_header=x-evload-subscriber&storm=1500ms&storm_jitter=200ms"
run_rc 1 run "$TMP/s.json" --source "$SRC" --json "$TMP/plain.json" --set 'thresholds={"lost":["count==0"]}'
relay_stop "$PLAIN" plain
R=$TMP/plain.json
S=$TMP/plain.stats.json
eq "attempted" "$(jqv "$R" .publish.attempted)" 500
storm_checks "$R" "$S" 100
jq -r '.subscribers|to_entries[]|"sse#\(.key) \(.value.missed_away) 0"' "$S" | sort >"$TMP/relay.txt"
per_sub "$R" >"$TMP/evload.txt"
diff "$TMP/relay.txt" "$TMP/evload.txt" >"$TMP/d" || fail "per-subscriber lost != the relay's missed_away: $(cat "$TMP/d")"
CHECKS=$((CHECKS + 1))
nonzero "lost in all" "$(jqv "$R" .deliver.lost)"
eq "lost == relay missed_away" "$(jqv "$R" .deliver.lost)" "$(jq -r '[.subscribers[].missed_away]|add' "$S")"
jq -r "$B.subscribers[]|\"\(.name) \(.resume_missed) 0\"" "$R" | sort >"$TMP/missed.txt"
diff "$TMP/evload.txt" "$TMP/missed.txt" >"$TMP/d" || fail "resume_missed != lost: $(cat "$TMP/d")"
CHECKS=$((CHECKS + 1))
eq "no replays from this relay" "$(jq -r '[.subscribers[].replayed]|add' "$S")" 0
# The resume check names the missed seqs: the first resume of subscriber 0.
first=$(jqv "$R" "[$B.subscribers[0].resumes[]|select(.missed > 0)][0]")
[ "$first" != null ] || fail "no resume with missed events for sse#0"
ranges=$(jq -r .missed_seqs <<<"$first")
n=$(jq -r .missed <<<"$first")
total=0
for r in $ranges; do
  r=${r#*:}; from=${r%-*}; to=${r#*-}
  total=$((total + to - from + 1))
done
eq "missed_seqs add up to missed" "$total" "$n"

# ---- a relay that honours Last-Event-ID: nothing lost, what it replayed -------
relay_start resume sse_relay.js --resume
RES=$RELAY_PID
SRC="sse+http://127.0.0.1:$PORT/events?subscriber_header=x-evload-subscriber&storm=1500ms&storm_jitter=200ms"
run_rc 0 run "$TMP/s.json" --source "$SRC" --json "$TMP/resume.json" --set 'thresholds={"lost":["count==0"]}'
relay_stop "$RES" resume
R=$TMP/resume.json
S=$TMP/resume.stats.json
storm_checks "$R" "$S" 100
eq "resume: lost" "$(jqv "$R" .deliver.lost)" 0
eq "resume: duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "resume: delivered" "$(jqv "$R" .deliver.delivered)" 50000
eq "resume: evload saw no gap" "$(jqv "$R" "$B.resume.missed")" 0
nonzero "resume: relay replayed" "$(jq -r '[.subscribers[].replayed]|add' "$S")"
eq "resume: relay replayed == what each missed" \
  "$(jq -r '[.subscribers[]|select(.replayed != .missed_away)]|length' "$S")" 0
nonzero "resume: evload saw replays" "$(jqv "$R" "$B.resume.replayed")"
le "resume: evload's replayed is a lower bound" "$(jqv "$R" "$B.resume.replayed")" \
  "$(jq -r '[.subscribers[].replayed]|add' "$S")"

# ---- a relay that replays 2 events too many: duplicated == its count ---------
relay_start extra sse_relay.js --resume --replay-extra 2
EXTRA=$RELAY_PID
SRC="sse+http://127.0.0.1:$PORT/events?subscriber_header=x-evload-subscriber&storm=1500ms&storm_jitter=200ms&storm_fraction=0.5"
run_rc 0 run "$TMP/s.json" --source "$SRC" --json "$TMP/extra.json"
relay_stop "$EXTRA" extra
R=$TMP/extra.json
S=$TMP/extra.stats.json
storm_checks "$R" "$S" 50
eq "extra: lost" "$(jqv "$R" .deliver.lost)" 0
jq -r '.subscribers|to_entries[]|"sse#\(.key) 0 \(.value.replayed_dups)"' "$S" | sort >"$TMP/relay.txt"
per_sub "$R" >"$TMP/evload.txt"
diff "$TMP/relay.txt" "$TMP/evload.txt" >"$TMP/d" || fail "per-subscriber duplicated != the relay's replayed_dups: $(cat "$TMP/d")"
CHECKS=$((CHECKS + 1))
nonzero "extra: duplicated" "$(jqv "$R" .deliver.duplicated)"
eq "extra: the resume check counts the same duplicates" "$(jqv "$R" "$B.resume.duplicated")" \
  "$(jqv "$R" .deliver.duplicated)"
# Half of them each storm, rotating: every subscriber dropped at least once.
eq "extra: every subscriber reconnected" "$(jqv "$R" "[$B.subscribers[]|select(.reconnects == 0)]|length")" 0
done_ok
