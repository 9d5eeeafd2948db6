# evload search's edges: help and usage errors, a start rate that already
# fails (exit 1), --max-rate reached (exit 0, flagged), a step evload itself
# cannot keep (invalid: the load generator is the limit, exit 5), Ctrl-C
# (exit 5, partial results), --quiet. scenarios/search-mock.json targets
# mock://?capacity=5000 with e2e p99 < 200 ms.
source "$(dirname "$0")/lib.bash"
M=scenarios/search-mock.json

run_rc 0 search --help
for o in --start-rate --step --drain --precision --max-rate --max-steps --max-lag --json INVALID; do
  grep -q -- "$o" "$TMP/out" || fail "search --help does not explain $o"
done
run_rc 0 --help
grep -q '^  search ' "$TMP/out" || fail "evload --help does not list search"

# Usage errors (exit 2), each naming what is wrong.
run_rc 2 search
run_rc 2 search "$M" --precision 0
grep -q -- '--precision 0' "$TMP/err" || fail "precision error: $(cat "$TMP/err")"
run_rc 2 search "$M" --max-steps 1
run_rc 2 search "$M" --start-rate fast
run_rc 2 search "$M" --step 0s
run_rc 2 search "$M" --start-rate 4000 --max-rate 2000
grep -q 'max-rate is below the start rate' "$TMP/err" || fail "max-rate error: $(cat "$TMP/err")"
run_rc 2 search "$M" --set 'thresholds={}'
grep -q 'no thresholds' "$TMP/err" || fail "no-thresholds error: $(cat "$TMP/err")"
run_rc 2 search scenarios/rabbitmq-ramp.json --target mock://
grep -q 'needs publish.executor "constant-arrival-rate"' "$TMP/err" || fail "executor error: $(cat "$TMP/err")"
run_rc 2 search scenarios/streams.json --target mock://
grep -q 'has no one rate to search' "$TMP/err" || fail "streams error: $(cat "$TMP/err")"
run_rc 2 search "$M" --target 'mock://?capacty=5'
grep -q 'capacity' "$TMP/err" || fail "target error: $(cat "$TMP/err")"

# The start rate fails: one step, exit 1, no maximum.
run_rc 1 search "$M" --start-rate 8000 --step 1s --json "$TMP/f.json"
f=$TMP/f.json
eq "start fails: outcome" "$(jqv "$f" .search.outcome)" start_fails
eq "start fails: one step" "$(jqv "$f" '.search.steps | length')" 1
eq "start fails: its verdict" "$(jqv "$f" '.search.steps[0] | "\(.rate) \(.verdict)"')" "8000 fail"
grep -q 'e2e p(99)<200' <<<"$(jqv "$f" '.search.steps[0].why')" || fail "the failing threshold is not named"
is_null "start fails: no max" "$(jqv_nullable "$f" .search.max_rate)"
eq "start fails: not confirmed" "$(jqv "$f" .search.confirmed)" false
grep -q '^no sustainable rate: the start rate 8000/s already failed' "$TMP/out" || fail "start-fails line: $(cat "$TMP/out")"

# --max-rate holds: doubling stops there and confirms it; the result says the
# real maximum may be higher.
# (A step a loaded machine kept evload from keeping runs again: left out.)
run_rc 0 search "$M" --start-rate 500 --max-rate 1500 --step 1s --json "$TMP/m.json"
f=$TMP/m.json
eq "max-rate: steps" "$(jqv "$f" '[.search.steps[] | select(.verdict != "invalid") | "\(.phase) \(.rate) \(.verdict)"] | join(",")')" \
  "double 500 pass,double 1000 pass,double 1500 pass,confirm 1500 pass"
eq "max-rate: max" "$(jqv "$f" .search.max_rate)" 1500
eq "max-rate: flagged" "$(jqv "$f" .search.max_rate_reached)" true
eq "max-rate: option recorded" "$(jqv "$f" .search.options.max_rate)" 1500
grep -q 'that is --max-rate: the real maximum may be higher' "$TMP/out" || fail "max-rate line: $(cat "$TMP/out")"

# Every step misses evload's own lag limit (1 ns): invalid, not a failure of
# the system; the search stops saying the load generator is the limit.
run_rc 5 search "$M" --start-rate 1000 --step 1s --max-lag 1ns --json "$TMP/g.json"
f=$TMP/g.json
eq "generator: outcome" "$(jqv "$f" .search.outcome)" generator
eq "generator: the step and its rerun" "$(jqv "$f" '[.search.steps[] | "\(.rate) \(.verdict) \(.retry)"] | join(",")')" \
  "1000 invalid false,1000 invalid true"
grep -q 'running it once more' "$TMP/out" || fail "no rerun line"
grep -q 'evload could not keep the schedule' <<<"$(jqv "$f" '.search.steps[0].why')" || fail "invalid reason"
is_null "generator: no max" "$(jqv_nullable "$f" .search.max_rate)"
eq "generator: limit recorded" "$(jqv "$f" .search.generator_limit)" 1000
grep -q '^the load generator is the limit' "$TMP/out" || fail "generator line: $(cat "$TMP/out")"
grep -q 'invalid: evload could not keep the schedule' "$TMP/out" || fail "no live invalid line"

# --quiet: only the result line.
run_rc 0 search "$M" --start-rate 1000 --max-rate 1000 --step 1s --quiet
eq "quiet output" "$(cat "$TMP/out")" "max sustainable rate: 1000 events/s"

# Ctrl-C during a step: the step is cut short and not judged; exit 5, the
# results say interrupted and keep the step's run.
run_bg 60 search "$M" --step 30s --json "$TMP/i.json"
await_status sent 200 30
kill -INT "$EV_PID"
wait_bg 5
f=$TMP/i.json
eq "interrupted: outcome" "$(jqv "$f" .search.outcome)" interrupted
eq "interrupted: no judged step" "$(jqv "$f" '.search.steps | length')" 0
eq "interrupted: the cut run kept" "$(jqv "$f" '.runs | length')" 1
eq "interrupted: its verdict" "$(jqv "$f" '.runs[0].verdict')" incomplete
grep -q '^search INCOMPLETE: interrupted' "$TMP/out" || fail "interrupted line: $(cat "$TMP/out")"
done_ok
