# RabbitMQ (AMQP 0-9-1) through `evload proxy` (docs/faults.md): publisher
# confirms, deliveries and acks all cross the proxy. With no toxic nothing is
# lost and the counts are exact; with `add downstream latency=200ms..800ms`
# typed on the proxy's stdin while the run publishes, confirms and
# deliveries are held, e2e latency rises into that range, and nothing is lost.
source "$(dirname "$0")/rabbitmq_lib.bash"
source "$(dirname "$0")/proxy_lib.bash"
trap 'proxy_kill; rmq_cleanup' EXIT
rmq_start
proxy_start 127.0.0.1:5672
# target() with the proxy in place of the broker's address.
ptarget() { echo "amqp://guest:guest@$PROXY/%2f?exchange=$EX&queue=$Q&cleanup=1"; }

# exact_clean FILE CTX ATTEMPTED: every event confirmed and delivered once.
exact_clean() {
  local f=$1 ctx=$2 att=$3
  eq "$ctx attempted" "$(jqv "$f" .publish.attempted)" "$att"
  eq "$ctx acked" "$(jqv "$f" .publish.acked)" "$att"
  eq "$ctx lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx delivered" "$(jqv "$f" .deliver.delivered)" "$att"
  eq "$ctx duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$ctx corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$ctx confirmed" "$(jqv "$f" .broker.rabbitmq.confirmed)" "$att"
  eq "$ctx republished" "$(jqv "$f" .broker.rabbitmq.republished)" 0
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
}

# 1. No toxic: the smoke scenario (2 lanes, 2 competing consumers) at
#    200 events/s for 5 s.
f=$TMP/clean.json
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$(ptarget)" --json "$f" --quiet
exact_clean "$f" clean 1000
s=$(proxy_cmd stats)
up_bytes=$(jq -r .traffic.upstream.bytes_in <<<"$s")
eq "clean upstream in==out" "$(jq -r .traffic.upstream.bytes_out <<<"$s")" "$up_bytes"
eq "clean downstream in==out" "$(jq -r .traffic.downstream.bytes_out <<<"$s")" "$(jq -r .traffic.downstream.bytes_in <<<"$s")"
eq "clean nothing delayed" "$(jq -r '.traffic.upstream.bytes_delayed + .traffic.downstream.bytes_delayed' <<<"$s")" 0
# (RabbitMQ ends its side of a connection with RST: counted as aborted, not errors.)
eq "clean no errors" "$(jq -r '.connections.errors + .connections.reset + .connections.upstream_failed' <<<"$s")" 0
eq "clean all closed" "$(jq -r .connections.active <<<"$s")" 0

# 2. Latency switched on once ~1.5 s of this run's publishing went through:
#    100 events/s for 8 s (a consumer's prefetch of 100 covers 800 ms of
#    deliveries at this rate).
EX="evt-ex-l-$SUFFIX" Q="evt-q-l-$SUFFIX"
per_event=$((up_bytes / 1000))
base=$(proxy_stat .traffic.upstream.bytes_in)
f=$TMP/latency.json
( "$EVLOAD" run scenarios/rabbitmq-smoke.json --target "$(ptarget)" --set publish.rate=100 \
    --set publish.duration=8s --set 'thresholds={"lost":["count==0"]}' --json "$f" --quiet \
    >"$TMP/run2.out" 2>"$TMP/run2.err" 7>&-; echo $? >"$TMP/run2.rc" ) &
run=$!
wait_bytes_up $((base + per_event * 150))
eq "add answer" "$(proxy_cmd 'add downstream latency=200ms..800ms')" "ok add down:latency=200ms..800ms"
wait "$run"
eq "latency run exit code" "$(cat "$TMP/run2.rc")" 0
exact_clean "$f" latency 800
latency_rose "$f" latency
s=$(proxy_cmd stats)
nonzero "downstream chunks delayed" "$(jq -r .traffic.downstream.chunks_delayed <<<"$s")"
eq "upstream nothing delayed" "$(jq -r .traffic.upstream.chunks_delayed <<<"$s")" 0
eq "remove answer" "$(proxy_cmd 'remove downstream latency')" "ok remove downstream latency"

proxy_stop
eq "final: all closed" "$(jqv "$TMP/px.json" .connections.active)" 0
eq "final: no errors" "$(jqv "$TMP/px.json" .connections.errors)" 0
done_ok
