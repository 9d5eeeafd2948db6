# deploy/: the Grafana dashboard and the Prometheus config. Every
# query in the dashboard parses (promtool check rules), names only metrics
# evload exposes (checked against a real run's exposition), and combines
# latency by summing buckets before histogram_quantile; the Prometheus config
# is valid and docker-compose mounts files that exist.
source "$(dirname "$0")/lib.bash"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps)"
D=deploy/grafana/evload-dashboard.json
jq -e . "$D" >/dev/null || fail "$D is not JSON"
eq "uid" "$(jqv "$D" .uid)" evload
exprs=$(jq -r '.panels[].targets[].expr' "$D")
ge "queries" "$(printf '%s\n' "$exprs" | wc -l)" 12
# As recording rules, so promtool parses each one (Grafana's variables given values).
{
  echo "groups:"
  echo "  - name: dashboard"
  echo "    rules:"
  i=0
  while IFS= read -r e; do
    i=$((i+1))
    e=${e//\$__rate_interval/1m}; e=${e//\$run_id/.*}
    printf '      - record: evload:dashboard:q%d\n        expr: %s\n' "$i" "$(jq -Rn --arg e "$e" '$e')"
  done <<<"$exprs"
} >"$TMP/rules.yml"
CHECKS=$((CHECKS+1))
promtool check rules "$TMP/rules.yml" >"$TMP/pt" 2>&1 || { cat "$TMP/pt" "$TMP/rules.yml"; fail "a dashboard query does not parse"; }
# Every metric the dashboard names is one evload exposes.
run_rc 0 run scenarios/smoke.json --target mock:// --set publish.duration=1s --json "$TMP/r.json" --quiet
run_rc 0 report "$TMP/r.json" --prom "$TMP/r.prom"
for m in $(printf '%s\n' "$exprs" | grep -o 'evload_[a-z0-9_]*' | sort -u); do
  CHECKS=$((CHECKS+1))
  grep -q "^$m[{ ]" "$TMP/r.prom" || fail "the dashboard queries $m, which evload does not expose"
done
# Percentiles only from buckets summed by le (never an average of quantiles).
CHECKS=$((CHECKS+1))
if printf '%s\n' "$exprs" | grep 'histogram_quantile' | grep -v 'sum by (le, run_id) (rate(evload_[a-z0-9_]*_bucket'; then
  fail "a percentile query does not sum buckets by le first"
fi
CHECKS=$((CHECKS+1))
promtool check config deploy/prometheus/prometheus.yml >"$TMP/pt" 2>&1 || { cat "$TMP/pt"; fail "prometheus.yml"; }
for f in deploy/prometheus/prometheus.yml deploy/grafana/provisioning deploy/grafana; do
  CHECKS=$((CHECKS+1)); grep -qF "./$f:" docker-compose.yml || fail "docker-compose.yml does not mount $f"
  CHECKS=$((CHECKS+1)); [ -e "$f" ] || fail "$f is missing"
done
done_ok
