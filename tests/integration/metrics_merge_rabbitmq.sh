#!/usr/bin/env bash
# Prometheus buckets add up across instances: two evload instances
# of one run (--instance 0/2 and 1/2, one run_id) on one RabbitMQ queue,
# competing consumers, each serving --metrics. After the end each serves its
# final figures; the two scrapes' e2e and ack buckets, summed per `le`, equal
# the buckets of `evload merge`'s histogram (evload report --prom) exactly —
# the bounds are ends of evload's HDR slots, so no count is interpolated.
source "$(dirname "$0")/rabbitmq_lib.bash"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps)"
rmq_start
cat >"$TMP/m.json" <<'JSON'
{ "name": "metrics-merge",
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 200, "duration": "3s" },
  "verify": { "groups": 1, "consumers": 1, "prefetch": 10, "drain_timeout": "30s" },
  "thresholds": { "lost": ["count==0"] } }
JSON
T="$AMQP_BASE/%2f?exchange=$EX&queue=$Q&exchange_type=direct"
CLEANUP_QUEUES+=("$Q")
pids=()
for i in 0 1; do
  timeout 120 "$EVLOAD" run "$TMP/m.json" --target "$T" --set run_id="p$SUFFIX" --instance "$i/2" \
    --metrics 127.0.0.1:0 --metrics-linger 60s --json "$TMP/s$i.json" --quiet \
    >"$TMP/out$i" 2>"$TMP/err$i" &
  pids+=($!)
done
stop_all() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; }
on_exit stop_all
for i in 0 1; do
  wait_until "instance $i's metrics URL" 10 grep -q 'metrics at' "$TMP/err$i"
  port[$i]=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/err$i")
  [ -n "${port[$i]}" ] || fail "instance $i printed no metrics URL: $(cat "$TMP/err$i")"
done
# Both results written: the final figures are being served.
for i in 0 1; do
  wait_until "instance $i's results file" 60 test -s "$TMP/s$i.json"
done
sleep 0.5
for i in 0 1; do
  curl -sf "http://127.0.0.1:${port[$i]}/metrics" >"$TMP/scrape$i.txt" || fail "instance $i: scrape failed"
  eq "instance $i finished" "$(awk '/^evload_run_finished/{print $2}' "$TMP/scrape$i.txt")" 1
  CHECKS=$((CHECKS+1))
  promtool check metrics <"$TMP/scrape$i.txt" >"$TMP/pt$i" 2>&1 || { cat "$TMP/pt$i"; fail "promtool: instance $i"; }
  nonzero "instance $i e2e count" "$(jqv "$TMP/s$i.json" .latency.e2e.count)"
done
stop_all
for i in 0 1; do
  rc=0; wait "${pids[$i]}" || rc=$?
  expect_rc "instance $i" "$rc" 0
  no_sanitizer_report "instance $i" "$TMP/err$i"
done
pids=()
run_rc 0 merge "$TMP/s0.json" "$TMP/s1.json" -o "$TMP/merged.json" --quiet
planned "$TMP/merged.json" merged 600
eq "merged lost" "$(jqv "$TMP/merged.json" .deliver.lost)" 0
eq "merged e2e count == sum" "$(jqv "$TMP/merged.json" .latency.e2e.count)" \
  "$(( $(jqv "$TMP/s0.json" .latency.e2e.count) + $(jqv "$TMP/s1.json" .latency.e2e.count) ))"
run_rc 0 report "$TMP/merged.json" --prom "$TMP/merged.prom"
# Sum the two scrapes' buckets per metric and le; compare with the merged ones.
for m in evload_e2e_latency_seconds evload_ack_latency_seconds; do
  sed -n "s/^${m}_bucket{run_id=\"[^\"]*\",le=\"\([^\"]*\)\"} \([0-9]*\)$/\1 \2/p" \
    "$TMP/scrape0.txt" "$TMP/scrape1.txt" |
    awk '{ if (!($1 in s)) o[n++] = $1; s[$1] += $2 } END { for (i = 0; i < n; i++) print o[i], s[o[i]] }' \
      >"$TMP/$m.sum"
  sed -n "s/^${m}_bucket{run_id=\"[^\"]*\",le=\"\([^\"]*\)\"} \([0-9]*\)$/\1 \2/p" "$TMP/merged.prom" >"$TMP/$m.merged"
  eq "$m buckets" "$(wc -l <"$TMP/$m.merged")" 23
  CHECKS=$((CHECKS+1))
  diff "$TMP/$m.sum" "$TMP/$m.merged" || fail "$m: summed instance buckets differ from the merged histogram's"
  nonzero "$m total" "$(awk '$1=="+Inf"{print $2}' "$TMP/$m.merged")"
done
# Both instances measured something (the sum is not one instance's alone).
for i in 0 1; do
  nonzero "instance $i +Inf" "$(awk '/^evload_e2e_latency_seconds_bucket.*le="\+Inf"/{print $2}' "$TMP/scrape$i.txt")"
done
done_ok
