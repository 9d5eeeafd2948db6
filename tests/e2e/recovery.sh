# Recovery after a rate drop (issue 15, item 4), against a known answer:
# scenarios/mock-recovery.json on mock://?capacity=1000: 800/s for 5 s
# (base), 2000/s for 4 s (spike: the queue grows by 1000/s to ~4000), then
# 800/s for 24 s (after: it drains at 1000 - 800 = 200/s). The backlog is
# gone, and e2e p99 back at base's level, backlog / (capacity - rate) ≈ 20 s
# after the boundary at 9 s. The measured recovery and drain time must match
# that within 10 % (from the backlog the run itself measured); the recovery
# threshold passes with a bound above it and fails with one below it.
# One 33 s run: the drain has to be long enough that the timeseries' 1 s
# resolution stays well inside the 10 % (1 s of 20 s); a shorter spike or a
# faster drain would make the check a matter of rounding.
source "$(dirname "$0")/lib.bash"
C=1000
R=800
f=$TMP/r.json
# The bound below: half the expected time. Exit 1: that threshold fails.
run_rc 1 run scenarios/mock-recovery.json \
  --set 'thresholds={"lost": ["count==0"], "recovery": ["max<300s"], "recovery{stage:spike}": ["max<10s"]}' \
  --json "$f"
planned "$f" "recovery" $((800 * 5 + 2000 * 4 + 800 * 24))
eq "lost" "$(jqv "$f" .deliver.lost)" 0
eq "capacity" "$(jqv "$f" .broker.mock.capacity)" $C

eq "one boundary where the rate drops" "$(jqv "$f" '.recovery | length')" 1
rv() { jqv "$f" ".recovery[0]$1"; }
eq "from" "$(rv .from)" spike
eq "to" "$(rv .to)" after
eq "at the end of the spike" "$(rv .at_s)" 9
eq "rate from" "$(rv .rate_from)" 2000
eq "rate to" "$(rv .rate_to)" $R
eq "baseline: the stage before the spike" "$(rv .baseline.stage)" base
ge "baseline seconds" "$(rv .baseline.seconds)" 3
eq "recovered" "$(rv .recovered)" true
# The backlog: (2000 - 1000)/s for 4 s, as the mock itself saw it too.
backlog=$(rv .backlog)
ge "backlog >= 0.9 x 4000" "$backlog" 3600
le "backlog <= 1.1 x 4000" "$backlog" 4400
le "backlog <= the mock's deepest queue" "$backlog" "$(jqv "$f" .broker.mock.max_queue)"
expect=$(awk -v b="$backlog" -v c=$C -v r=$R 'BEGIN { print b / (c - r) }')
rec=$(rv .recovery_s)
drain=$(rv .drain_s)
echo "backlog $backlog: expected $expect s; recovery $rec s, drain $drain s"
ge "recovery >= 0.9 x backlog/(capacity - rate)" "$rec" "$(awk -v e="$expect" 'BEGIN { print 0.9 * e }')"
le "recovery <= 1.1 x backlog/(capacity - rate)" "$rec" "$(awk -v e="$expect" 'BEGIN { print 1.1 * e }')"
ge "drain >= 0.9 x backlog/(capacity - rate)" "$drain" "$(awk -v e="$expect" 'BEGIN { print 0.9 * e }')"
le "drain <= 1.1 x backlog/(capacity - rate)" "$drain" "$(awk -v e="$expect" 'BEGIN { print 1.1 * e }')"
le "drained no later than recovered (+1 s resolution)" "$drain" "$(awk -v r="$rec" 'BEGIN { print r + 1 }')"

# Thresholds: max<300s holds with the measured value; {stage:spike} max<10s
# fails on it.
thr() { jqv "$f" ".thresholds[] | select(.metric == \"$1\") | $2"; }
eq "recovery max<300s passes" "$(thr recovery .pass)" true
eq "its value is the boundary's" "$(thr recovery .value)" "$rec"
eq "recovery{stage:spike} max<10s fails" "$(thr 'recovery{stage:spike}' .pass)" false
eq "its value" "$(thr 'recovery{stage:spike}' .value)" "$rec"
eq "verdict" "$(jqv "$f" .verdict)" fail
# The summary: one recovery line per boundary, the thresholds with seconds.
grep -q "^  spike → after at 9.00 s (2000 → 800/s): back after " "$TMP/out" ||
  fail "no recovery line in the summary: $(grep -A3 '^recovery' "$TMP/out")"
grep -qE "✗ recovery\{stage:spike\} +max<10s +[0-9.]+ s$" "$TMP/out" ||
  fail "the failed threshold's line: $(grep 'recovery{stage:spike}' "$TMP/out")"

# `check` refuses what cannot be judged.
run_rc 2 check scenarios/mock-recovery.json --set 'thresholds={"recovery": ["count==0"]}'
grep -q "only max, min and avg apply to recovery" "$TMP/err" || fail "check: $(cat "$TMP/err")"
run_rc 2 check scenarios/mock-recovery.json --set 'thresholds={"recovery{stage:nope}": ["max<3s"]}'
grep -q 'nope' "$TMP/err" || fail "check: an unknown stage: $(cat "$TMP/err")"
# A boundary that is not a drop (base → spike rises), and a plan with no
# stages: nothing to measure, refused before the run rather than reported
# "not measured" after it.
run_rc 2 check scenarios/mock-recovery.json --set 'thresholds={"recovery{stage:base}": ["max<300s"]}'
grep -q 'the rate does not drop at the end of stage "base"; it drops at the end of "spike"' "$TMP/err" ||
  fail "check: a stage that ends in a rise: $(cat "$TMP/err")"
run_rc 2 run scenarios/smoke.json --target mock:// --set 'thresholds={"recovery": ["max<10s"]}'
grep -q 'the rate never drops from one stage to the next' "$TMP/err" ||
  fail "run: recovery on a constant rate: $(cat "$TMP/err")"
done_ok
