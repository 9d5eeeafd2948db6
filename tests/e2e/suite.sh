# Suites (docs/scenarios.md, Suites): five short scenarios on mock://, one failing by a
# threshold, give the right table, index and exit code with stop_on_fail and
# without; a bad suite file is refused before anything runs, at its position;
# Ctrl-C stops the current member and skips the rest (exit 5); an unreachable
# member exits 3.
source "$(dirname "$0")/lib.bash"
D=$TMP/suites
mkdir -p "$D/sc"
# Five scenarios, 1 s at 200/s each (200 events); "slow" fails its e2e bound.
for n in one two three four five; do
  cat >"$D/sc/$n.json" <<JSON
{ "name": "$n", "target": "mock://",
  "publish": { "rate": 200, "duration": "1s", "lanes": 2 },
  "thresholds": { "lost": ["count==0"] } }
JSON
done
cat >"$D/sc/three.json" <<'JSON'
{ "name": "three", "target": "mock://?delay=20ms",
  "publish": { "rate": 200, "duration": "1s", "lanes": 2 },
  "thresholds": { "lost": ["count==0"], "e2e": ["p(95)<5"] } }
JSON
suite_file() { # NAME STOP_ON_FAIL
  cat >"$D/$1.json" <<JSON
{ "name": "$1", "stop_on_fail": $2,
  "members": [
    { "scenario": "sc/one.json" },
    { "scenario": "sc/two.json", "name": "two-fast", "set": { "publish.rate": 400 }, "cooldown": "1s" },
    { "scenario": "sc/three.json" },
    { "scenario": "sc/four.json" },
    { "scenario": "sc/five.json" }
  ] }
JSON
}

# The shipped suites and their members pass check (as scenarios/*.json do in e2e.errors).
for s in scenarios/suites/*.json scenarios/suites/members/*.json; do run_rc 0 check "$s"; done
run_rc 0 check scenarios/suites/s0-s4.json
grep -q '^ok: scenarios/suites/s0-s4.json is valid' "$TMP/out" || fail "s0-s4 check: $(cat "$TMP/out")"
grep -qE '^   5 s4-soak +members/s4-soak.json' "$TMP/out" || fail "s0-s4 members: $(cat "$TMP/out")"

# The four suite runs below are independent (each its own --out, its own
# output through run_rc_in): they go at once and are checked afterwards.
suite_file all false
suite_file stop true
run_rc 0 check "$D/all.json"
grep -q '^ok: ' "$TMP/out" || fail "check of a suite: $(cat "$TMP/out")"
cat >"$D/unreach.json" <<'JSON'
{ "members": [
    { "scenario": "sc/one.json", "name": "nowhere", "set": { "target": "redis://127.0.0.1:1?channel=x" } },
    { "scenario": "sc/two.json" } ] }
JSON
{
  t0=$(ev_now_us)
  run_rc_in "$TMP/o1" 1 suite "$D/all.json" --out "$D/o1" --quiet
  echo $(($(ev_now_us) - t0)) >"$TMP/o1/took_us"
} &
pids=($!)
run_rc_in "$TMP/o2" 1 suite "$D/stop.json" --out "$D/o2" --quiet & pids+=($!)
run_rc_in "$TMP/o3" 0 suite "$D/all.json" --out "$D/o3" --quiet --set 'thresholds={"lost": ["count==0"]}' & pids+=($!)
run_rc_in "$TMP/o5" 3 suite "$D/unreach.json" --out "$D/o5" --quiet & pids+=($!)
wait_jobs "${pids[@]}"

# Without stop_on_fail: every member runs; exit 1 for the one failure.
cat "$TMP/o1/out"
table=$(sed -n '/^suite all: 5 members/,$p' "$TMP/o1/out")
for row in "1 one pass 0" "2 two-fast pass 0" "3 three fail 1" "4 four pass 0" "5 five pass 0"; do
  set -- $row
  echo "$table" | grep -qE "^  $1 +$2 +$3 +[0-9.]+m?s +$4 " || fail "table row $row: $table"
done
echo "$table" | grep -qE '^  3 +three +fail .* e2e p\(95\)<5 \(' || fail "failing threshold not named: $table"
grep -q '^suite verdict: FAIL (exit 1)$' "$TMP/o1/out" || fail "suite verdict line"
f=$D/o1/suite.json
eq "index verdict" "$(jqv "$f" .verdict)" fail
eq "index exit code" "$(jqv "$f" .exit_code)" 1
eq "index verdicts" "$(jqv "$f" '[.members[].verdict]|join(",")')" "pass,pass,fail,pass,pass"
eq "index exit codes" "$(jqv "$f" '[.members[].exit_code]|join(",")')" "0,0,1,0,0"
eq "index dirs" "$(jqv "$f" '[.members[].dir|split("/")|last]|join(",")')" "01-one,02-two-fast,03-three,04-four,05-five"
eq "failing threshold in the index" "$(jqv "$f" '.members[2].failed_thresholds[0].expr')" "p(95)<5"
gt "its measured value" "$(jqv "$f" '.members[2].failed_thresholds[0].value')" 5
for i in 0 1 2 3 4; do
  r=$(jqv "$f" ".members[$i].results")
  [ -s "$r" ] || fail "member $i results file $r"
  eq "member $i verdict in its results" "$(jqv "$r" .verdict)" "$(jqv "$f" ".members[$i].verdict")"
  ge "member $i duration" "$(jqv "$f" ".members[$i].duration_s")" 1
done
# Each member's directory holds what `evload run --out DIR` writes.
for x in results.json report.html timeseries.csv junit.xml; do
  [ -s "$D/o1/03-three/$x" ] || fail "member 3's $x: $(ls "$D/o1/03-three")"
done
grep -q '<failure' "$D/o1/03-three/junit.xml" || fail "member 3's junit.xml has no failure"
# The member's set applied: 400/s for 1 s.
planned "$D/o1/02-two-fast/results.json" "two-fast" 400
planned "$D/o1/01-one/results.json" "one" 200
# The cooldown after member 2 happened: five 1 s runs + 1 s.
ge "suite took the runs and the cooldown" "$(($(cat "$TMP/o1/took_us") / 1000))" 6000

# With stop_on_fail: the members after the failure are skipped.
table=$(sed -n '/^suite stop: 5 members/,$p' "$TMP/o2/out")
for row in "1 one pass" "2 two-fast pass" "3 three fail" "4 four skipped" "5 five skipped"; do
  set -- $row
  echo "$table" | grep -qE "^  $1 +$2 +$3 " || fail "stop_on_fail table row $row: $table"
done
f=$D/o2/suite.json
eq "stop_on_fail verdicts" "$(jqv "$f" '[.members[].verdict]|join(",")')" "pass,pass,fail,skipped,skipped"
eq "skipped members have no exit code" "$(jqv "$f" '[.members[3,4].exit_code|tostring]|join(",")')" "null,null"
eq "skipped reason" "$(jqv "$f" '.members[4].skipped_reason')" "stop_on_fail: an earlier member did not pass"
[ ! -e "$D/o2/04-four" ] || fail "a skipped member ran"
eq "stop_on_fail exit code" "$(jqv "$f" .exit_code)" 1

# --set on the command line applies to every member, after its own: all pass
# once the e2e bound is lifted.
eq "every member passes" "$(jqv "$D/o3/suite.json" '[.members[].verdict]|unique|join(",")')" pass
eq "suite passes" "$(jqv "$D/o3/suite.json" .exit_code)" 0

# A bad suite file: refused whole, at its position, before anything runs.
cat >"$D/bad.json" <<'JSON'
{ "members": [
    { "scenario": "sc/one.json" },
    { "scenario": "sc/two.json",
      "set": { "publish.rate": -5 } }
  ] }
JSON
run_rc 2 suite "$D/bad.json" --out "$D/o4"
grep -qF "$D/bad.json:4:32: --set publish.rate: must be > 0" "$TMP/err" || fail "bad set position: $(cat "$TMP/err")"
[ ! -e "$D/o4" ] || fail "a bad suite ran something"
run_rc 2 check "$D/bad.json"
grep -qF "$D/bad.json:4:32:" "$TMP/err" || fail "check: bad set position: $(cat "$TMP/err")"
printf '{ "members": [\n  { "scenario": "sc/one.json", "cooldwn": "1s" } ] }\n' >"$D/bad2.json"
run_rc 2 suite "$D/bad2.json"
grep -qF "$D/bad2.json:2:32: unknown key \"cooldwn\" in \"members[0]\"; did you mean \"cooldown\"?" "$TMP/err" || fail "unknown member key: $(cat "$TMP/err")"
printf '{ "members": [\n  { "scenario": "sc/one.json" },\n  { "scenario": "sc/missing.json" } ] }\n' >"$D/bad3.json"
run_rc 2 suite "$D/bad3.json"
grep -qF "$D/bad3.json:3:17: member 2 (sc/missing.json): $D/sc/missing.json: cannot open" "$TMP/err" || fail "missing scenario: $(cat "$TMP/err")"
printf '{ "members": [\n  { "scenario": "sc/one.json" }\n  { "scenario": "sc/two.json" } ] }\n' >"$D/bad4.json"
run_rc 2 suite "$D/bad4.json"
grep -qF "$D/bad4.json:3:3:" "$TMP/err" || fail "syntax error position: $(cat "$TMP/err")"
# An error inside a member's scenario keeps its own position behind the suite's.
printf '{ "target": "mock://",\n  "publish": { "rate": "fast" } }\n' >"$D/sc/broken.json"
printf '{ "members": [ { "scenario": "sc/broken.json" } ] }\n' >"$D/bad5.json"
run_rc 2 check "$D/bad5.json"
grep -qF "$D/bad5.json:1:30: member 1 (sc/broken.json): $D/sc/broken.json:2:24:" "$TMP/err" || fail "nested position: $(cat "$TMP/err")"

# An unreachable member exits 3, as run does; the next member still runs.
eq "unreachable verdicts" "$(jqv "$D/o5/suite.json" '[.members[].verdict]|join(",")')" "error,pass"
eq "unreachable exit codes" "$(jqv "$D/o5/suite.json" '[.members[].exit_code]|join(",")')" "3,0"
grep -qE '^  1 +nowhere +error .*cannot connect' "$TMP/o5/out" || fail "error row: $(cat "$TMP/o5/out")"

# Ctrl-C: the current member ends incomplete, the rest are skipped, exit 5.
cat >"$D/long.json" <<'JSON'
{ "members": [
    { "scenario": "sc/one.json" },
    { "scenario": "sc/two.json", "name": "long", "set": { "publish.duration": "60s" } },
    { "scenario": "sc/four.json" } ] }
JSON
run_bg 60 suite "$D/long.json" --out "$D/o6"
wait_until "member 2 publishing" 20 grep -q 'member 2/3' "$TMP/out"
await_status sent 100 20
kill -INT "$EV_PID"
wait_bg 5
f=$D/o6/suite.json
eq "interrupted verdicts" "$(jqv "$f" '[.members[].verdict]|join(",")')" "pass,incomplete,skipped"
eq "interrupted flag" "$(jqv "$f" .interrupted)" true
eq "interrupted exit code" "$(jqv "$f" .exit_code)" 5
eq "interrupted member's exit code" "$(jqv "$f" '.members[1].exit_code')" 5
eq "skipped after the interrupt" "$(jqv "$f" '.members[2].skipped_reason')" "interrupted before it ran"
le "member 2 stopped early" "$(jqv "$f" '.members[1].duration_s')" 20
grep -q '^suite verdict: INCOMPLETE (exit 5)$' "$TMP/out" || fail "interrupted verdict line: $(tail -n 8 "$TMP/out")"
done_ok
