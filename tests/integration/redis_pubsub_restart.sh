#!/usr/bin/env bash
# Redis Pub/Sub across a Redis restart: a private redis-server
# (redis_private.bash; the shared one on 6379 is never restarted). Mid-run,
# while events are published and delivered (2 groups, 300/s for 8 s),
# `redis-cli shutdown nosave`, and the server is started again ~2 s later.
# The publisher and both subscribers reconnect; the run completes with exit
# 0. Pub/Sub keeps nothing, so what was published while a subscriber was
# away is lost for its group, and PUBLISH's replies account for every one:
# deliver.lost == publish_shortfall, exactly. A PUBLISH whose reply was lost
# with the connection is failed (unconfirmed, or recovered if seen), never
# acked and never lost.
source "$(dirname "$0")/../e2e/lib.bash"
source "$(dirname "$0")/redis_private.bash"

cat >"$TMP/s.json" <<JSON
{ "name": "redis-pubsub-restart", "target": "redis://127.0.0.1:$PORT?channel=evload-restart-$$",
  "event": { "type": "dev.evload.restart", "data_size": 256 },
  "publish": { "lanes": 2, "rate": 300, "duration": "8s", "max_in_flight": 1000 },
  "verify": { "groups": 2, "drain_timeout": "5s" },
  "thresholds": { "corrupted": ["count==0"] } }
JSON
R=$TMP/r.json
run_bg 90 run "$TMP/s.json" --json "$R"
await_status recv 300 30
t_down=$(since_start)
redis_restart 2
t_up=$(since_start)
wait_bg 0
echo "redis shut down at ${t_down}s, up again at ${t_up}s"
planned "$R" restart 2400
during_publish "restart" "$R" "$t_down" "$t_up"
eq "verdict" "$(jqv "$R" .verdict)" pass
eq "run completed" "$(jqv "$R" .run.completed)" true
lost=$(jqv "$R" .deliver.lost)
short=$(jqv "$R" .broker.redis.publish_shortfall)
echo "lost $lost, publish_shortfall $short, failed $(jqv "$R" .publish.failed)" \
     "(unconfirmed $(jqv "$R" .deliver.unconfirmed), recovered $(jqv "$R" .deliver.recovered))"
eq "lost == publish_shortfall" "$lost" "$short"
eq "outcomes add up" "$(jqv "$R" 'sum(.publish.acked, .publish.failed)')" 2400
eq "replies == acked" "$(jqv "$R" .broker.redis.publish_replies)" "$(jqv "$R" .publish.acked)"
eq "publish errors" "$(jqv "$R" .broker.redis.publish_errors)" 0
eq "classes add up" \
   "$(jqv "$R" 'sum(.deliver.delivered, .deliver.late, .deliver.pending, .deliver.lost, .deliver.unconfirmed, .deliver.recovered)')" 4800
eq "pending" "$(jqv "$R" .deliver.pending)" 0
eq "duplicated" "$(jqv "$R" .deliver.duplicated)" 0
eq "corrupted" "$(jqv "$R" .deliver.corrupted)" 0
eq "foreign" "$(jqv "$R" .deliver.foreign)" 0
eq "publisher reconnects (each lane once)" "$(jqv "$R" .broker.redis.publisher_reconnects)" 2
eq "subscriber reconnects (each once)" "$(jqv "$R" 'sum(.broker.redis.subscribers[].reconnects)')" 2
done_ok
