# Redis Pub/Sub through `evload proxy` (docs/faults.md): a real run through
# the proxy with no toxic loses nothing and counts exactly what a direct run
# counts, and the proxy's byte counters agree both ways; then
# `add downstream latency=200ms..800ms`, typed on the proxy's stdin while
# the run publishes, raises e2e latency into that range and loses nothing.
source "$(dirname "$0")/../e2e/lib.bash"
source "$(dirname "$0")/proxy_lib.bash"
trap 'proxy_kill; rm -rf "$TMP"' EXIT
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
CH=evload-it-proxy-$$-$RANDOM
proxy_start 127.0.0.1:6379
URL="redis://$PROXY?channel=$CH"

# 1. No toxic: exact counts, 2 lanes and 2 subscribers through the proxy.
f=$TMP/clean.json
run_rc 0 run scenarios/redis-pubsub-smoke.json --target "$URL" --set publish.rate=500 \
  --set publish.duration=4s --json "$f" --quiet
eq "clean attempted" "$(jqv "$f" .publish.attempted)" 2000
eq "clean acked" "$(jqv "$f" .publish.acked)" 2000
eq "clean lost" "$(jqv "$f" .deliver.lost)" 0
eq "clean delivered" "$(jqv "$f" .deliver.delivered)" 4000
eq "clean duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "clean corrupted" "$(jqv "$f" .deliver.corrupted)" 0
eq "clean shortfall" "$(jqv "$f" .broker.redis.publish_shortfall)" 0
eq "clean drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
eq "clean target is the proxy" "$(jqv "$f" .run.target)" "$URL"
s=$(proxy_cmd stats)
up_bytes=$(jq -r .traffic.upstream.bytes_in <<<"$s")
nonzero "clean bytes upstream" "$up_bytes"
eq "clean upstream in==out" "$(jq -r .traffic.upstream.bytes_out <<<"$s")" "$up_bytes"
eq "clean downstream in==out" "$(jq -r .traffic.downstream.bytes_out <<<"$s")" "$(jq -r .traffic.downstream.bytes_in <<<"$s")"
eq "clean nothing delayed" "$(jq -r '.traffic.upstream.bytes_delayed + .traffic.downstream.bytes_delayed' <<<"$s")" 0
eq "clean no errors" "$(jq -r '.connections.errors + .connections.aborted + .connections.reset + .connections.upstream_failed' <<<"$s")" 0
# One connection per lane and per subscriber at least, all closed again.
ge "clean connections" "$(jq -r .connections.accepted <<<"$s")" 4
eq "clean all closed" "$(jq -r .connections.active <<<"$s")" 0
eq "list empty" "$(proxy_cmd list)" "ok list"

# 2. Latency switched on while publishing: 8 s at 200 events/s; the toxic
#    comes on once the proxy has seen ~1.5 s of this run's publishing
#    (bytes per event from run 1).
per_event=$((up_bytes / 2000))
base=$(proxy_stat .traffic.upstream.bytes_in)
f=$TMP/latency.json
( "$EVLOAD" run scenarios/redis-pubsub-smoke.json --target "$URL" --set publish.rate=200 \
    --set publish.duration=8s --set 'thresholds={"lost":["count==0"]}' --json "$f" --quiet \
    >"$TMP/run2.out" 2>"$TMP/run2.err" 7>&-; echo $? >"$TMP/run2.rc" ) &
run=$!
wait_bytes_up $((base + per_event * 300))
eq "add answer" "$(proxy_cmd 'add downstream latency=200ms..800ms')" "ok add down:latency=200ms..800ms"
eq "list" "$(proxy_cmd list)" "ok list down:latency=200ms..800ms"
wait "$run"
eq "latency run exit code" "$(cat "$TMP/run2.rc")" 0
eq "latency attempted" "$(jqv "$f" .publish.attempted)" 1600
eq "latency acked" "$(jqv "$f" .publish.acked)" 1600
eq "latency lost" "$(jqv "$f" .deliver.lost)" 0
eq "latency delivered" "$(jqv "$f" .deliver.delivered)" 3200
eq "latency duplicated" "$(jqv "$f" .deliver.duplicated)" 0
eq "latency shortfall" "$(jqv "$f" .broker.redis.publish_shortfall)" 0
eq "latency drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
latency_rose "$f" latency
s=$(proxy_cmd stats)
nonzero "downstream chunks delayed" "$(jq -r .traffic.downstream.chunks_delayed <<<"$s")"
eq "upstream nothing delayed" "$(jq -r .traffic.upstream.chunks_delayed <<<"$s")" 0
eq "history" "$(jq -r '.history | map(.action + " " + .toxic) | join(",")' <<<"$s")" "add down:latency=200ms..800ms"
eq "remove answer" "$(proxy_cmd 'remove down:latency')" "ok remove down:latency"
eq "list after remove" "$(proxy_cmd list)" "ok list"

proxy_stop
eq "final: all closed" "$(jqv "$TMP/px.json" .connections.active)" 0
eq "final: accepted==closed" "$(jqv "$TMP/px.json" .connections.accepted)" "$(jqv "$TMP/px.json" .connections.closed)"
done_ok
