# Shared by the e2e tests (sourced, not a test itself). $EVLOAD is the binary.
# Each assertion prints both sides on failure, libuv-style, and exits 1.
set -euo pipefail
EVLOAD=${1:?usage: $0 PATH_TO_EVLOAD}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CHECKS=0

fail() { echo "FAIL: $*" >&2; exit 1; }

# jqv FILE EXPR: one value from a results file.
jqv() { jq -r "$2" "$1"; }

# eq NAME A B
eq() { CHECKS=$((CHECKS+1)); [ "$2" = "$3" ] || fail "$1: $2 != $3"; }
# ge NAME A B (numbers, A >= B)
ge() { CHECKS=$((CHECKS+1)); awk -v a="$2" -v b="$3" 'BEGIN{exit !(a>=b)}' || fail "$1: $2 < $3"; }
# le NAME A B
le() { CHECKS=$((CHECKS+1)); awk -v a="$2" -v b="$3" 'BEGIN{exit !(a<=b)}' || fail "$1: $2 > $3"; }
# nonzero NAME A
nonzero() { CHECKS=$((CHECKS+1)); [ "$2" != "0" ] || fail "$1 is 0"; }

# run_rc EXPECTED_RC ARGS...: runs evload, checks its exit code, keeps output.
run_rc() {
  local want=$1; shift
  local rc=0
  "$EVLOAD" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  CHECKS=$((CHECKS+1))
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"
    fail "evload $* exited $rc, expected $want"
  fi
}

# exact FILE: every ledger class equals the mock's ground truth.
exact() {
  local f=$1 ctx=$2
  # A damaged copy is never a sighting: a corrupted event is lost too, and
  # only intact events' copies count as duplicates.
  eq "$ctx lost==mock.dropped+corrupted_events" "$(jqv "$f" .deliver.lost)" "$(jqv "$f" '.broker.mock.dropped + .broker.mock.corrupted_events')"
  eq "$ctx pending==0" "$(jqv "$f" .deliver.pending)" 0
  eq "$ctx late==0" "$(jqv "$f" .deliver.late)" 0
  eq "$ctx duplicated==mock.duplicated_intact" "$(jqv "$f" .deliver.duplicated)" "$(jqv "$f" .broker.mock.duplicated_intact)"
  eq "$ctx corrupted==mock.corrupted" "$(jqv "$f" .deliver.corrupted)" "$(jqv "$f" .broker.mock.corrupted)"
  eq "$ctx unconfirmed==mock.nacked" "$(jqv "$f" .deliver.unconfirmed)" "$(jqv "$f" .broker.mock.nacked)"
  eq "$ctx publish.failed==mock.nacked" "$(jqv "$f" .publish.failed)" "$(jqv "$f" .broker.mock.nacked)"
  eq "$ctx recovered==0" "$(jqv "$f" .deliver.recovered)" 0
  eq "$ctx foreign==0" "$(jqv "$f" .deliver.foreign)" 0
  eq "$ctx left_in_queues==0" "$(jqv "$f" .broker.mock.left_in_queues)" 0
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
  # Identities: every attempted event of every group is in exactly one class.
  local groups attempted
  groups=$(jqv "$f" '.deliver.groups|length')
  attempted=$(jqv "$f" .publish.attempted)
  eq "$ctx classes add up" "$(jqv "$f" '.deliver.delivered+.deliver.late+.deliver.pending+.deliver.lost+.deliver.unconfirmed+.deliver.recovered')" \
     "$((attempted * groups))"
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

# enc TEXT: TEXT percent-encoded for a URL (all but letters, digits, -_.~).
enc() { jq -rn --arg s "$1" '$s|@uri'; }

# no_leak NAME SECRET FILES...: no 3-byte piece of SECRET in any FILE (a
# missing FILE is skipped: callers check that the files they expect exist).
# Choose secrets whose pieces cannot occur in evload's own texts.
no_leak() {
  local name=$1 pw=$2; shift 2
  local LC_ALL=C i piece f files=()
  for f in "$@"; do [ -e "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || fail "$name: none of $* exists"
  for ((i = 0; i + 3 <= ${#pw}; i++)); do
    piece=${pw:i:3}
    CHECKS=$((CHECKS+1))
    if grep -F -n -- "$piece" "${files[@]}"; then
      fail "$name: \"$piece\" of the password shows (above)"
    fi
  done
}

done_ok() { echo "ok: $CHECKS checks"; }
