# Sweeps: one run per value, a scaling table, and
# throughput that rises with concurrency for sleep-bound work (10 ms an
# event: long enough that start-up and the drain's checks stay small next to it).
source "$(dirname "$0")/lib.bash"
S=$TMP/s.json
cat >"$S" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "max-throughput", "count": 300, "max_in_flight": 1000 },
  "verify": { "prefetch": 1, "work": "10ms", "drain_timeout": "60s" },
  "sweep": { "verify.consumers": [1, 2, 4] },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 0 run "$S" --json "$TMP/r.json"
grep -q '^sweep over verify.consumers' "$TMP/out" || fail "no scaling table: $(cat "$TMP/out")"
grep -q '^knee: ' "$TMP/out" || fail "no knee line"
f=$TMP/r.json
eq "rows" "$(jqv "$f" '.sweep.rows|length')" 3
eq "runs" "$(jqv "$f" '.runs|length')" 3
eq "values" "$(jqv "$f" '[.sweep.rows[].value]|join(",")')" "1,2,4"
eq "every run planned 300" "$(jqv "$f" '[.runs[].publish.expected]|join(",")')" "300,300,300"
eq "every run published 300" "$(jqv "$f" '[.runs[].publish.attempted]|join(",")')" "300,300,300"
eq "consumers applied" "$(jqv "$f" '[.runs[].deliver.delivered]|join(",")')" "300,300,300"
eq "lost" "$(jqv "$f" 'sum(.runs[].deliver.lost)')" 0
t1=$(jqv "$f" '.sweep.rows[0].throughput'); t2=$(jqv "$f" '.sweep.rows[1].throughput'); t4=$(jqv "$f" '.sweep.rows[2].throughput')
ge "2 consumers beat 1 by 1.5x" "$t2" "$(awk -v a="$t1" 'BEGIN{print a*1.5}')"
ge "4 consumers beat 2 by 1.5x" "$t4" "$(awk -v a="$t2" 'BEGIN{print a*1.5}')"
eq "first efficiency is 1" "$(jqv "$f" '.sweep.rows[0].efficiency')" 1
# A bad value is caught at load time, with the place.
cat >"$S" <<'JSON'
{ "target": "mock://",
  "sweep": { "verify.consumers": [1, 0] } }
JSON
run_rc 2 check "$S"
grep -q "$S:2:" "$TMP/err" || fail "bad sweep value: $(cat "$TMP/err")"
grep -q 'value 2' "$TMP/err" || fail "bad sweep value not named: $(cat "$TMP/err")"
printf '{ "target": "mock://", "sweep": { "verify.consumer": [1] } }\n' >"$S"
run_rc 2 check "$S"
grep -q '"verify.consumers"' "$TMP/err" || fail "sweep key suggestion: $(cat "$TMP/err")"
done_ok
