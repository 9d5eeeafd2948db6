# Shared by every test script (sourced, not a test itself): the e2e tests, and
# through tests/integration/*_lib.bash and tests/interop/*_lib.bash the broker
# tests. $EVLOAD is the binary.
#
# No check passes vacuously: a lookup that finds nothing (jq reads a missing
# key as null), an empty value, or a non-number where numbers are compared
# fails the test with the check's name. Each failure prints both sides,
# libuv-style, and exits 1. tests/e2e/lib_selftest.sh tests these helpers.
set -euo pipefail
EVLOAD=${1:?usage: $0 PATH_TO_EVLOAD}
TMP=$(mktemp -d)
CHECKS=0
EV_MAIN_PID=$BASHPID
EV_FAILED=$TMP/.failed
EV_PID=
EV_T0_US=
EV_ON_EXIT=()

# fail MESSAGE: ends the test. In a subshell ("$(jqv …)", a pipeline, a
# background job) exit ends only the subshell, so it also leaves a mark that
# the next check, done_ok and the exit trap turn into the test's failure.
fail() {
  echo "FAIL: $*" >&2
  [ "$BASHPID" = "$EV_MAIN_PID" ] || echo "$*" >>"$EV_FAILED"
  exit 1
}

# on_exit COMMAND: run at exit (last registered first), before $TMP goes.
# Tests use it instead of `trap … EXIT`, which would replace this one.
on_exit() { EV_ON_EXIT+=("$*"); }
ev_exit() {
  local rc=$? i
  [ -z "$EV_PID" ] || kill "$EV_PID" 2>/dev/null || true
  for ((i = ${#EV_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${EV_ON_EXIT[i]}" || true; done
  [ ! -e "$EV_FAILED" ] || rc=1
  rm -rf "$TMP"
  exit "$rc"
}
trap ev_exit EXIT

# ev_check NAME: counts a check; ends the test when a subshell failed before
# it, e.g. a `$(jqv …)` among this check's own arguments.
ev_check() {
  CHECKS=$((CHECKS + 1))
  [ ! -e "$EV_FAILED" ] || fail "$1: a value it needs could not be read ($(tail -n 1 "$EV_FAILED"))"
}

# Sanitizer builds: a report exits with a code of its own (86 ASan/LSan, 87
# UBSan; scripts/test sets the same), never one of evload's exit codes 0..5,
# so a test expecting exit 1 (a failed threshold) cannot pass on a report.
[[ ":${ASAN_OPTIONS:-}:" =~ :exitcode=([0-9]+): ]] || export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86
[[ ":${UBSAN_OPTIONS:-}:" =~ :exitcode=([0-9]+): ]] || export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87
[[ ":$ASAN_OPTIONS:" =~ :exitcode=([0-9]+): ]] && EV_RC_ASAN=${BASH_REMATCH[1]}
[[ ":$UBSAN_OPTIONS:" =~ :exitcode=([0-9]+): ]] && EV_RC_UBSAN=${BASH_REMATCH[1]}
# TSan (scripts/test --tsan sets 88); only read here, so a TSan report is named.
EV_RC_TSAN=88
[[ ":${TSAN_OPTIONS:-}:" =~ :exitcode=([0-9]+): ]] && EV_RC_TSAN=${BASH_REMATCH[1]}
[ "$EV_RC_ASAN" -gt 5 ] && [ "$EV_RC_UBSAN" -gt 5 ] ||
  fail "ASAN_OPTIONS/UBSAN_OPTIONS exitcode=$EV_RC_ASAN/$EV_RC_UBSAN is one of evload's exit codes (0..5)"

# ev_rc_text RC: an exit code in words where it is not evload's own.
ev_rc_text() {
  case $1 in
    "$EV_RC_ASAN") echo "$1 (a sanitizer report: AddressSanitizer/LeakSanitizer, see stderr)" ;;
    "$EV_RC_UBSAN") echo "$1 (a sanitizer report: UndefinedBehaviorSanitizer, see stderr)" ;;
    "$EV_RC_TSAN") echo "$1 (a sanitizer report: ThreadSanitizer, see stderr)" ;;
    124) echo "124 (stopped by timeout: it hung)" ;;
    *) if [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 128 ]; then
         echo "$1 (killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo '?'))"
       else echo "$1"; fi ;;
  esac
}

# The jq functions every jqv expression may use: `num` (the value, which must
# be a number) and `sum(f)` (the numbers f yields, added; jq's own + and add
# take a missing operand as 0, sum fails on it).
EV_JQ_DEFS='def num: if type == "number" then . else error("not a number: \(tojson)") end;
def sum(f): [f | num] | if length == 0 then error("sum of nothing") else add end; '
EV_JQ_OUT=' | if type == "object" or type == "array" then tojson else . end'

# jqv FILE EXPR: the one value EXPR gives on a results file, raw (strings
# unquoted, objects and arrays as compact JSON). Fails the test when the file
# cannot be read, EXPR errs, gives no value or several, or gives null (what a
# missing key reads as) or "".
jqv() {
  local out
  out=$(jq -r "$EV_JQ_DEFS"'['"$2"'] | if length != 1 then error("gave \(length) values, not one")
          elif .[0] == null then error("null: no such key, or a null value")
          elif .[0] == "" then error("an empty string") else .[0] end'"$EV_JQ_OUT" "$1" 2>&1) ||
    fail "jqv $2 on $1: ${out#jq: error (at *): }"
  printf '%s\n' "$out"
}
# jqv_each FILE EXPR...: the values of several EXPRs on FILE, one line each
# in order, read by one jq run (a results file is parsed once, not once per
# value); each EXPR is refused as jqv refuses it (no value or several, null,
# ""), naming it. For values that print on one line (numbers, booleans,
# words): the caller splits the lines.
jqv_each() {
  local f=$1 prog='' args=() i=0 e out
  shift
  for e; do
    prog+="${prog:+, }([$e] | one(\$e$i))"
    args+=(--arg "e$i" "$e")
    i=$((i + 1))
  done
  out=$(jq -r "${args[@]}" "$EV_JQ_DEFS"'def one($e): if length != 1 then error("\($e): gave \(length) values, not one")
          elif .[0] == null then error("\($e): null: no such key, or a null value")
          elif .[0] == "" then error("\($e): an empty string") else .[0] end; '"$prog$EV_JQ_OUT" "$f" 2>&1) ||
    fail "jqv_each on $f: ${out#jq: error (at *): }"
  printf '%s\n' "$out"
}
# jqv_nullable FILE PATH: the value at PATH (a path expression such as
# .broker.kafka.appended), which may be null but must be there: a missing key
# or a missing parent still fails.
jqv_nullable() {
  local out
  out=$(jq -r "$EV_JQ_DEFS"'. as $doc | [path('"$2"')] | if length != 1 then error("gave \(length) paths, not one") else .[0] end
          | . as $p | if length == 0 then $doc else $doc | getpath($p[:-1])
          | if (type == "object" or type == "array") and has($p[-1]) then .[$p[-1]]
            else error("no such key") end end'"$EV_JQ_OUT" "$1" 2>&1) ||
    fail "jqv_nullable $2 on $1: ${out#jq: error (at *): }"
  printf '%s\n' "$out"
}

# is_num V: V is a number as jq prints one.
is_num() { [[ $1 =~ ^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
# ev_nums NAME V...: each V is a number, or the check NAME fails.
ev_nums() {
  local name=$1 v
  shift
  for v; do
    is_num "$v" || fail "$name: '$v' is not a number (null: a missing key; empty: a failed lookup)"
  done
}
# ev_present NAME A B: neither side is empty or null.
ev_present() {
  case "$2|$3" in
    '|'* | *'|' | 'null|'* | *'|null') fail "$1: '$2' vs '$3': an empty or null side (a lookup that found nothing)" ;;
  esac
}

# eq NAME A B: the same text (numbers as jq prints them). Neither side may be
# empty or null: two lookups that both found nothing are not equal.
eq() {
  ev_check "$1"
  ev_present "$1" "$2" "$3"
  [ "$2" = "$3" ] || fail "$1: $2 != $3"
}
# is_null NAME V: V is the literal null (e.g. jqv_nullable's answer).
is_null() {
  ev_check "$1"
  [ "$2" = null ] || fail "$1: '$2' is not null"
}
# ge/le/gt/lt NAME A B: numbers, A >= B (<=, >, <).
ev_cmp() {
  ev_check "$1"
  ev_nums "$1" "$3" "$4"
  awk -v a="$3" -v b="$4" "BEGIN{exit !(a+0 $2 b+0)}" || fail "$1: $3 $5 $4"
}
ge() { ev_cmp "$1" '>=' "$2" "$3" '<'; }
le() { ev_cmp "$1" '<=' "$2" "$3" '>'; }
gt() { ev_cmp "$1" '>' "$2" "$3" '<='; }
lt() { ev_cmp "$1" '<' "$2" "$3" '>='; }
# nonzero NAME A: a number other than 0.
nonzero() {
  ev_check "$1"
  ev_nums "$1" "$2"
  awk -v a="$2" 'BEGIN{exit !(a+0 != 0)}' || fail "$1 is 0"
}

# planned FILE CTX N: the plan fixes N events (publish.expected, warm-up
# included) and the run published every one (publish.attempted).
planned() {
  eq "$2 publish.expected" "$(jqv "$1" .publish.expected)" "$3"
  eq "$2 attempted==expected" "$(jqv "$1" .publish.attempted)" "$3"
}

# expect_rc WHAT RC WANT...: RC is one of the WANT codes; a sanitizer's exit
# code or a timeout's is named as such.
expect_rc() {
  local what=$1 rc=$2 w want
  shift 2
  ev_check "$what"
  for w; do [ "$rc" != "$w" ] || return 0; done
  want="$*"
  fail "$what exited $(ev_rc_text "$rc"), expected ${want// / or }"
}
# no_sanitizer_report NAME FILE: FILE (an evload stderr) holds no sanitizer
# report, whatever the exit code said.
no_sanitizer_report() {
  ev_check "$1"
  if grep -qE '^SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer|: runtime error: ' "$2"; then
    tail -n 40 "$2"
    fail "$1: a sanitizer report on stderr (above)"
  fi
}

# run_rc EXPECTED_RC ARGS...: runs evload, checks its exit code, keeps output.
run_rc() {
  local want=$1 rc=0
  shift
  "$EVLOAD" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"
  fi
  expect_rc "evload $*" "$rc" "$want"
  no_sanitizer_report "evload $*" "$TMP/err"
}

# run_rc_in DIR EXPECTED_RC ARGS...: run_rc with its output in DIR/out and
# DIR/err instead of $TMP's, so that independent runs can go at once, each in
# a background job (`run_rc_in "$TMP/a" 0 run … & pids+=($!)`), followed by
# wait_jobs. A failure in the job marks the test failed (see fail).
run_rc_in() {
  local TMP=$1
  shift
  mkdir -p "$TMP"
  run_rc "$@"
}
# wait_jobs PID...: waits for each background job; fails the test when one
# failed (its own output says which check).
wait_jobs() {
  local p n=0
  for p; do wait "$p" || n=$((n + 1)); done
  ev_check "background jobs"
  [ "$n" = 0 ] || fail "$n of $# background jobs failed (above)"
}

# run_bg SECS ARGS...: `evload ARGS --progress` in the background, bounded by
# SECS; stdout in $TMP/out, stderr (a status line a second) in $TMP/err;
# EV_PID is its pid (timeout's, which passes a signal on to evload once),
# stopped at exit if it still runs. --quiet would hide the status line that
# await_status reads.
run_bg() {
  local secs=$1 a
  shift
  for a; do [ "$a" != --quiet ] || fail "run_bg: --quiet hides the status line"; done
  # After secs, SIGTERM (evload stops and reports); 15 s later SIGKILL, so
  # that a hung evload fails the test (exit 137) instead of hanging it.
  timeout --foreground -k 15 "$secs" "$EVLOAD" "$@" --progress >"$TMP/out" 2>"$TMP/err" &
  EV_PID=$!
  EV_T0_US=
}
# wait_bg WANT...: waits for the background run; its exit code must be one of
# WANT; prints its output otherwise.
wait_bg() {
  local rc=0 w
  wait "$EV_PID" || rc=$?
  EV_PID=
  for w; do [ "$rc" != "$w" ] || break; done
  if [ "$rc" != "$w" ]; then
    echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; tail -n 60 "$TMP/err"
  fi
  expect_rc "evload (background run)" "$rc" "$@"
  no_sanitizer_report "evload (background run)" "$TMP/err"
  echo "background run exited $rc"
}

# wait_until WHAT SECS COMMAND...: waits (bounded) until COMMAND succeeds;
# fails the test naming WHAT when SECS pass first.
wait_until() {
  local what=$1 secs=$2 end
  shift 2
  end=$(($(ev_now_us) + secs * 1000000))
  until "$@" >/dev/null 2>&1; do
    [ "$(ev_now_us)" -lt "$end" ] || fail "$what: not within ${secs}s"
    sleep 0.05
  done
}

# ev_now_us: wall clock, microseconds.
ev_now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
# await_status FIELD MIN SECS: waits until the background run's status line
# shows FIELD (sent, recv or acked) at MIN or more while publishing: evidence
# that the run publishes (and, for recv, delivers) before a fault is
# injected. Fails the test when the run ends first or SECS pass. Sets
# EV_T0_US, when publishing began by the status line's own clock (its t),
# from a line seen appearing (within 0.05 s), so since_start can time a fault.
await_status() {
  local field=$1 min=$2 secs=$3 line t v prev=unseen end
  end=$(($(ev_now_us) + secs * 1000000))
  while :; do
    line=$(grep -aE '^[^ ]+ .* [0-9]+\.[0-9]s  rate ' "$TMP/err" | tail -n 1 || true)
    t= v=
    if [[ $line =~ \ ([0-9]+)\.([0-9])s\ \ rate\ .*\ $field\ ([0-9,]+) ]]; then
      t=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]} * 100000))
      v=${BASH_REMATCH[3]//,/}
      # Seen appearing: it was printed within the last poll.
      [ -n "$EV_T0_US" ] || [ "$prev" = unseen ] || [ "$prev" = "$t" ] || EV_T0_US=$(($(ev_now_us) - t))
    fi
    prev=${t:-none}
    [ -z "$v" ] || [ -z "$EV_T0_US" ] || [ "$v" -lt "$min" ] || return 0
    kill -0 "$EV_PID" 2>/dev/null || fail "await_status: evload ended before $field reached $min: $(tail -n 5 "$TMP/err")"
    [ "$(ev_now_us)" -lt "$end" ] || fail "await_status: $field did not reach $min within $secs s (last status: ${line:-none})"
    sleep 0.05
  done
}
# since_start: seconds (3 decimals) since publishing began, by EV_T0_US.
since_start() {
  [ -n "$EV_T0_US" ] || fail "since_start: no await_status before it"
  local d=$(($(ev_now_us) - EV_T0_US))
  printf '%d.%03d\n' $((d / 1000000)) $((d % 1000000 / 1000))
}
# during_publish NAME FILE T...: each time T (since_start) fell while the run
# published: 0 < T < publish.duration_s (the run had no warm-up).
during_publish() {
  local name=$1 f=$2 d t
  shift 2
  eq "$name: no warm-up" "$(jqv "$f" '.publish.measured == .publish.attempted')" true
  d=$(jqv "$f" .publish.duration_s)
  for t; do
    gt "$name: at ${t}s, after publishing began" "$t" 0
    lt "$name: at ${t}s, before publishing ended (${d}s)" "$t" "$d"
  done
}

# exact FILE: every ledger class equals the mock's ground truth.
exact() {
  local f=$1 ctx=$2 v
  # One read of the file for every value below (jqv_each), in this order.
  v=$(jqv_each "$f" .deliver.lost 'sum(.broker.mock.dropped, .broker.mock.corrupted_events)' \
    .deliver.pending .deliver.late .deliver.duplicated .broker.mock.duplicated_intact \
    .deliver.corrupted .broker.mock.corrupted .deliver.unconfirmed .broker.mock.nacked \
    .publish.failed .deliver.recovered .deliver.foreign .broker.mock.left_in_queues \
    .deliver.drain_timed_out '.deliver.groups|length' .publish.attempted \
    'sum(.deliver.delivered, .deliver.late, .deliver.pending, .deliver.lost, .deliver.unconfirmed, .deliver.recovered)' \
    'sum(.publish.acked, .publish.failed)')
  mapfile -t v <<<"$v"
  ev_check "$ctx: read the ledger"
  [ "${#v[@]}" = 19 ] || fail "$ctx: read ${#v[@]} ledger values, not 19"
  # A damaged copy is never a sighting: a corrupted event is lost too, and
  # only intact events' copies count as duplicates.
  eq "$ctx lost==mock.dropped+corrupted_events" "${v[0]}" "${v[1]}"
  eq "$ctx pending==0" "${v[2]}" 0
  eq "$ctx late==0" "${v[3]}" 0
  eq "$ctx duplicated==mock.duplicated_intact" "${v[4]}" "${v[5]}"
  eq "$ctx corrupted==mock.corrupted" "${v[6]}" "${v[7]}"
  eq "$ctx unconfirmed==mock.nacked" "${v[8]}" "${v[9]}"
  eq "$ctx publish.failed==mock.nacked" "${v[10]}" "${v[9]}"
  eq "$ctx recovered==0" "${v[11]}" 0
  eq "$ctx foreign==0" "${v[12]}" 0
  eq "$ctx left_in_queues==0" "${v[13]}" 0
  eq "$ctx drain complete" "${v[14]}" false
  # Identities: every attempted event of every group is in exactly one class.
  ev_nums "$ctx groups, attempted" "${v[15]}" "${v[16]}"
  eq "$ctx classes add up" "${v[17]}" "$((v[16] * v[15]))"
  eq "$ctx outcomes add up" "${v[18]}" "${v[16]}"
}

# kmock_start ARGS...: starts `evload kafka-mock ARGS` in the background
# (stdin /dev/null, so it runs until killed), sets MOCK_PID and servers (its
# bootstrap list); fails if it prints none within 10 s. The caller kills
# MOCK_PID in its cleanup.
kmock_start() {
  "$EVLOAD" kafka-mock "$@" </dev/null >"$TMP/mock.out" 2>"$TMP/mock.err" &
  MOCK_PID=$!
  for _ in $(seq 100); do [ -s "$TMP/mock.out" ] && break; sleep 0.1; done
  servers=$(head -n 1 "$TMP/mock.out")
  [ -n "$servers" ] || fail "kafka-mock printed nothing ($(cat "$TMP/mock.err"))"
}

# kmock_stop [SIGNAL]: ends MOCK_PID with SIGNAL (TERM by default), waits
# at most 10 s for it, then kills it (saying so): a cleanup never hangs on
# a cluster that does not go. Clears MOCK_PID.
kmock_stop() {
  [ -n "$MOCK_PID" ] || return 0
  local sig=${1:-TERM} _
  kill -"$sig" "$MOCK_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$MOCK_PID" 2>/dev/null; then
    echo "kafka-mock (pid $MOCK_PID) still ran 10 s after SIG$sig: killed" >&2
    kill -KILL "$MOCK_PID" 2>/dev/null || true
  fi
  wait "$MOCK_PID" 2>/dev/null || true
  MOCK_PID=
}

# enc TEXT: TEXT percent-encoded for a URL (all but letters, digits, -_.~).
enc() { jq -rn --arg s "$1" '$s|@uri'; }

# no_leak NAME SECRET FILES...: no 3-byte piece of SECRET in any FILE (a
# missing FILE is skipped: callers check that the files they expect exist).
# Choose secrets whose pieces cannot occur in evload's own texts. A secret
# shorter than 3 bytes has no piece to look for: refused.
no_leak() {
  local name=$1 pw=$2
  shift 2
  local LC_ALL=C i piece f files=()
  [ ${#pw} -ge 3 ] || fail "$name: a secret of ${#pw} bytes cannot be checked"
  for f in "$@"; do [ -e "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || fail "$name: none of $* exists"
  for ((i = 0; i + 3 <= ${#pw}; i++)); do
    piece=${pw:i:3}
    ev_check "$name"
    if grep -F -n -- "$piece" "${files[@]}"; then
      fail "$name: \"$piece\" of the password shows (above)"
    fi
  done
}

done_ok() {
  ev_check "the end"
  echo "ok: $CHECKS checks"
}
