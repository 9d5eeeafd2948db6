# Issue 16, item 2: connections reset through evload's proxy mid-run, from
# the scenario's fault schedule.
#  - RabbitMQ: every connection reset once at 3 s, then from 5 s for 1.5 s
#    every connection and every reconnection attempt (the reset toxic). The
#    run reconnects and ends exact: nothing lost or failed, every event
#    delivered to every group, every duplicate flagged as a redelivery.
#  - Redis Pub/Sub: every connection reset once; subscribers come back after
#    reconnect_delay (300 ms), and what was published meanwhile is lost for
#    them: deliver.lost equals PUBLISH's shortfall exactly, and the fault's
#    own events (by intended time) hold all of that loss.
# (Kafka: the proxy cannot front it; faults_kafka.sh takes a broker down.)
source "$(dirname "$0")/rabbitmq_lib.bash"
source "$(dirname "$0")/faults_lib.bash"
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
rmq_start

f=$TMP/rmq.json
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target)" --set publish.duration=9s \
  --set verify.groups=2 --set verify.consumers=1 --set verify.drain_timeout=60s \
  --set 'faults=[{"name": "once", "at": "3s", "proxy": "reset"},
                 {"name": "outage", "at": "5s", "for": "1500ms", "proxy": "reset"}]' \
  --set 'thresholds={"lost":["count==0"]}' --json "$f" --quiet
exact_run "$f" rabbitmq
dup=$(jqv "$f" .deliver.duplicated)
eq "rabbitmq: every duplicate is a flagged redelivery" "$(jqv "$f" .deliver.redelivered)" "$dup"
on_time "$f" once
on_time "$f" outage
# Every connection through the proxy (2 lanes, 2 consumers, the module's
# own) was reset each time, and the run came back after each.
ge "once: connections reset" "$(fv "$f" once .proxy.connections.reset)" 5
ge "outage: connections reset" "$(fv "$f" outage .proxy.connections.reset)" 5
eq "once: instant" "$(fv "$f" once '.ended_s == .started_s')" true
ge "outage: 1.5 s" "$(fv "$f" outage '.ended_s - .started_s')" 1.5
ge "publisher reconnects" "$(jqv "$f" .broker.rabbitmq.publisher_reconnects)" 2
ge "consumer reconnects" "$(jqv "$f" .broker.rabbitmq.consumer_reconnects)" 2
for n in once outage; do
  eq "$n: events missing" "$(fv "$f" "$n" .impact.events.missing)" 0
  nonzero "$n: events in its window" "$(fv "$f" "$n" .impact.events.sent)"
  eq "$n: recovered" "$(fv "$f" "$n" .impact.recovered)" true
done
echo "rabbitmq: duplicated $dup (redelivered $(jqv "$f" .deliver.redelivered)), republished" \
  "$(jqv "$f" .broker.rabbitmq.republished), reconnects pub $(jqv "$f" .broker.rabbitmq.publisher_reconnects)" \
  "sub $(jqv "$f" .broker.rabbitmq.consumer_reconnects); recovery $(fv "$f" once .impact.recovery_s) s," \
  "$(fv "$f" outage .impact.recovery_s) s"

f=$TMP/redis.json
run_rc 0 run scenarios/redis-pubsub-smoke.json \
  --target "redis://127.0.0.1:6379?channel=evload-it-freset-$SUFFIX&reconnect_delay=300ms" \
  --set publish.duration=6s --set 'faults=[{"name": "rst", "at": "3s", "proxy": "reset"}]' \
  --set 'thresholds={}' --json "$f" --quiet
lost=$(jqv "$f" .deliver.lost)
nonzero "redis: lost (subscribers away for 300 ms)" "$lost"
eq "redis: lost == publish_shortfall" "$lost" "$(jqv "$f" .broker.redis.publish_shortfall)"
eq "redis: pending" "$(jqv "$f" .deliver.pending)" 0
eq "redis: duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "redis: attempted" "$(jqv "$f" .publish.attempted)" "$(jqv "$f" .publish.expected)"
on_time "$f" rst
ge "redis: connections reset" "$(fv "$f" rst .proxy.connections.reset)" 4
eq "redis: subscribers reconnected" "$(jqv "$f" '[.broker.redis.subscribers[].reconnects] | add')" 2
eq "redis: the fault's events hold all the loss" "$(fv "$f" rst .impact.events.lost)" "$lost"
eq "redis: its missing == lost" "$(fv "$f" rst .impact.events.missing)" "$lost"
echo "redis: lost $lost == publish_shortfall; the fault's events $(fv "$f" rst .impact.events.from_s)" \
  "..$(fv "$f" rst .impact.events.to_s) s"
done_ok
