# docs/design.md §7: bad input gets one clear line naming the place and the fix, and
# exit code 2, before anything connects.
source "$(dirname "$0")/lib.bash"
S=$TMP/s.json
one_line() { CHECKS=$((CHECKS+1)); [ "$(wc -l <"$TMP/err")" = 1 ] || { cat "$TMP/err"; fail "$1: not one line"; }; }

printf '{\n  "name": "x",\n  "publish": { "rate": 10,, }\n}\n' >"$S"
run_rc 2 run "$S"
one_line malformed; grep -q "$S:3:" "$TMP/err" || fail "malformed: no file:line in $(cat "$TMP/err")"

printf '{\n  "target": "mock://",\n  "publsh": { "rate": 10 }\n}\n' >"$S"
run_rc 2 check "$S"
one_line misspelt; grep -q "$S:3:3:" "$TMP/err" || fail "misspelt: $(cat "$TMP/err")"
grep -q '"publish"' "$TMP/err" || fail "misspelt: no suggestion in $(cat "$TMP/err")"

printf '{\n  "target": "mock://",\n  "publish": { "duraton": "5s" }\n}\n' >"$S"
run_rc 2 check "$S"
one_line nested; grep -q '"duration"' "$TMP/err" || fail "nested misspelt: $(cat "$TMP/err")"

printf '{\n  "target": "mock://",\n  "publish": { "duration": "5x" }\n}\n' >"$S"
run_rc 2 check "$S"
one_line duration; grep -q "$S:3:" "$TMP/err" || fail "duration: $(cat "$TMP/err")"
grep -q '30s' "$TMP/err" || fail "duration: no example of the form in $(cat "$TMP/err")"

run_rc 2 run scenarios/smoke.json --target 'amqq://guest:secret@127.0.0.1/'
one_line scheme; grep -q 'unknown scheme "amqq"' "$TMP/err" || fail "scheme: $(cat "$TMP/err")"
grep -q secret "$TMP/err" && fail "scheme: password shown: $(cat "$TMP/err")"
grep -q 'mock' "$TMP/err" || fail "scheme: no list of schemes: $(cat "$TMP/err")"

run_rc 2 run scenarios/smoke.json --target 'mock://?drp=0.1'
one_line "mock param"; grep -q '"drop"' "$TMP/err" || fail "mock param: $(cat "$TMP/err")"

run_rc 2 run scenarios/smoke.json --set publish.rat=5
one_line "--set"; grep -q 'publish.rate' "$TMP/err" || fail "--set: $(cat "$TMP/err")"

run_rc 2 run "$TMP/missing.json"
one_line missing

run_rc 2 frobnicate
run_rc 2 run
run_rc 0 --version
grep -q '^evload ' "$TMP/out" || fail "--version: $(cat "$TMP/out")"
run_rc 0 run --help
grep -q 'publish.rate' "$TMP/out" || fail "run --help lists no settings"
# Publish only (verify.groups 0) cannot judge a delivery-side threshold.
printf '{\n  "target": "mock://",\n  "verify": { "groups": 0 },\n  "thresholds": { "ack": ["p(99)<100"], "lost": ["count==0"] }\n}\n' >"$S"
run_rc 2 check "$S"
one_line publish-only; grep -q "$S:3:.*verify.groups is 0.*\"lost\"" "$TMP/err" || fail "publish-only threshold: $(cat "$TMP/err")"
for s in scenarios/*.json; do run_rc 0 check "$s"; done
done_ok
