# Issue 16, item 3: a broker restarted by the scenario's own `exec` fault
# mid-run, with exact accounting and a reported recovery time.
#  - RabbitMQ: `rabbitmqctl stop_app; sleep 2; rabbitmqctl start_app` at 3 s
#    of 20 s of publishing (each rabbitmqctl starts an Erlang VM: the command
#    took 11 s at load average 10 on 2 cores, and must end while publishing)
#    (durable queues, persistent messages, confirms, manual acks): nothing
#    lost or failed, every event delivered to every group, every duplicate
#    flagged as a redelivery; the command's exit code, duration and output.
#  - Redis with AOF (a private redis-server on its own port, appendonly yes,
#    appendfsync always; the shared one on 6379 is left alone): shut down
#    and started again by the command; Pub/Sub keeps nothing for absent
#    subscribers, so the loss (none, when the subscribers are back before
#    the publisher) equals PUBLISH's shortfall exactly.
# (Kafka: faults_kafka.sh.)
source "$(dirname "$0")/rabbitmq_lib.bash"
source "$(dirname "$0")/faults_lib.bash"
command -v redis-server >/dev/null || ./scripts/brokers start redis >/dev/null ||
  fail "no redis-server (scripts/brokers start redis)"
rmq_start

RPORT=$((20000 + RANDOM % 20000))
RDIR=$TMP/redis
mkdir -p "$RDIR"
redis_start() {
  redis-server --port "$RPORT" --bind 127.0.0.1 --appendonly yes --appendfsync always \
    --save '' --dir "$RDIR" --daemonize yes --pidfile "$RDIR/redis.pid" --logfile "$RDIR/redis.log"
}
redis_stop() { redis-cli -p "$RPORT" shutdown >/dev/null 2>&1 || true; }
on_exit redis_stop
redis_start
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
eq "private redis up with AOF" "$(redis-cli -p "$RPORT" config get appendonly | tail -1)" yes

f=$TMP/rmq.json
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(target)" --set publish.duration=20s \
  --set verify.groups=2 --set verify.consumers=1 --set verify.drain_timeout=90s \
  --set 'faults=[{"name": "restart", "at": "3s", "timeout": "90s",
                  "exec": "rabbitmqctl -q stop_app && echo stopped && sleep 2 && rabbitmqctl -q start_app && echo started"}]' \
  --set 'thresholds={"lost":["count==0"]}' --json "$f" --quiet
exact_run "$f" rabbitmq
eq "rabbitmq: every duplicate is a flagged redelivery" "$(jqv "$f" .deliver.redelivered)" \
   "$(jqv "$f" .deliver.duplicated)"
on_time "$f" restart
eq "restart: exit 0" "$(fv "$f" restart .exec.exit)" 0
eq "restart: not timed out" "$(fv "$f" restart .exec.timed_out)" false
eq "restart: its output" "$(fv "$f" restart .exec.output_tail)" "$(printf 'stopped\nstarted\n')"
ge "restart: took at least the sleep" "$(fv "$f" restart .exec.duration_s)" 2
le "restart: ended before publishing did" "$(fv "$f" restart .ended_s)" 20
ge "publisher reconnected" "$(jqv "$f" .broker.rabbitmq.publisher_reconnects)" 1
ge "consumer reconnected" "$(jqv "$f" .broker.rabbitmq.consumer_reconnects)" 1
eq "restart: recovered" "$(fv "$f" restart .impact.recovered)" true
le "restart: recovery" "$(fv "$f" restart .impact.recovery_s)" 10
eq "restart: its events missing" "$(fv "$f" restart .impact.events.missing)" 0
echo "rabbitmq: restart $(fv "$f" restart .started_s)..$(fv "$f" restart .ended_s) s, recovered" \
  "$(fv "$f" restart .impact.recovery_s) s after; duplicated $(jqv "$f" .deliver.duplicated)," \
  "reconnects pub $(jqv "$f" .broker.rabbitmq.publisher_reconnects) sub $(jqv "$f" .broker.rabbitmq.consumer_reconnects)"

f=$TMP/redis.json
CMD="redis-cli -p $RPORT shutdown && sleep 1 && redis-server --port $RPORT --bind 127.0.0.1 \
--appendonly yes --appendfsync always --save '' --dir $RDIR --daemonize yes \
--pidfile $RDIR/redis.pid --logfile $RDIR/redis.log && echo restarted"
run_rc 0 run scenarios/redis-pubsub-smoke.json \
  --target "redis://127.0.0.1:$RPORT?channel=evload-it-frestart-$SUFFIX" \
  --set publish.duration=7s \
  --set "faults=[{\"name\": \"restart\", \"at\": \"2s\", \"timeout\": \"30s\", \"exec\": $(jq -Rn --arg c "$CMD" '$c')}]" \
  --set 'thresholds={}' --json "$f" --quiet
# What is lost depends on who reconnects first: events PUBLISHed after the
# publisher is back but before a subscriber has resubscribed reach nobody in
# that group (seen: 0 to a few hundred). Whatever it is, PUBLISH's replies
# account for it exactly, and every connection went through the restart.
lost=$(jqv "$f" .deliver.lost)
ge "redis: the publisher reconnected" "$(jqv "$f" .broker.redis.publisher_reconnects)" 1
eq "redis: lost == publish_shortfall" "$lost" "$(jqv "$f" .broker.redis.publish_shortfall)"
eq "redis: pending" "$(jqv "$f" .deliver.pending)" 0
eq "redis: duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "redis: attempted" "$(jqv "$f" .publish.attempted)" "$(jqv "$f" .publish.expected)"
on_time "$f" restart
eq "redis restart: exit 0" "$(fv "$f" restart .exec.exit)" 0
eq "redis restart: output" "$(fv "$f" restart .exec.output_tail)" "restarted"
eq "redis restart: recovered" "$(fv "$f" restart .impact.recovered)" true
ge "redis: subscribers reconnected" "$(jqv "$f" '[.broker.redis.subscribers[].reconnects] | add')" 2
eq "redis: the fault's events hold all the loss" "$(fv "$f" restart .impact.events.lost)" "$lost"
eq "redis: still AOF after the restart" "$(redis-cli -p "$RPORT" config get appendonly | tail -1)" yes
echo "redis: lost $lost == publish_shortfall; unconfirmed $(jqv "$f" .deliver.unconfirmed);" \
  "recovered $(fv "$f" restart .impact.recovery_s) s after the restart"
done_ok
