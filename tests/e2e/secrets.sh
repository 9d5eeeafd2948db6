# Passwords never show: whatever characters a password holds ('@',
# ':', '/', '%40', spaces, non-ASCII), given in the URL (percent-encoded) or
# through ${VAR} (raw), no 3-byte piece of it appears in anything evload
# prints: the plan of `evload check` for every scheme, the one-line error of a
# run against an address where nothing listens (exit 3), usage errors (exit
# 2), and the status line, summary and results JSON of a whole run (mock://,
# which takes and ignores a userinfo) and of a sweep. Real brokers with real
# passwords: tests/integration/secrets_brokers.sh.
source "$(dirname "$0")/lib.bash"

# Pieces of these must not occur in evload's fixed texts: odd letters.
PW_AT='Qv@Jk@9'
PW_COLON='Zx:Wq:7'
PW_SLASH='Yh/Kb/5'
PW_PCT='Uf%40Gm'          # a literal "%40", not an '@'
PW_ALL='Jq@:/%40Gz ?#&=$ä' # everything at once (for ${VAR}: raw)

# plan_target: the "target" line of the plan `evload check` printed.
plan_target() { sed -n 's/^target    //p' "$TMP/out"; }

# Every scheme that takes a userinfo, the password a printf %s.
declare -A FORM=(
  [redis]='redis://u:%s@127.0.0.1:6379/2?channel=c'
  [bullmq]='bullmq://u:%s@127.0.0.1:6379/2?queue=q'
  [amqp]='amqp://guest:%s@127.0.0.1:5672/%%2f?exchange=x&queue=q'
  [kafka]='kafka://u:%s@127.0.0.1:9092,127.0.0.1:9093/topic'
)
# unreachable SCHEME TARGET DIR: TARGET (its address made 127.0.0.1:$port,
# where nothing listens) run, with DIR as $TMP: exit 3, one line on stderr
# naming the redacted address and the port, no piece of the password anywhere.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
unreachable() {
  local scheme=$1 t=$2 TMP=$3 shown
  mkdir -p "$TMP"
  t=${t//127.0.0.1:6379/127.0.0.1:$port}; t=${t//127.0.0.1:5672/127.0.0.1:$port}
  t=${t//127.0.0.1:9092,127.0.0.1:9093/127.0.0.1:$port}
  EVLOAD_T_PASS=$PW_ALL run_rc 3 run scenarios/smoke.json --target "$t" \
    --set publish.duration=1s --json "$TMP/r.json"
  one_line "$scheme unreachable"
  shown=$t; [[ $t == *EVLOAD_T_PASS* ]] || shown=${t/$(enc "$PW_ALL")/***}
  grep -qF "$shown" "$TMP/err" || fail "$scheme unreachable: $shown not in $(cat "$TMP/err")"
  grep -qF ":$port" "$TMP/err" || fail "$scheme unreachable: no port in $(cat "$TMP/err")"
  no_leak "$scheme unreachable" "$PW_ALL" "$TMP/out" "$TMP/err" "$TMP/r.json"
  rm -f "$TMP/r.json"
}
one_line() { CHECKS=$((CHECKS+1)); [ "$(wc -l <"$TMP/err")" = 1 ] || { cat "$TMP/err"; fail "$1: not one line"; }; }
# shellcheck disable=SC2059
unreachable kafka "$(printf "${FORM[kafka]}" "$(enc "$PW_ALL")")" "$TMP/kafka" &
kafka_pid=$!

# 1. evload check, every scheme that takes a userinfo, each password in the
#    URL (percent-encoded); the plan shows *** and nothing of it.
for scheme in redis bullmq amqp kafka; do
  for pw in "$PW_AT" "$PW_COLON" "$PW_SLASH" "$PW_PCT" "$PW_ALL"; do
    # shellcheck disable=SC2059
    t=$(printf "${FORM[$scheme]}" "$(enc "$pw")")
    # shellcheck disable=SC2059
    want=$(printf "${FORM[$scheme]}" '***')
    run_rc 0 check scenarios/smoke.json --target "$t"
    eq "$scheme check shows" "$(plan_target)" "$want"
    no_leak "$scheme check" "$pw" "$TMP/out" "$TMP/err"
  done
  # '@' and ':' need no encoding (the userinfo ends at the last '@').
  # shellcheck disable=SC2059
  run_rc 0 check scenarios/smoke.json --target "$(printf "${FORM[$scheme]}" "$PW_AT$PW_COLON")"
  # shellcheck disable=SC2059
  eq "$scheme raw @: shows" "$(plan_target)" "$(printf "${FORM[$scheme]}" '***')"
  no_leak "$scheme raw @:" "$PW_AT$PW_COLON" "$TMP/out" "$TMP/err"
  # Through ${VAR}: raw, any character; the plan shows the name.
  # shellcheck disable=SC2059
  t=$(printf "${FORM[$scheme]}" '${EVLOAD_T_PASS}')
  EVLOAD_T_PASS=$PW_ALL run_rc 0 check scenarios/smoke.json --target "$t"
  eq "$scheme \${VAR} shows" "$(plan_target)" "$t"
  no_leak "$scheme \${VAR}" "$PW_ALL" "$TMP/out" "$TMP/err"
done

# The scenario's "target" key, with ${VAR}: the same.
S=$TMP/s.json
printf '{ "target": "amqp://guest:${EVLOAD_T_PASS}@127.0.0.1:5672/%%2f?queue=q" }\n' >"$S"
EVLOAD_T_PASS=$PW_ALL run_rc 0 check "$S"
eq "scenario \${VAR} shows" "$(plan_target)" 'amqp://guest:${EVLOAD_T_PASS}@127.0.0.1:5672/%2f?queue=q'
no_leak "scenario \${VAR}" "$PW_ALL" "$TMP/out" "$TMP/err"

# 2. Usage errors (exit 2, one line): the variable unset (named), a '/' left
#    unencoded (refused: ambiguous, everything up to the '@' hidden), a bad
#    escape in the password, an unknown scheme, a bad port, no scheme at all.
env -u EVLOAD_T_PASS "$EVLOAD" check scenarios/smoke.json \
  --target 'redis://u:${EVLOAD_T_PASS}@127.0.0.1:6379?channel=c' >"$TMP/out" 2>"$TMP/err" && fail "unset: exit 0"
one_line unset
grep -q 'environment variable EVLOAD_T_PASS (in the password) is not set' "$TMP/err" || fail "unset: $(cat "$TMP/err")"
# (the message itself says "%40", so that piece is left out of PW_RAW)
PW_RAW=${PW_ALL/\%40/}
for t in "amqp://guest:$PW_SLASH@127.0.0.1:5672/%2f?queue=q" \
         "amqp://guest:$PW_RAW@127.0.0.1:5672/%2f?queue=q"; do
  run_rc 2 check scenarios/smoke.json --target "$t"
  one_line "raw /"
  grep -qF 'target "amqp://***@127.0.0.1:5672/%2f?queue=q": cannot tell where the password ends' "$TMP/err" \
    || fail "raw /: $(cat "$TMP/err")"
  grep -q 'percent-encode' "$TMP/err" || fail "raw /: no fix in $(cat "$TMP/err")"
  no_leak "raw /" "$PW_SLASH" "$TMP/out" "$TMP/err"
  no_leak "raw /" "$PW_RAW" "$TMP/out" "$TMP/err"
done
for t in "redis://u:$PW_AT%zz@127.0.0.1:6379?channel=c|bad percent-escape in the password" \
         "amqq://u:$(enc "$PW_ALL")@127.0.0.1/|unknown scheme \"amqq\"" \
         "redis://u:$PW_AT$PW_COLON@127.0.0.1:99999?channel=c|bad port \"99999\"" \
         "u:$PW_AT$PW_COLON@127.0.0.1:5672|is not a URL"; do
  run_rc 2 run scenarios/smoke.json --target "${t%|*}"
  one_line "${t#*|}"
  grep -qF "${t#*|}" "$TMP/err" || fail "${t#*|}: $(cat "$TMP/err")"
  grep -qF '***@127.0.0.1' "$TMP/err" || fail "${t#*|}: no redacted address in $(cat "$TMP/err")"
  no_leak "${t#*|}" "$PW_AT$PW_COLON" "$TMP/out" "$TMP/err"
  no_leak "${t#*|}" "$PW_ALL" "$TMP/out" "$TMP/err"
done

# kafka.* pass-through settings may carry a secret too (ssl.key.password):
# ${VAR} works there, and a refused setting names its key, not its value.
run_rc 2 run scenarios/kafka-smoke.json --target kafka://embedded/t --set publish.duration=1s \
  --set "kafka.ssl.key.pasword=$PW_ALL"
one_line "kafka.* misspelt"
grep -qF 'kafka.ssl.key.pasword: No such configuration property' "$TMP/err" || fail "kafka.*: $(cat "$TMP/err")"
no_leak "kafka.* misspelt" "$PW_ALL" "$TMP/out" "$TMP/err"
env -u EVLOAD_T_PASS "$EVLOAD" run scenarios/kafka-smoke.json --target kafka://embedded/t \
  --set publish.duration=1s --set 'kafka.ssl.key.password=${EVLOAD_T_PASS}' >"$TMP/out" 2>"$TMP/err" \
  && fail "kafka.* unset: exit 0"
one_line "kafka.* unset"
grep -qF 'kafka.ssl.key.password: environment variable EVLOAD_T_PASS is not set' "$TMP/err" \
  || fail "kafka.* unset: $(cat "$TMP/err")"
EVLOAD_T_PASS=all run_rc 2 run scenarios/kafka-smoke.json --target kafka://embedded/t \
  --set publish.duration=1s --set 'kafka.acks=${EVLOAD_T_PASS}' --set 'kafka.linger.ms=${EVLOAD_T_PASS}'
grep -qF 'kafka.linger.ms: Invalid value' "$TMP/err" || fail "kafka.* expanded: $(cat "$TMP/err")"

# 3. evload run against 127.0.0.1 on a port where nothing listens: exit 3, one
#    line naming the redacted address. Kafka waits 10 s for a broker (once: its
#    URL form only): that run started in the background before 1. and is
#    waited for here.
for scheme in redis bullmq amqp; do
  # shellcheck disable=SC2059
  for t in "$(printf "${FORM[$scheme]}" "$(enc "$PW_ALL")")" "$(printf "${FORM[$scheme]}" '${EVLOAD_T_PASS}')"; do
    unreachable "$scheme" "$t" "$TMP/$scheme"
  done
done
wait_jobs "$kafka_pid"

# 4. A whole run on mock:// (which ignores a userinfo): status line, summary,
#    results JSON; then a sweep (a table, one run each). Each password's two
#    runs (mock_runs, with a directory of its own as $TMP) go beside the
#    other password's, and the sweep beside both.
mock_runs() { # mock_runs PW DIR
  local pw=$1 TMP=$2
  mkdir -p "$TMP"
  EVLOAD_T_PASS=$pw run_rc 0 run scenarios/smoke.json --target 'mock://u:${EVLOAD_T_PASS}@/?seed=3' \
    --set publish.duration=2s --progress --json "$TMP/r.json"
  eq "mock \${VAR} results target" "$(jqv "$TMP/r.json" .run.target)" 'mock://u:${EVLOAD_T_PASS}@/?seed=3'
  planned "$TMP/r.json" "mock \${VAR}" 400
  eq "mock \${VAR} delivered" "$(jqv "$TMP/r.json" .deliver.delivered)" 400
  grep -q '^publish .* sent ' "$TMP/err" || fail "mock: no status line: $(cat "$TMP/err")"
  grep -qF 'target   mock://u:${EVLOAD_T_PASS}@/?seed=3' "$TMP/out" || fail "mock: no target in the summary"
  no_leak "mock \${VAR}" "$pw" "$TMP/out" "$TMP/err" "$TMP/r.json"
  run_rc 0 run scenarios/smoke.json --target "mock://u:$(enc "$pw")@/?seed=3" \
    --set publish.duration=2s --progress --json "$TMP/r.json"
  eq "mock url results target" "$(jqv "$TMP/r.json" .run.target)" 'mock://u:***@/?seed=3'
  planned "$TMP/r.json" "mock url" 400
  eq "mock url delivered" "$(jqv "$TMP/r.json" .deliver.delivered)" 400
  grep -q '^publish .* sent ' "$TMP/err" || fail "mock: no status line: $(cat "$TMP/err")"
  no_leak "mock url" "$pw" "$TMP/out" "$TMP/err" "$TMP/r.json"
}
mock_runs "$PW_ALL" "$TMP/m1" & pids=($!)
mock_runs "$PW_PCT" "$TMP/m2" & pids+=($!)
cat >"$S" <<'JSON'
{ "target": "mock://u:${EVLOAD_T_PASS}@/?seed=5",
  "publish": { "executor": "max-throughput", "count": 200 },
  "sweep": { "verify.consumers": [1, 2] },
  "thresholds": { "lost": ["count==0"] } }
JSON
EVLOAD_T_PASS=$PW_ALL run_rc 0 run "$S" --json "$TMP/r.json"
eq "sweep runs" "$(jqv "$TMP/r.json" '.runs|length')" 2
eq "sweep: every run planned and published 200" \
   "$(jqv "$TMP/r.json" '[.runs[].publish | "\(.expected)/\(.attempted)"]|join(" ")')" "200/200 200/200"
eq "sweep targets" "$(jqv "$TMP/r.json" '[.runs[].run.target]|unique|join(" ")')" 'mock://u:${EVLOAD_T_PASS}@/?seed=5'
no_leak "sweep" "$PW_ALL" "$TMP/out" "$TMP/err" "$TMP/r.json"
wait_jobs "${pids[@]}"
done_ok
