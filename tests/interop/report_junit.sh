#!/usr/bin/env bash
# junit.xml read by a third-party JUnit parser (npm junit2json): one
# test case per threshold and per output's loss check, the failures where the
# run failed, and the totals the parser computes agree with the file's.
source "$(dirname "$0")/../e2e/lib.bash"
[ -d tests/interop/node_modules/junit2json ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
parse() { timeout 60 node tests/interop/report_helper.mjs junit "$1" >"$2" || fail "junit2json could not parse $1"; }
# Two named outputs: the target itself (1% dropped, seeded) and a second
# mock source nothing reaches (every event lost there); thresholds: lost
# fails, the others hold.
cat >"$TMP/s.json" <<'JSON'
{ "name": "junit-interop",
  "target": "mock://?drop=0.01&seed=3",
  "publish": { "executor": "constant-arrival-rate", "rate": 300, "duration": "2s" },
  "verify": { "outputs": { "main": { "source": "mock://?drop=0.01&seed=3" },
                           "second": { "source": "mock://" } } },
  "thresholds": { "lost": ["count==0"], "corrupted": ["count==0"], "e2e": ["p(99)<5000"] } }
JSON
run_rc 1 run "$TMP/s.json" --out "$TMP/run" --quiet
R=$TMP/run/results.json
parse "$TMP/run/junit.xml" "$TMP/j.json"
J=$TMP/j.json
nthr=$(jqv "$R" '.thresholds|length'); nout=$(jqv "$R" '.deliver.outputs|length')
eq "thresholds" "$nthr" 3
eq "suites" "$(jqv "$J" '.testsuite|length')" 1
eq "test cases" "$(jqv "$J" '[.testsuite[0].testcase[]]|length')" "$((nthr + nout))"
eq "threshold cases" "$(jqv "$J" '[.testsuite[0].testcase[]|select(.classname=="evload.junit-interop.thresholds")]|length')" "$nthr"
eq "loss cases" "$(jqv "$J" '[.testsuite[0].testcase[]|select(.classname=="evload.junit-interop.delivery")]|length')" "$nout"
eq "lost case fails" "$(jqv "$J" '.testsuite[0].testcase[]|select(.name=="lost count==0")|.failure|length')" 1
eq "lost message" "$(jqv "$J" '.testsuite[0].testcase[]|select(.name=="lost count==0")|.failure[0].message')" \
  "lost = $(jqv "$R" .deliver.lost), which does not satisfy count==0"
eq "corrupted holds" "$(jqv "$J" '.testsuite[0].testcase[]|select(.name=="corrupted count==0")|has("failure")')" false
eq "e2e holds (< escaped and read back)" "$(jqv "$J" '.testsuite[0].testcase[]|select(.name=="e2e p(99)<5000")|has("failure")')" false
eq "outputs" "$nout" 2
lossy=$(jqv "$R" '[.deliver.outputs[]|select(.lost>0)]|length')
eq "lossy outputs" "$lossy" 2
eq "loss case names" "$(jqv "$J" '[.testsuite[0].testcase[]|select(.classname=="evload.junit-interop.delivery")|.name]|join(",")')" "main: no loss,second: no loss"
eq "loss failures" "$(jqv "$J" '[.testsuite[0].testcase[]|select(.classname=="evload.junit-interop.delivery")|select(.failure)]|length')" "$lossy"
eq "parser's failures == file's" "$(jqv "$J" .failures)" "$((1 + lossy))"
eq "parser's tests" "$(jqv "$J" .tests)" "$((nthr + nout))"
eq "run id property" "$(jqv "$J" '.testsuite[0].properties[]|select(.name=="evload.run.id")|.value')" "$(jqv "$R" .run.id)"
# A passing run: every case passes.
run_rc 0 run scenarios/smoke.json --target mock:// --set publish.duration=1s --out "$TMP/ok" --quiet
parse "$TMP/ok/junit.xml" "$TMP/ok.json"
eq "passing run: failures" "$(jqv "$TMP/ok.json" '[.testsuite[0].testcase[]|select(.failure or .error)]|length')" 0
eq "passing run: cases" "$(jqv "$TMP/ok.json" '[.testsuite[0].testcase[]]|length')" \
  "$(jqv "$TMP/ok/results.json" '(.thresholds|length) + (.deliver.outputs|length)')"
done_ok
