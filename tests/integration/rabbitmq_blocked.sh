#!/usr/bin/env bash
# Flow control: a memory alarm mid-run (vm_memory_high_watermark set absurdly
# low, then restored) makes RabbitMQ send connection.blocked to the
# publishing connections. evload asked for that notification at login, stops
# publishing while blocked (a rabbitmq-c publish would otherwise block
# forever), reports the time under broker.rabbitmq.blocked_s, and once
# unblocked completes with nothing lost. The watermark is restored on exit.
# The alarm is raised once events are seen delivered, held until RabbitMQ
# reports a connection blocked and 2 s more, and must fall inside publishing.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
wm=$(timeout 20 rabbitmqctl -q eval 'vm_memory_monitor:get_vm_memory_high_watermark().' 2>/dev/null || true)
case "$wm" in 0.*|1|1.0) ;; *) wm=0.4 ;; esac  # a relative watermark; an absolute one is not expected here
on_exit 'timeout 30 rabbitmqctl -q set_vm_memory_high_watermark "$wm" >/dev/null 2>&1'

run_bg 180 run scenarios/rabbitmq-smoke.json --target "$(target)" \
  --set publish.duration=10s --set verify.drain_timeout=60s --json "$TMP/a.json"
await_status recv 1 60
timeout 30 rabbitmqctl -q set_vm_memory_high_watermark 0.0001 >/dev/null || fail "cannot raise a memory alarm"
t_alarm=$(since_start)
blocked() { timeout 10 rabbitmqctl -q list_connections state | grep -qx blocked; }
wait_until "a publishing connection blocked" 30 blocked
t_blocked=$(since_start)
sleep 2
timeout 30 rabbitmqctl -q set_vm_memory_high_watermark "$wm" >/dev/null || fail "cannot restore the watermark"
t_restored=$(since_start)
# e2e p95 may fail the smoke threshold (events waited out the alarm): 0 or 1.
wait_bg 0 1
f="$TMP/a.json"
echo "alarm at ${t_alarm}s, a connection blocked at ${t_blocked}s, restored at ${t_restored}s"
planned "$f" "blocked" 2000
during_publish "memory alarm" "$f" "$t_alarm" "$t_blocked"
eq "acked" "$(jqv "$f" .publish.acked)" 2000
eq "lost" "$(jqv "$f" .deliver.lost)" 0
eq "delivered" "$(jqv "$f" .deliver.delivered)" 2000
ge "blocked episodes (one per lane)" "$(jqv "$f" .broker.rabbitmq.blocked_count)" 2
ge "blocked time reported" "$(jqv "$f" .broker.rabbitmq.blocked_s)" 1
ge "lanes seen blocked in the timeseries" "$(jqv "$f" .backpressure.broker.lanes_blocked)" 1
echo "blocked: $(jqv "$f" .broker.rabbitmq.blocked_count) episodes, $(jqv "$f" .broker.rabbitmq.blocked_s) s (summed over lanes)"
done_ok
