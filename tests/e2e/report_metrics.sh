# --metrics (issue 14): a Prometheus endpoint during the run that promtool
# accepts mid-run, with the latency histogram's buckets cumulative and exact;
# after the end it serves the final figures (for --metrics-linger), which
# equal the results file's (`evload report --prom` draws the same buckets).
source "$(dirname "$0")/lib.bash"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps)"
command -v curl >/dev/null || fail "curl is missing"
"$EVLOAD" run scenarios/smoke.json --target 'mock://?delay=2ms..20ms' --set publish.rate=300 \
  --set publish.duration=4s --metrics 127.0.0.1:0 --metrics-linger 30s --json "$TMP/r.json" \
  --quiet >"$TMP/run.out" 2>"$TMP/run.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q 'metrics at' "$TMP/run.err" && break; sleep 0.1; done
port=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$TMP/run.err")
[ -n "$port" ] || fail "no metrics URL on stderr: $(cat "$TMP/run.err")"
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
CHECKS=$((CHECKS+1))
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
for _ in $(seq 200); do [ -s "$TMP/r.json" ] && break; sleep 0.1; done
[ -s "$TMP/r.json" ] || fail "no results file"
sleep 0.5
curl -sf "$url" >"$TMP/end.txt" || fail "no scrape after the end (linger)"
CHECKS=$((CHECKS+1))
promtool check metrics <"$TMP/end.txt" >"$TMP/promtool.out" 2>&1 || { cat "$TMP/promtool.out"; fail "promtool rejected the final scrape"; }
eq "finished" "$(awk '/^evload_run_finished/{print $2}' "$TMP/end.txt")" 1
eq "final e2e count" "$(awk '/^evload_e2e_latency_seconds_count/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .latency.e2e.count)"
eq "final delivered" "$(awk '/^evload_delivery_events.*class="delivered"/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .deliver.delivered)"
eq "final published" "$(awk '/^evload_published_events_total/{print $2}' "$TMP/end.txt")" "$(jqv "$TMP/r.json" .publish.attempted)"
run_rc 0 report "$TMP/r.json" --prom "$TMP/file.prom"
CHECKS=$((CHECKS+1))
diff <(grep '_bucket' "$TMP/end.txt") <(grep '_bucket' "$TMP/file.prom") || fail "served buckets differ from report --prom's"
CHECKS=$((CHECKS+1)); promtool check metrics <"$TMP/file.prom" >/dev/null 2>&1 || fail "promtool rejected report --prom"
# Other paths and methods.
eq "404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" 404
eq "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")" 405
# Ctrl-C ends the linger at once; the run's exit code stands.
kill -INT $PID
rc=0; wait $PID || rc=$?
eq "exit after linger" "$rc" 0
run_rc 2 run scenarios/smoke.json --metrics nonsense --quiet
done_ok
