# Soak drift (docs/scenarios.md, Soak drift): with 1 s points (drift.interval) a throughput ramp
# shows a rising throughput slope that a drift threshold catches, and a
# constant rate reads flat; evload's own memory is a series of its own; a bad
# drift threshold is refused with the form expected.
source "$(dirname "$0")/lib.bash"
# The three runs (a ramp, a constant rate, a short one) are independent and
# mostly wait on their schedules: two of them run at once, each with its own
# output (run_rc_in), and all are checked afterwards.
S=$TMP/s.json
SR=$TMP/ramp-s.json
# A ramp 100 -> 1000 events/s over 10 s after a 2 s warm-up.
cat >"$SR" <<'JSON'
{ "target": "mock://",
  "warmup": "2s",
  "drift": { "interval": "1s" },
  "publish": { "executor": "ramping-arrival-rate", "lanes": 2, "start_rate": 100,
               "stages": [ { "duration": "10s", "target": 1000 } ] },
  "thresholds": { "lost": ["count==0"], "drift{metric:throughput}": ["slope<0"] } }
JSON
run_rc 0 check "$SR"
# A constant rate reads flat (the slope's interval includes 0): the threshold
# value is 0 and slope<1 passes.
cat >"$S" <<'JSON'
{ "target": "mock://",
  "warmup": "2s",
  "drift": { "interval": "1s" },
  "publish": { "rate": 400, "duration": "10s", "lanes": 2 },
  "thresholds": { "lost": ["count==0"], "drift{metric:throughput}": ["slope<1%", "slope>-1"] } }
JSON
# The flat run goes alone: beside another run, a second-to-second wobble of
# the pacer read as a slope (-118 %/h under ASan). The ramp's rise is far
# beyond such noise, and the short run has no points at all.
run_rc_in "$TMP/flat" 0 run "$S" --json "$TMP/flat.json"
run_rc_in "$TMP/ramp" 1 run "$SR" --json "$TMP/ramp.json" & pids=($!)
run_rc_in "$TMP/short" 1 run "$S" --set drift.interval=60s --set warmup=0s --set publish.duration=3s --json "$TMP/short.json" & pids+=($!)
wait_jobs "${pids[@]}"

f=$TMP/ramp.json
sed -n '/^drift /,/^$/p' "$TMP/ramp/out"
eq "interval" "$(jqv "$f" .drift.interval_s)" 1
# Nine or ten complete 1 s points over the 10 s of stages: the warm-up is not
# steady state, and the last second counts only when the reporter's tick for
# it came before publishing ended (otherwise it is the run's "end" point,
# which holds the drain too).
ge "throughput points" "$(jqv "$f" .drift.throughput.points)" 9
le "throughput points" "$(jqv "$f" .drift.throughput.points)" 10
eq "rising, not flat" "$(jqv "$f" .drift.throughput.flat)" false
# 90 events/s more every second: 324,000 events/s per hour; the fit within 10 %.
ge "slope" "$(jqv "$f" .drift.throughput.slope_per_h)" 291600
le "slope" "$(jqv "$f" .drift.throughput.slope_per_h)" 356400
gt "lower bound above 0" "$(jqv "$f" '.drift.throughput.ci95_per_h[0]')" 0
gt "threshold value" "$(jqv "$f" .drift.throughput.value)" 0
eq "the drift threshold failed" "$(jqv "$f" '[.thresholds[]|select(.metric=="drift{metric:throughput}")|.pass]|tostring')" "[false]"
grep -qE '^  throughput +mean .* RISING' "$TMP/ramp/out" || fail "summary line: $(sed -n '/^drift /,/^$/p' "$TMP/ramp/out")"
grep -qE '✗ drift\{metric:throughput\} +slope<0 ' "$TMP/ramp/out" || fail "threshold line"
eq "rss measured" "$(jqv "$f" .drift.rss.available)" true
eq "rss points" "$(jqv "$f" .drift.rss.points)" "$(jqv "$f" .drift.throughput.points)"
gt "rss in MiB" "$(jqv "$f" '.drift.rss.series[0][1]')" 1
gt "rss in every point" "$(jqv "$f" '[.timeseries[].rss|select(. > 0)]|length')" 11
eq "mock has no broker memory" "$(jqv "$f" .drift.broker_memory.available)" false
# The fitted values are those of the points: the first ~145/s (100..190 over its second).
ge "first point" "$(jqv "$f" '.drift.throughput.series[0][1]')" 120
le "first point" "$(jqv "$f" '.drift.throughput.series[0][1]')" 170

f=$TMP/flat.json
sed -n '/^drift /,/^$/p' "$TMP/flat/out"
ge "throughput points" "$(jqv "$f" .drift.throughput.points)" 9
le "throughput points" "$(jqv "$f" .drift.throughput.points)" 10
eq "flat" "$(jqv "$f" .drift.throughput.flat)" true
eq "threshold value 0" "$(jqv "$f" .drift.throughput.value)" 0
le "interval includes 0" "$(jqv "$f" '.drift.throughput.ci95_per_h[0]')" 0
ge "interval includes 0" "$(jqv "$f" '.drift.throughput.ci95_per_h[1]')" 0
ge "mean 400/s" "$(jqv "$f" .drift.throughput.mean)" 390
le "mean 400/s" "$(jqv "$f" .drift.throughput.mean)" 410
grep -qE '^  throughput +mean .* flat' "$TMP/flat/out" || fail "flat summary line"

# Under the default 60 s interval a short run has no points and says nothing;
# a drift threshold then cannot be said to hold.
eq "no points" "$(jqv "$TMP/short.json" .drift.throughput.points)" 0
grep -q 'drift{metric:throughput} .*not measured' "$TMP/short/out" || fail "not measured: $(grep drift "$TMP/short/out")"
grep -q '^drift ' "$TMP/short/out" && fail "a drift section without points"

# Refused before running: a bad aggregate, an unknown series, a bad interval.
run_rc 2 check "$S" --set 'thresholds={"drift{metric:rss}": ["max<5"]}'
grep -q 'expected slope OP NUMBER' "$TMP/err" || fail "bad aggregate: $(cat "$TMP/err")"
run_rc 2 check "$S" --set 'thresholds={"drift{metric:cpu}": ["slope<5"]}'
grep -q 'p99, throughput, rss, broker_memory' "$TMP/err" || fail "bad series: $(cat "$TMP/err")"
run_rc 2 check "$S" --set drift.interval=0s
grep -q 'drift.interval' "$TMP/err" || fail "bad interval: $(cat "$TMP/err")"
done_ok
