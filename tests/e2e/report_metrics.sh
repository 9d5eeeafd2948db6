# --metrics: a Prometheus endpoint during the run that promtool
# accepts mid-run, with the latency histogram's buckets cumulative and exact;
# after the end it serves the final figures (for --metrics-linger), which
# equal the results file's (`evload report --prom` draws the same buckets).
source "$(dirname "$0")/lib.bash"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps)"
command -v curl >/dev/null || fail "curl is missing"
run_bg 120 run scenarios/smoke.json --target 'mock://?delay=2ms..20ms' --set publish.rate=300 \
  --set publish.duration=4s --metrics 127.0.0.1:0 --metrics-linger 30s --json "$TMP/r.json"
wait_until "the metrics URL on stderr" 10 grep -q 'metrics at' "$TMP/err"
port=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/err")
ev_check "metrics port"
[ -n "$port" ] || fail "no metrics URL on stderr: $(cat "$TMP/err")"
url="http://127.0.0.1:$port/metrics"

# Mid-run: a scrape once the first points are in, before the end.
mid=""
for _ in $(seq 100); do
  curl -sf "$url" >"$TMP/mid.txt" || fail "scrape failed"
  if grep -q '^evload_run_finished{.*} 0$' "$TMP/mid.txt" &&
     awk '/^evload_published_events_total/{exit !($2 >= 300)}' "$TMP/mid.txt"; then
    mid=1; break
  fi
  sleep 0.2
done
[ -n "$mid" ] || fail "no mid-run scrape: $(cat "$TMP/mid.txt")"
ev_check "promtool"
promtool check metrics <"$TMP/mid.txt" >"$TMP/promtool.out" 2>&1 || { cat "$TMP/promtool.out"; fail "promtool rejected the mid-run scrape"; }
# Buckets: the fixed bounds, cumulative, +Inf == _count.
nb=$(grep -c '^evload_e2e_latency_seconds_bucket' "$TMP/mid.txt")
eq "e2e buckets (22 bounds + Inf)" "$nb" 23
CHECKS=$((CHECKS+1))
awk '/^evload_e2e_latency_seconds_bucket/{ if ($2 < prev) bad=1; prev=$2 } END{exit bad}' "$TMP/mid.txt" ||
  fail "buckets not cumulative"
inf=$(awk '/^evload_e2e_latency_seconds_bucket.*le="\+Inf"/{print $2}' "$TMP/mid.txt")
cnt=$(awk '/^evload_e2e_latency_seconds_count/{print $2}' "$TMP/mid.txt")
eq "+Inf == count" "$inf" "$cnt"
nonzero "mid-run e2e count" "$cnt"
CHECKS=$((CHECKS+1)); grep -q 'le="0.001000447"' "$TMP/mid.txt" || fail "1 ms bound is not the end of its HDR slot"

# The end: the results file is written, then the final figures are served.
wait_until "the results file" 20 test -s "$TMP/r.json"
sleep 0.5
curl -sf "$url" >"$TMP/end.txt" || fail "no scrape after the end (linger)"
ev_check "promtool"
promtool check metrics <"$TMP/end.txt" >"$TMP/promtool.out" 2>&1 || { cat "$TMP/promtool.out"; fail "promtool rejected the final scrape"; }
eq "finished" "$(awk '/^evload_run_finished/{print $2}' "$TMP/end.txt")" 1
eq "final e2e count" "$(awk '/^evload_e2e_latency_seconds_count/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .latency.e2e.count)"
eq "final delivered" "$(awk '/^evload_delivery_events.*class="delivered"/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .deliver.delivered)"
eq "final published" "$(awk '/^evload_published_events_total/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .publish.attempted)"
# Other paths and methods.
eq "404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" 404
eq "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")" 405
# Ctrl-C ends the linger (30 s) at once; the run's exit code stands.
t0=$(ev_now_us)
kill -INT "$EV_PID"
wait_bg 0
lt "seconds from Ctrl-C to the end of the linger" "$((($(ev_now_us) - t0) / 1000000))" 5
planned "$TMP/r.json" metrics 1200
# The same buckets from the results file alone.
run_rc 0 report "$TMP/r.json" --prom "$TMP/file.prom"
CHECKS=$((CHECKS+1))
diff <(grep '_bucket' "$TMP/end.txt") <(grep '_bucket' "$TMP/file.prom") || fail "served buckets differ from report --prom's"
CHECKS=$((CHECKS+1)); promtool check metrics <"$TMP/file.prom" >/dev/null 2>&1 || fail "promtool rejected report --prom"
run_rc 2 run scenarios/smoke.json --metrics nonsense --quiet
done_ok
