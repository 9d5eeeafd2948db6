# Reports: `evload run --out DIR` writes results.json, report.html,
# timeseries.csv and junit.xml; `evload report` redraws the same files from
# the results file alone, byte for byte (a run, a run with --history, a
# sweep); the page is self-contained and has one rate-chart point per second.
source "$(dirname "$0")/lib.bash"
O=$TMP/run
# 1% drops (seeded): the lost threshold fails, so the page and junit.xml have
# a failure and missing ids to show.
run_rc 1 run scenarios/smoke.json --target 'mock://?drop=0.01&delay=1ms..10ms&seed=3' \
  --set publish.rate=300 --set publish.duration=3s --out "$O" --missing "$TMP/missing.txt"
for f in results.json report.html timeseries.csv junit.xml; do
  CHECKS=$((CHECKS+1)); [ -s "$O/$f" ] || fail "--out wrote no $f"
done
R=$O/results.json
n=$(jqv "$R" '.timeseries|length')
ge "timeseries points" "$n" 3
planned "$R" run 900
lost=$(jqv "$R" .deliver.lost)
nonzero "lost (seeded drops)" "$lost"

# The same files from the results file alone, byte for byte.
run_rc 0 report "$R" --html "$TMP/r.html" --csv "$TMP/r.csv" --junit "$TMP/r.xml"
for p in "report.html r.html" "timeseries.csv r.csv" "junit.xml r.xml"; do
  set -- $p
  CHECKS=$((CHECKS+1)); cmp "$O/$1" "$TMP/$2" || fail "evload report's $2 differs from --out's $1"
done
run_rc 0 report "$R" --out "$TMP/again"
CHECKS=$((CHECKS+1)); cmp "$O/report.html" "$TMP/again/report.html" || fail "report --out differs"

# The page: one marker per second in the rate chart, everything inline.
H=$O/report.html
pts=$(awk '/<svg id="rate"/{on=1} on&&/<circle class="pt/{c++} on&&/<\/svg>/{on=0} END{print c+0}' "$H")
eq "rate chart points == timeseries entries" "$pts" "$n"
for bad in '<script' '<link' '<img' '<iframe' '@import' 'url(' 'src=' 'href="http' "href='http"; do
  CHECKS=$((CHECKS+1))
  if grep -qF -- "$bad" "$H"; then fail "report.html has $bad: not self-contained"; fi
done
for s in 'Thresholds' 'Threshold timeline' 'Achieved vs target rate' 'Latency over time' \
         'Latency percentile spectrum' 'Stages' 'Delivery' 'Backpressure' "The broker's own figures" \
         'Scenario and environment' 'svg id="spec"' 'svg id="lat"' 'svg id="thr"' 'svg id="bp"'; do
  CHECKS=$((CHECKS+1)); grep -qF -- "$s" "$H" || fail "report.html lacks \"$s\""
done
CHECKS=$((CHECKS+1)); grep -q 'class="verdict fail">FAIL<' "$H" || fail "verdict FAIL not shown first"
# The first missing id the page names is the first one --missing wrote.
first=$(awk '!/^#/{print $3; exit}' "$TMP/missing.txt")
CHECKS=$((CHECKS+1)); [ -n "$first" ] || fail "--missing wrote no id"
CHECKS=$((CHECKS+1)); grep -qF "first missing ids (lost or pending): <code>$first" "$H" ||
  fail "report.html does not name the first missing id $first"

# timeseries.csv: a header and one row per point.
eq "csv rows" "$(wc -l <"$O/timeseries.csv")" "$((n + 1))"
eq "csv header" "$(head -n 1 "$O/timeseries.csv" | cut -d, -f1-4 | tr -d '\r')" "t,phase,rate_target,rate_achieved"
eq "csv last sent" "$(tail -n 1 "$O/timeseries.csv" | cut -d, -f5)" "$(jqv "$R" '.timeseries[-1].sent')"

# junit.xml: one case per threshold and per output; the failures are the
# failed thresholds and the output with losses.
nthr=$(jqv "$R" '.thresholds|length'); nout=$(jqv "$R" '.deliver.outputs|length')
eq "junit testcases" "$(grep -c '<testcase ' "$O/junit.xml")" "$((nthr + nout))"
eq "junit failures" "$(grep -c '<failure ' "$O/junit.xml")" "$(jqv "$R" '[.thresholds[]|select(.pass|not)]|length + 1')"
grep -q "tests=\"$((nthr + nout))\" failures=\"2\"" "$O/junit.xml" || fail "junit totals: $(head -n 3 "$O/junit.xml")"

# --history: each run appends one line; the page shows the trend up to it,
# and `evload report --history` redraws it byte for byte.
for i in 1 2; do
  run_rc 0 run scenarios/smoke.json --target "mock://?delay=${i}ms..10ms" --set publish.duration=1s \
    --history "$TMP/hist" --out "$TMP/h$i" --quiet
done
eq "history lines" "$(wc -l <"$TMP/hist/index.jsonl")" 2
id1=$(jqv "$TMP/h1/results.json" .run.id); id2=$(jqv "$TMP/h2/results.json" .run.id)
eq "history order" "$(jq -r .run_id "$TMP/hist/index.jsonl" | paste -sd,)" "$id1,$id2"
CHECKS=$((CHECKS+1)); cmp -s "$TMP/hist/runs/$id2.json" "$TMP/h2/results.json" || fail "history copy of the results differs"
CHECKS=$((CHECKS+1)); grep -q '<h2>History</h2>' "$TMP/h2/report.html" || fail "no history section"
run_rc 0 report "$TMP/h2/results.json" --html "$TMP/h2r.html" --history "$TMP/hist"
CHECKS=$((CHECKS+1)); cmp "$TMP/h2/report.html" "$TMP/h2r.html" || fail "report --history differs from the run's page"
# The first run's page, redrawn later, shows the history only up to itself.
run_rc 0 report "$TMP/h1/results.json" --html "$TMP/h1r.html" --history "$TMP/hist"
CHECKS=$((CHECKS+1)); cmp "$TMP/h1/report.html" "$TMP/h1r.html" || fail "history beyond the run shown"

# Named streams: one row per stream with its own figures, a tagged
# threshold as a JUnit case, redrawn byte for byte; compare reads it.
cat >"$TMP/streams.json" <<'JSON'
{ "target": "mock://", "event": {"source": "/t"},
  "streams": [
    {"name": "alpha", "event": {"type": "t.alpha"}, "publish": {"rate": 100, "duration": "1s"}},
    {"name": "beta", "event": {"type": "t.beta"}, "publish": {"rate": 40, "duration": "1s", "lanes": 2}}],
  "thresholds": {"lost": ["count==0"], "e2e{stream:beta}": ["p(99)<1000"]} }
JSON
run_rc 0 run "$TMP/streams.json" --out "$TMP/st" --quiet
S=$TMP/st/results.json
planned "$S" streams 140
eq "stream alpha expected" "$(jqv "$S" '.streams[0].expected')" 100
eq "stream beta expected" "$(jqv "$S" '.streams[1].expected')" 40
eq "stream rows" "$(grep -c '<tr class="stream">' "$TMP/st/report.html")" 2
for row in '<td class="l">alpha</td><td class="l">t.alpha</td><td>0</td><td>1</td><td>100</td><td>100</td><td>0</td>' \
           '<td class="l">beta</td><td class="l">t.beta</td><td>0</td><td>2</td><td>40</td><td>40</td><td>0</td>'; do
  CHECKS=$((CHECKS+1)); grep -qF -- "<tr class=\"stream\">$row" "$TMP/st/report.html" || fail "no stream row $row"
done
eq "streams junit testcases" "$(grep -c '<testcase ' "$TMP/st/junit.xml")" 3
CHECKS=$((CHECKS+1)); grep -qF 'name="e2e{stream:beta} p(99)&lt;1000"' "$TMP/st/junit.xml" || fail "no tagged threshold case"
run_rc 0 report "$S" --out "$TMP/st2"
for f in report.html timeseries.csv junit.xml; do
  CHECKS=$((CHECKS+1)); cmp "$TMP/st/$f" "$TMP/st2/$f" || fail "streams $f differs"
done
run_rc 0 compare "$S" "$S"

# A sweep document: the scaling charts, each run's sections, reproduced.
cat >"$TMP/sweep.json" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "max-throughput", "count": 100, "max_in_flight": 1000 },
  "verify": { "prefetch": 1, "work": "5ms", "drain_timeout": "30s" },
  "sweep": { "verify.consumers": [1, 2] },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 0 run "$TMP/sweep.json" --out "$TMP/sw" --quiet
eq "sweep runs" "$(jqv "$TMP/sw/results.json" '.runs|length')" 2
run_rc 0 report "$TMP/sw/results.json" --out "$TMP/sw2"
for f in report.html timeseries.csv junit.xml; do
  CHECKS=$((CHECKS+1)); cmp "$TMP/sw/$f" "$TMP/sw2/$f" || fail "sweep $f differs"
done
for s in 'svg id="sweepthr"' 'svg id="sweeplat"' 'svg id="run0-rate"' 'svg id="run1-rate"'; do
  CHECKS=$((CHECKS+1)); grep -qF "$s" "$TMP/sw/report.html" || fail "sweep page lacks $s"
done
# The knee, when the sweep found one, is marked on both scaling charts.
# (Whether this sweep finds one depends on the machine's load: set it.)
jq '.sweep.knee = null' "$TMP/sw/results.json" >"$TMP/noknee.json"
run_rc 0 report "$TMP/noknee.json" --html "$TMP/noknee.html"
eq "no knee marked" "$(awk '/class="knee"/{c++} END{print c+0}' "$TMP/noknee.html")" 0
jq '.sweep.knee = "1"' "$TMP/sw/results.json" >"$TMP/knee.json"
run_rc 0 report "$TMP/knee.json" --html "$TMP/knee.html"
eq "knee marked" "$(grep -c 'class="knee"' "$TMP/knee.html")" 2
eq "sweep junit suites" "$(grep -c '<testsuite ' "$TMP/sw/junit.xml")" 2
eq "sweep csv rows" "$(wc -l <"$TMP/sw/timeseries.csv")" "$(jqv "$TMP/sw/results.json" '[.runs[].timeseries|length]|add + 1')"

# Usage errors.
run_rc 2 report "$R"
run_rc 2 report "$TMP/nonexistent.json" --html "$TMP/x.html"
echo '{"schema": 1}' >"$TMP/notresults.json"
run_rc 2 report "$TMP/notresults.json" --html "$TMP/x.html"
run_rc 2 check scenarios/smoke.json --out "$TMP/x"
done_ok
