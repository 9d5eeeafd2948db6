# Subscribers killed (CLIENT KILL TYPE pubsub) in a quiet
# moment between two bursts, while their output buffers are empty. They come
# back (reconnect_delay) during the second burst; what was published while they
# were away is lost for their groups, and PUBLISH's replies account for every
# one: deliver.lost == broker.redis.publish_shortfall, exactly. Also the storm
# scenario (subscribers leaving and rejoining on their own): again exact.
# The kill must fall in the quiet stage (2.1 s to 5.1 s of publishing) by the
# run's own clock, and cost the second burst events.
source "$(dirname "$0")/../e2e/lib.bash"
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
SUF=$$-$RANDOM
RUN=$(printf 'k%011x' $(( (RANDOM << 15 | RANDOM) )) )
cat >"$TMP/bursts.json" <<JSON
{ "name": "redis-kill-quiet",
  "target": "redis://127.0.0.1:6379?channel=evload-kill-$SUF&reconnect_delay=4s",
  "event": { "data_size": 256 },
  "publish": { "executor": "ramping-arrival-rate", "lanes": 1, "start_rate": 500,
               "stages": [ { "duration": "2s", "target": 500 }, { "duration": "100ms", "target": 0 },
                           { "duration": "3s", "target": 0 }, { "duration": "100ms", "target": 500 },
                           { "duration": "3s", "target": 500 } ], "max_in_flight": 1000 },
  "verify": { "groups": 2, "drain_timeout": "2s" } }
JSON
run_bg 120 run "$TMP/bursts.json" --set run_id="$RUN" --json "$TMP/k.json"
await_status sent 1 60

# Our connections, by the names evload gives them: evload-<run>-sub<g>, -pub<l>.
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
clients() { redis-cli client list | grep "name=evload-$RUN-$1"; }
# Wait (bounded) for the subscribers, then for the quiet stage: the publisher
# idle for a second or more, both subscribers' output buffers empty.
killed=0 t_kill=
for _ in $(seq 200); do
  kill -0 "$EV_PID" 2>/dev/null || break
  subs=$(clients sub || true)
  pubidle=$(clients pub0 | field idle || true)
  if [ "$(echo "$subs" | grep -c 'obl=0 oll=0 omem=0')" = 2 ] && [ -n "$pubidle" ] && [ "$pubidle" -ge 1 ]; then
    t_kill=$(since_start)
    echo "killing at ${t_kill}s, publisher idle=${pubidle}s"
    for id in $(echo "$subs" | field id); do
      n=$(redis-cli client kill type pubsub id "$id")
      killed=$((killed + n))
    done
    break
  fi
  sleep 0.1
done
wait_bg 0
eq "subscribers killed" "$killed" 2
# The quiet itself is Redis's evidence above (publisher idle >= 1 s, buffers
# empty); since_start is the status line's clock seen from outside, late by up
# to its 0.1 s resolution plus a poll on a busy machine.
ge "killed after the first burst" "$t_kill" 1.9
le "killed before the second burst" "$t_kill" 5.1
f=$TMP/k.json
planned "$f" bursts 2550
eq "acked" "$(jqv "$f" .publish.acked)" 2550
lost=$(jqv "$f" .deliver.lost)
short=$(jqv "$f" .broker.redis.publish_shortfall)
nonzero "lost (the gap spans part of the second burst)" "$lost"
echo "killed in a quiet moment: lost=$lost publish_shortfall=$short"
eq "lost == publish_shortfall" "$lost" "$short"
eq "killed disconnects" "$(jqv "$f" .broker.redis.disconnect_causes.killed)" 2
eq "reconnects" "$(jqv "$f" 'sum(.broker.redis.subscribers[].reconnects)')" 2
eq "unconfirmed" "$(jqv "$f" .deliver.unconfirmed)" 0
eq "duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "reordered" "$(jqv "$f" .deliver.reordered)" 0
for g in 0 1; do
  eq "g$g received + lost == acked" "$(jqv "$f" "sum(.deliver.groups[$g].received, .deliver.groups[$g].lost)")" 2550
done

# Subscribers cycling on their own (the storm scenario): exact as well.
s=$TMP/s.json
run_rc 0 run scenarios/redis-reconnect-storm.json --target \
  "redis://127.0.0.1:6379?channel=evload-storm-$SUF&cycle=1500ms&reconnect_delay=250ms" \
  --set publish.duration=6s --json "$s" --quiet
planned "$s" storm 6000
eq "storm acked" "$(jqv "$s" .publish.acked)" 6000
nonzero "storm lost" "$(jqv "$s" .deliver.lost)"
eq "storm lost == publish_shortfall" "$(jqv "$s" .deliver.lost)" "$(jqv "$s" .broker.redis.publish_shortfall)"
ge "storm departures" "$(jqv "$s" .broker.redis.disconnect_causes.cycled)" 4
eq "storm other causes" "$(jqv "$s" '(.broker.redis.disconnects|num) - (.broker.redis.disconnect_causes.cycled|num)')" 0
done_ok
