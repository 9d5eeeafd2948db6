#!/usr/bin/env bash
# Forged, foreign and corrupted messages in a real broker's stream. evload
# publishes 200 events/s for 5 s on 2 lanes into a Redis channel and
# verifies it with 2 subscribers; one second in, tests/interop/forge.js (an
# ioredis client, a separate process) publishes four messages into the same
# channel, built from one of the run's events (the run id is fixed with
# --set run_id):
#   corrupt   this run's id, seq 1000000, a checksum that does not match
#   otherrun  another run's event
#   beyond    this run's id, a valid checksum, a seq the lane never sent
#   nolane    this run's id on a lane the run does not have
# Each subscriber gets all four. Each is counted in its own class and
# changes nothing else: per group corrupted == 1, foreign == 3, received ==
# attempted + 4, and delivered == attempted, lost == duplicated == reordered
# == 0 (a forged seq far ahead must not make the real events after it look
# reordered, nor the seqs below it look lost).
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_redis
CH=forged-$SFX
RUN=forged$SFX
URL="redis://127.0.0.1:$REDIS_PORT"

(cd "$INTEROP" && exec node forge.js "$URL" "$CH" "$RUN" 200 60) >"$TMP/forge.out" 2>"$TMP/forge.err" &
FORGE=$!
BG_PIDS+=("$FORGE")
for _ in $(seq 300); do grep -q '"ready":true' "$TMP/forge.out" && break; sleep 0.1; done
grep -q '"ready":true' "$TMP/forge.out" || fail "forge.js not ready: $(cat "$TMP/forge.err")"

pscen "$TMP/f.json" "$URL?channel=$CH" '{ "groups": 2, "drain_timeout": "5s" }' \
  '{ "lanes": 2, "rate": 200, "duration": "5s" }'
evrun 0 f run "$TMP/f.json" --set "run_id=$RUN" \
  --set 'thresholds={"lost": ["count==0"], "reordered": ["count==0"], "duplicated": ["count==0"], "corrupted": ["count==2"], "foreign": ["count==6"]}'
wait "$FORGE" || fail "forge.js failed: $(cat "$TMP/forge.err")"
eq "forge injected" "$(jq -r 'select(.injected) | .injected' "$TMP/forge.out")" 4
R=$TMP/f.json
att=$(jqv "$R" .publish.attempted)
eq "attempted" "$att" 1000
eq "run id" "$(jqv "$R" .run.id)" "$RUN"
# The subscribers also see forge.js's PUBLISHes; the publisher's replies
# count forge.js's own subscription as an extra receiver.
for g in 0 1; do
  G=".deliver.groups[$g]"
  eq "g$g corrupted" "$(jqv "$R" "$G.corrupted")" 1
  eq "g$g foreign" "$(jqv "$R" "$G.foreign")" 3
  eq "g$g received" "$(jqv "$R" "$G.received")" $((att + 4))
  eq "g$g delivered" "$(jqv "$R" "$G.delivered")" "$att"
  for k in lost pending late duplicated reordered unexpected unconfirmed recovered; do
    eq "g$g $k" "$(jqv "$R" "$G.$k")" 0
  done
done
eq "classes add up" "$(jqv "$R" '.deliver.outputs[0] | sum(.delivered, .late, .pending, .lost, .unconfirmed, .recovered)')" $((att * 2))
eq "nothing missing" "$(missing_ids "$TMP/f.missing" | wc -l)" 0
done_ok
