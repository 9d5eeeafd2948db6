# A slow subscriber (verify.work) overrun by a lowered
# `client-output-buffer-limit pubsub` (restored on exit). Redis cuts it off;
# evload reports the disconnect with its cause (output_buffer_limit), loses
# at least what PUBLISH's replies say (the killed buffer is lost on top:
# lost >= publish_shortfall), keeps received + lost == published for the
# group, and recovers: the subscriber resubscribes and the slow tail stage is
# delivered in full.
source "$(dirname "$0")/../e2e/lib.bash"
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
SUF=$$-$RANDOM
old=$(redis-cli config get client-output-buffer-limit | tail -n 1)
[ -n "$old" ] || fail "cannot read client-output-buffer-limit"
on_exit 'redis-cli config set client-output-buffer-limit "$old" >/dev/null'
# Soft limit only (512 KiB for 2 s): the once-a-second sampler sees the buffer
# above it before Redis acts, and the kill comes seconds into the burst.
redis-cli config set client-output-buffer-limit "pubsub 0 512kb 2" >/dev/null

cat >"$TMP/slow.json" <<JSON
{ "name": "redis-slow-subscriber",
  "target": "redis://127.0.0.1:6379?channel=evload-slow-$SUF",
  "event": { "data_size": 2048 },
  "publish": { "executor": "ramping-arrival-rate", "lanes": 1, "start_rate": 4000,
               "stages": [ { "duration": "4s", "target": 4000 }, { "duration": "100ms", "target": 100 },
                           { "duration": "3s", "target": 100 } ], "max_in_flight": 1000 },
  "verify": { "groups": 1, "work": "1ms", "drain_timeout": "8s" } }
JSON
run_rc 0 run "$TMP/slow.json" --json "$TMP/o.json" --quiet
f=$TMP/o.json
planned "$f" overrun 16505
lost=$(jqv "$f" .deliver.lost)
short=$(jqv "$f" .broker.redis.publish_shortfall)
echo "overrun: lost=$lost publish_shortfall=$short causes=$(jq -c .broker.redis.disconnect_causes "$f") omem_max=$(jqv "$f" .backpressure.broker.omem_max)"
ge "output_buffer_limit disconnects" "$(jqv "$f" .broker.redis.disconnect_causes.output_buffer_limit)" 1
eq "every disconnect is an overrun" "$(jqv "$f" .broker.redis.disconnects)" \
   "$(jqv "$f" .broker.redis.disconnect_causes.output_buffer_limit)"
nonzero "lost" "$lost"
ge "lost >= publish_shortfall" "$lost" "$short"
ge "sampled omem reached the soft limit" "$(jqv "$f" .backpressure.broker.omem_max)" 524288
acked=16505
eq "acked == attempted" "$(jqv "$f" .publish.acked)" "$acked"
eq "received + lost == published" "$(jqv "$f" 'sum(.deliver.groups[0].received, .deliver.groups[0].lost)')" "$acked"
eq "duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "reordered" "$(jqv "$f" .deliver.reordered)" 0
# Recovery: resubscribed after every cut, and nothing missing after the last
# event seen (the final lost equals the gaps behind the highest sequence seen).
eq "reconnects == disconnects" "$(jqv "$f" '.broker.redis.subscribers[0].reconnects')" \
   "$(jqv "$f" '.broker.redis.subscribers[0].disconnects')"
eq "tail delivered" "$(jqv "$f" '.timeseries[-1].lost')" "$lost"
done_ok
