# Executors end to end on mock://: exact event counts from the schedule,
# warm-up published and accounted but left out of latency and rate, linear
# ramps, and max-throughput by count.
source "$(dirname "$0")/lib.bash"
S=$TMP/s.json

# constant-arrival-rate with warm-up: 1 s warm-up + 2 s at 500/s.
run_rc 0 run scenarios/smoke.json --set publish.rate=500 --set publish.duration=2s \
  --set warmup=1s --json "$TMP/w.json" --quiet
f=$TMP/w.json
planned "$f" "warm-up events are published:" 1500
eq "measured excludes warm-up" "$(jqv "$f" .publish.measured)" 1000
eq "latency excludes warm-up" "$(jqv "$f" .latency.e2e.count)" 1000
eq "warm-up events are accounted" "$(jqv "$f" .deliver.delivered)" 1500
ge "achieved rate ~ target" "$(jqv "$f" .publish.rate_achieved)" 490
le "achieved rate <= target" "$(jqv "$f" .publish.rate_achieved)" 501

# ramping-arrival-rate: 0→600/s over 1 s (300 events), 600/s for 1 s (600),
# 600→0 over 1 s (300): 1200 events, over 2 lanes.
cat >"$S" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "ramping-arrival-rate", "lanes": 2, "start_rate": 0,
               "stages": [ { "duration": "1s", "target": 600 },
                           { "duration": "1s", "target": 600 },
                           { "duration": "1s", "target": 0 } ] },
  "thresholds": { "lost": ["count==0"], "sched_lag": ["p(50)<50"] } }
JSON
run_rc 0 check "$S"
grep -q 'expected 1200 events' "$TMP/out" || fail "check: $(cat "$TMP/out")"
run_rc 0 run "$S" --json "$TMP/r.json" --quiet
planned "$TMP/r.json" "ramp events:" 1200
eq "ramp delivered" "$(jqv "$TMP/r.json" .deliver.delivered)" 1200
eq "ramp target rate" "$(jqv "$TMP/r.json" .publish.rate_target)" 400
# The middle of the plateau asks for ~600/s.
ge "plateau target" "$(jqv "$TMP/r.json" '[.timeseries[]|select(.phase=="stage 2/3")|.rate_target]|max')" 590

# max-throughput by count, 3 lanes: 1000 events exactly, no schedule.
cat >"$S" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "max-throughput", "lanes": 3, "count": 1000 },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 0 run "$S" --json "$TMP/m.json" --quiet
planned "$TMP/m.json" "max-throughput count:" 1000
eq "max-throughput delivered" "$(jqv "$TMP/m.json" .deliver.delivered)" 1000
eq "no target rate" "$(jqv "$TMP/m.json" .publish.rate_target)" 0

# max-throughput for a duration: the plan fixes no count (expected null), so
# attempted is whatever the lanes managed; every one is accounted for.
cat >"$S" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "max-throughput", "lanes": 2, "duration": "500ms", "max_in_flight": 1000 },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 0 run "$S" --json "$TMP/d.json" --quiet
is_null "max-throughput for a duration: expected" "$(jqv_nullable "$TMP/d.json" .publish.expected)"
nonzero "max-throughput for a duration: attempted" "$(jqv "$TMP/d.json" .publish.attempted)"
eq "max-throughput for a duration: delivered" "$(jqv "$TMP/d.json" .deliver.delivered)" \
   "$(jqv "$TMP/d.json" .publish.attempted)"
done_ok
