#!/usr/bin/env bash
# Flow control: a memory alarm mid-run (vm_memory_high_watermark set absurdly
# low, then restored) makes RabbitMQ send connection.blocked to the
# publishing connections. evload asked for that notification at login, stops
# publishing while blocked (a rabbitmq-c publish would otherwise block
# forever), reports the time under broker.rabbitmq.blocked_s, and once
# unblocked completes with nothing lost. The watermark is restored on exit.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
wm=$(timeout 20 rabbitmqctl -q eval 'vm_memory_monitor:get_vm_memory_high_watermark().' 2>/dev/null || true)
case "$wm" in 0.*|1|1.0) ;; *) wm=0.4 ;; esac  # a relative watermark; an absolute one is not expected here
restore_wm() { timeout 30 rabbitmqctl -q set_vm_memory_high_watermark "$wm" >/dev/null 2>&1 || true; rmq_cleanup; }
trap restore_wm EXIT

rc=0
timeout 180 "$EVLOAD" run scenarios/rabbitmq-smoke.json --target "$(target)" \
  --set publish.duration=10s --set verify.drain_timeout=60s --json "$TMP/a.json" \
  >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 3
timeout 30 rabbitmqctl -q set_vm_memory_high_watermark 0.0001 >/dev/null || { kill $pid; fail "cannot raise a memory alarm"; }
sleep 3
timeout 30 rabbitmqctl -q set_vm_memory_high_watermark "$wm" >/dev/null || { kill $pid; fail "cannot restore the watermark"; }
wait $pid || rc=$?
# e2e p95 may fail the smoke threshold (events waited out the alarm): 0 or 1.
CHECKS=$((CHECKS+1))
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { show_run; fail "evload exited $rc"; }
f="$TMP/a.json"
att=$(jqv "$f" .publish.attempted)
eq "attempted" "$att" 2000
eq "acked" "$(jqv "$f" .publish.acked)" "$att"
eq "lost" "$(jqv "$f" .deliver.lost)" 0
eq "delivered" "$(jqv "$f" .deliver.delivered)" "$att"
ge "blocked episodes (one per lane)" "$(jqv "$f" .broker.rabbitmq.blocked_count)" 2
ge "blocked time reported" "$(jqv "$f" .broker.rabbitmq.blocked_s)" 1
ge "lanes seen blocked in the timeseries" "$(jqv "$f" .backpressure.broker.lanes_blocked)" 1
echo "blocked: $(jqv "$f" .broker.rabbitmq.blocked_count) episodes, $(jqv "$f" .broker.rabbitmq.blocked_s) s (summed over lanes)"
done_ok
