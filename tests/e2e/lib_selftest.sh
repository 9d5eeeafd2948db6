# The test helpers of tests/e2e/lib.bash, tested: each case runs in a fresh
# bash that sourced lib.bash, as a test script does. The good inputs must
# pass; the bad ones (a missing key, null, "", text where a number belongs, a
# lookup that failed inside "$(…)") must FAIL the test, naming the check. No
# broker, no evload run: a stand-in binary plays evload where one is needed.
source "$(dirname "$0")/lib.bash"
LIB=$(cd "$(dirname "$0")" && pwd)/lib.bash
R=$TMP/r.json
cat >"$R" <<'JSON'
{ "publish": { "expected": 900, "attempted": 900, "acked": 890, "failed": 10, "duration_s": 2.5,
               "measured": 900, "name": "", "ratio": 0.5 },
  "deliver": { "lost": 0, "groups": [ { "lost": 2 }, { "lost": 3 } ], "verified": true },
  "broker": { "kafka": { "appended": null } },
  "list": [1, 2] }
JSON
# A stand-in for evload: exits with $FAKE_RC after printing $FAKE_ERR (and,
# with FAKE_STATUS set, status lines as `--progress` prints them).
FAKE=$TMP/fake-evload
cat >"$FAKE" <<'SH'
#!/usr/bin/env bash
printf '%b' "${FAKE_ERR:-}" >&2
if [ -n "${FAKE_STATUS:-}" ]; then
  sleep 0.3
  for i in 1 2 3; do
    echo "publish   [#.........] 10%    $i.0s  rate 100/100/s  sent $((i * FAKE_STATUS))  recv 0  lost 0  in-flight 0  p99 1.0 ms" >&2
    sleep 0.2
  done
fi
sleep "${FAKE_LINGER:-0}"
exit "${FAKE_RC:-0}"
SH
chmod +x "$FAKE"

# t WANT CODE [MESSAGE]: runs CODE after sourcing lib.bash (evload = the
# stand-in); WANT pass: it exits 0 and reaches its end; WANT fail: it exits
# 1 before its end, and its stderr says FAIL (and MESSAGE, when given);
# WANT fail-at-exit: the same, except that no check after the failure
# stopped it earlier, so the exit did.
t() {
  local want=$1 code=$2 msg=${3:-} rc=0
  ( cd "$TMP" && R=$R bash -c "source '$LIB' '$FAKE'; $code
echo REACHED-END" ) >"$TMP/case.out" 2>"$TMP/case.err" || rc=$?
  CHECKS=$((CHECKS + 1))
  case $want in
    pass)
      [ "$rc" = 0 ] && grep -q REACHED-END "$TMP/case.out" ||
        fail "should pass, exited $rc: $code
$(cat "$TMP/case.err")" ;;
    fail | fail-at-exit)
      [ "$rc" = 1 ] || fail "should fail with exit 1, exited $rc: $code
$(cat "$TMP/case.out" "$TMP/case.err")"
      [ "$want" = fail-at-exit ] || ! grep -q REACHED-END "$TMP/case.out" ||
        fail "went on after a failed check: $code"
      grep -q '^FAIL: ' "$TMP/case.err" || fail "no FAIL line: $code"
      [ -z "$msg" ] || grep -qF -- "$msg" "$TMP/case.err" ||
        fail "message lacks '$msg': $code
$(cat "$TMP/case.err")" ;;
  esac
}

# jqv: one present, non-null value.
t pass '[ "$(jqv "$R" .publish.attempted)" = 900 ] || exit 9'
t pass '[ "$(jqv "$R" .deliver.verified)" = true ] || exit 9'
t pass '[ "$(jqv "$R" .list)" = "[1,2]" ] || exit 9'
t fail 'x=$(jqv "$R" .publish.atempted)' 'null: no such key'
t fail 'x=$(jqv "$R" .broker.kafka.appended)' 'null'
t fail 'x=$(jqv "$R" .publish.name)' 'an empty string'
t fail 'x=$(jqv "$R" ".list[]")' 'gave 2 values'
t fail 'x=$(jqv "$R" ".nothing[]?")' 'gave 0 values'
t fail 'x=$(jqv "$R" ".publish.(")' 'jqv'
t fail 'x=$(jqv "$TMP/no-such.json" .a)' 'no-such.json'
# A failed lookup inside "$(…)" ends the test even where the comparison
# would pass: two lookups that found nothing are not equal.
t fail 'eq "both missing" "$(jqv "$R" .a)" "$(jqv "$R" .b)"' 'both missing'
t fail 'echo "$(jqv "$R" .a)"; done_ok' 'the end'
t fail-at-exit 'echo "$(jqv "$R" .a)"' 'no such key'
t fail 'ge "p50" "$(jqv "$R" .latency.p50)" 0' 'p50'
t fail 'x=$(( $(jqv "$R" .missing) + 1 )); eq "arith" "$x" 1' 'no such key'
t fail 'eq "arith" "$(( $(jqv "$R" .missing) + 1 ))" 1' 'arith: a value it needs could not be read'
# sum(): jq's + takes a missing operand as 0; sum fails on it.
t pass 'eq s "$(jqv "$R" "sum(.publish.acked, .publish.failed)")" 900'
t pass 'eq s "$(jqv "$R" "sum(.deliver.groups[].lost)")" 5'
t fail 'eq s "$(jqv "$R" "sum(.publish.acked, .publish.faild)")" 890' 'not a number: null'
t fail 'eq s "$(jqv "$R" "sum(.deliver.nogroups[]?.lost)")" 0' 'sum of nothing'
t fail 'eq s "$(jqv "$R" "sum(.publish.name)")" 0' 'not a number'
# jqv_each: several values, one line each, each refused as jqv refuses it.
t pass '[ "$(jqv_each "$R" .publish.attempted .deliver.verified "sum(.publish.acked, .publish.failed)")" = "$(printf "900\ntrue\n900")" ] || exit 9'
t fail 'x=$(jqv_each "$R" .publish.attempted .publish.atempted)' '.publish.atempted: null'
t fail 'x=$(jqv_each "$R" .publish.name)' '.publish.name: an empty string'
t fail 'x=$(jqv_each "$R" ".list[]")' 'gave 2 values'
t fail 'x=$(jqv_each "$R" "sum(.publish.acked, .publish.nope)")' 'not a number'
# exact: the ledger against the mock's ground truth; a missing value fails.
M=$TMP/m.json
cat >"$M" <<'JSON'
{ "publish": { "attempted": 100, "acked": 98, "failed": 2 },
  "deliver": { "lost": 3, "pending": 0, "late": 0, "duplicated": 1, "corrupted": 1, "unconfirmed": 2,
               "recovered": 0, "foreign": 0, "drain_timed_out": false, "delivered": 95,
               "groups": [ { "lost": 3 } ] },
  "broker": { "mock": { "dropped": 2, "corrupted_events": 1, "duplicated_intact": 1, "corrupted": 1,
                        "nacked": 2, "left_in_queues": 0 } } }
JSON
t pass 'exact "'"$M"'" ctx'
jq '.deliver.lost = 4' "$M" >"$TMP/m-lost.json"
t fail 'exact "'"$TMP/m-lost.json"'" ctx' 'ctx lost==mock.dropped+corrupted_events: 4 != 3'
jq 'del(.broker.mock.left_in_queues)' "$M" >"$TMP/m-missing.json"
t fail 'exact "'"$TMP/m-missing.json"'" ctx' '.broker.mock.left_in_queues: null'
jq '.deliver.delivered = 94' "$M" >"$TMP/m-sum.json"
t fail 'exact "'"$TMP/m-sum.json"'" ctx' 'ctx classes add up: 99 != 100'
# jqv_nullable: null is allowed, a missing key is not.
t pass 'is_null "appended unknown" "$(jqv_nullable "$R" .broker.kafka.appended)"'
t pass 'eq n "$(jqv_nullable "$R" .publish.acked)" 890'
t fail 'x=$(jqv_nullable "$R" .broker.kafka.apended)' 'no such key'
t fail 'x=$(jqv_nullable "$R" .broker.redis.appended)' 'no such key'
t fail 'is_null "n" ""' 'is not null'
t fail 'is_null "n" 0' 'is not null'

# eq: text, neither side empty or null.
t pass 'eq a 1 1; eq b true true; eq c "x y" "x y"'
t fail 'eq a 1 2' 'a: 1 != 2'
t fail 'eq a null null' 'an empty or null side'
t fail 'eq a "" ""' 'an empty or null side'
t fail 'eq a 0 ""' 'an empty or null side'
t fail 'eq a null 0' 'an empty or null side'

# ge, le, gt, lt, nonzero: numbers only.
t pass 'ge a 5 5; ge b 6 5; ge c 1e3 5; ge d -1 -2; ge e 2.5 2.49; le f 5 5; le g 4 5; gt h 6 5; lt i 4 5'
t pass 'nonzero a 3; nonzero b -2; nonzero c 0.5'
for bad in null '""' abc '"1 2"' '"5x"' '"-"'; do
  t fail "ge 'check ge' $bad 5" "check ge: "
  t fail "ge 'check ge' 5 $bad" "check ge: "
  t fail "le 'check le' $bad 5" "check le: "
  t fail "le 'check le' 5 $bad" "check le: "
  t fail "gt 'check gt' $bad 0" "check gt: "
  t fail "lt 'check lt' $bad 9" "check lt: "
  t fail "nonzero 'check nonzero' $bad" "check nonzero: "
done
t fail 'ge a 4 5' 'a: 4 < 5'
t fail 'le a 6 5' 'a: 6 > 5'
t fail 'gt a 5 5' 'a: 5 <= 5'
t fail 'lt a 5 5' 'a: 5 >= 5'
t fail 'nonzero a 0' 'a is 0'
t fail 'nonzero a 0.0' 'a is 0'

# planned: publish.expected and attempted, exactly.
t pass 'planned "$R" ctx 900'
t fail 'planned "$R" ctx 899' 'ctx publish.expected: 900 != 899'
printf '{ "publish": { "expected": null, "attempted": 900 } }\n' >"$TMP/null-expected.json"
t fail 'planned "'"$TMP/null-expected.json"'" ctx 900' 'null'
printf '{ "publish": { "expected": 900, "attempted": 899 } }\n' >"$TMP/short.json"
t fail 'planned "'"$TMP/short.json"'" ctx 900' 'ctx attempted==expected: 899 != 900'

# run_rc / expect_rc: the exit code, and a sanitizer report named as such.
t pass 'run_rc 0 run x'
t pass 'FAKE_RC=1 run_rc 1 run x'
t fail 'FAKE_RC=1 run_rc 0 run x' 'exited 1, expected 0'
t fail 'FAKE_RC=86 run_rc 1 run x' 'exited 86 (a sanitizer report: AddressSanitizer/LeakSanitizer'
t fail 'FAKE_RC=87 run_rc 1 run x' 'exited 87 (a sanitizer report: UndefinedBehaviorSanitizer'
t fail 'FAKE_RC=124 run_rc 0 run x' 'stopped by timeout'
t fail 'FAKE_ERR="SUMMARY: AddressSanitizer: heap-use-after-free x.c:1\n" run_rc 0 run x' 'a sanitizer report on stderr'
t fail 'FAKE_ERR="x.c:3:5: runtime error: signed integer overflow\n" FAKE_RC=1 run_rc 1 run x' 'a sanitizer report on stderr'
# run_rc_in / wait_jobs: runs at once, each with its own output; a failed
# job fails the test, whether or not a check came after it.
t pass 'run_rc_in "$TMP/a" 0 run x & a=$!; FAKE_RC=1 run_rc_in "$TMP/b" 1 run x & wait_jobs $a $!; [ -e "$TMP/a/out" ] && [ -e "$TMP/b/err" ]'
t fail 'run_rc_in "$TMP/a" 0 run x & a=$!; FAKE_RC=1 run_rc_in "$TMP/b" 0 run x & wait_jobs $a $!' 'exited 1, expected 0'
t fail 'FAKE_RC=1 run_rc_in "$TMP/b" 0 run x & wait_jobs $!' 'background jobs'
t pass 'expect_rc what 1 0 1'
t fail 'expect_rc what 2 0 1' 'what exited 2, expected 0 or 1'
t fail 'expect_rc what "" 0' 'what exited , expected 0'
t pass '[[ ":$ASAN_OPTIONS:" == *:exitcode=86:* && ":$UBSAN_OPTIONS:" == *:exitcode=87:* ]] || exit 9'
# Options that would collide with evload's exit codes are refused.
rc=0; ASAN_OPTIONS=exitcode=1 bash -c "source '$LIB' '$FAKE'" 2>"$TMP/o.err" || rc=$?
eq "ASAN exitcode=1 refused" "$rc" 1
grep -q "one of evload's exit codes" "$TMP/o.err" || fail "no reason given: $(cat "$TMP/o.err")"

# Background runs and fault timing.
t pass 'FAKE_STATUS=5 run_bg 10 run x; await_status sent 5 5; s=$(since_start); ge since "$s" 1; le since "$s" 1.3; wait_bg 0'
t fail 'FAKE_STATUS=5 run_bg 10 run x; await_status sent 1000 5' 'evload ended before sent reached 1000'
t fail 'FAKE_STATUS=0 FAKE_RC=0 run_bg 10 run x; await_status sent 1 5' 'evload ended before sent reached 1'
t fail 'FAKE_STATUS=5 FAKE_LINGER=3 run_bg 10 run x; await_status sent 1000 1' 'did not reach 1000 within 1 s'
t fail 'FAKE_STATUS=5 FAKE_RC=86 run_bg 10 run x; await_status sent 5 5; wait_bg 0 1' 'a sanitizer report'
t fail 'run_bg 10 run x --quiet' '--quiet hides the status line'
t fail 'since_start' 'no await_status before it'
t pass 'during_publish fault "$R" 0.4 2.4'
t fail 'during_publish fault "$R" 2.6' 'before publishing ended (2.5s): 2.6 >= 2.5'
t fail 'during_publish fault "$R" 0' 'after publishing began: 0 <= 0'
# A failure in a background subshell still fails the test.
t fail '( fail "in the background" ) & wait $! || true; eq next 1 1' 'next: a value it needs could not be read (in the background)'
# … and at the end, when no check follows it.
rc=0; bash -c "source '$LIB' '$FAKE'; ( fail 'in the background' ) & wait \$! || true; echo REACHED-END" >"$TMP/bg.out" 2>&1 || rc=$?
eq "a background failure fails the test at exit" "$rc" 1
grep -q 'FAIL: in the background' "$TMP/bg.out" || fail "no FAIL line: $(cat "$TMP/bg.out")"
done_ok
