# Shared by tests/integration/pipeline_*.sh (sourced, not a test itself: the
# CTest glob takes *.sh only). A pipeline test publishes into one broker,
# runs tests/interop/relay.js (a separate Node program, as the user's own
# service would be) that carries the events into another broker, and
# verifies them there with --source or verify.outputs. The relay chooses its
# faults deterministically and counts them itself; pipe_exact holds evload's
# classes to those counts.
# shellcheck source=../e2e/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.bash"

INTEROP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../interop" && pwd)"
RELAY_JS="$INTEROP/relay.js"
REDIS_PORT=${EVLOAD_REDIS_PORT:-6379}
AMQP_BASE=${EVLOAD_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
SFX=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
BG_PIDS=()
AMQP_CLEANUP=()   # "QUEUE EXCHANGE" pairs (either may be -)
BULL_QUEUES=()
MOCK_PID=

# AMQP_DELETE_JS URL "QUEUE EXCHANGE"...: deletes each queue and exchange
# ("-": none), each on a channel of its own (an error closes only that one).
AMQP_DELETE_JS='
const amqp = require("amqplib");
(async () => {
  const [url, ...items] = process.argv.slice(1);
  const conn = await amqp.connect(url);
  for (const item of items) {
    const [q, x] = item.split(" ");
    for (const [kind, name] of [["Queue", q], ["Exchange", x]]) {
      if (!name || name === "-") continue;
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      await ch["delete" + kind](name).then(() => ch.close(), () => {});
    }
  }
  await conn.close();
})().catch((e) => { console.error(e.message); process.exit(1); });'
pipe_cleanup() {
  local pid q
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  kmock_stop
  # One connection deletes them all (a node start per queue took ~0.5 s each).
  [ ${#AMQP_CLEANUP[@]} = 0 ] || (cd "$INTEROP" && timeout 30 node -e "$AMQP_DELETE_JS" "$AMQP_BASE/%2f" "${AMQP_CLEANUP[@]}") >/dev/null 2>&1 || true
  for q in "${BULL_QUEUES[@]}"; do
    timeout 20 redis-cli -p "$REDIS_PORT" EVAL \
      "local n=0 for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n=n+1 end return n" \
      0 "bull:$q:*" >/dev/null 2>&1 || true
  done
  # PIPE_KEEP=1 keeps a copy of the run's files (results, relay logs) for a
  # look; lib.bash's exit trap removes $TMP itself.
  if [ -n "${PIPE_KEEP:-}" ]; then cp -r "$TMP" "$TMP.kept" && echo "kept $TMP.kept" >&2; fi
}
# Through lib.bash's on_exit, so that its exit trap (the failure mark of a
# subshell, the exit code) still runs.
on_exit pipe_cleanup

node_check() {
  command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
  local m
  for m in amqplib kafkajs ioredis bullmq cloudevents; do
    [ -d "$INTEROP/node_modules/$m" ] || fail "tests/interop/node_modules lacks $m: run npm ci in tests/interop"
  done
}
node_check

need_redis() { ./scripts/brokers start redis || fail "redis-server could not be started (./scripts/brokers start redis)"; }
# scripts/brokers start succeeds only once `rabbitmqctl await_startup` did
# (a second one here cost 1.5-3 s per test on the 2-core machine).
need_rabbitmq() {
  ./scripts/brokers start rabbitmq || fail "cannot start rabbitmq-server, or it is not ready (scripts/brokers start rabbitmq)"
}
# need_kafka: an `evload kafka-mock` cluster with the given topics; sets servers.
need_kafka() {
  local args=(--brokers 3 --partitions 4) t
  for t in "$@"; do args+=(--topic "$t"); done
  kmock_start "${args[@]}"
}

# relay_spawn NAME ARGS...: starts the relay (node, from tests/interop so its
# modules resolve) with --counts $TMP/NAME.counts, without waiting for it
# (relay_wait does). RELAY_PIDS[NAME] is node itself, so SIGTERM reaches it.
# A Kafka input joins a fresh consumer group, and the kafka-mock holds a
# group's first join ~3 s (as a broker's group.initial.rebalance.delay.ms
# does): a test may spawn the next run's relay on its own topic early, so
# that wait overlaps the run before it.
declare -A RELAY_PIDS=() RELAY_SPAWNED=()
relay_spawn() {
  local name=$1; shift
  (cd "$INTEROP" && exec node "$RELAY_JS" "$@" --counts "$TMP/$name.counts") \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  RELAY_PIDS[$name]=$!
  RELAY_SPAWNED[$name]=${EPOCHREALTIME%.*}
  BG_PIDS+=("$!")
}
# relay_wait NAME: waits until the relay printed its ready line, at most 60 s
# from its spawn; sets RELAY_PID.
relay_wait() {
  local name=$1 pid=${RELAY_PIDS[$1]}
  # shellcheck disable=SC2034 # pipeline_pending.sh signals the relay it started
  RELAY_PID=$pid
  while ((${EPOCHREALTIME%.*} - ${RELAY_SPAWNED[$name]} <= 60)); do
    grep -q '"ready":true' "$TMP/$name.out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "relay $name exited before it was ready: $(cat "$TMP/$name.err")"
    sleep 0.1
  done
  fail "relay $name not ready within 60 s: $(cat "$TMP/$name.err")"
}
# relay_start NAME ARGS...: relay_spawn, then relay_wait.
relay_start() {
  relay_spawn "$@"
  relay_wait "$1"
}
# relay_stop NAME: SIGTERM, waits; the relay must exit 0 having written its counts.
relay_stop() {
  local name=$1 rc=0 pid=${RELAY_PIDS[$1]}
  kill -TERM "$pid" 2>/dev/null || fail "relay $name is gone before the end: $(tail -5 "$TMP/$name.err")"
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "relay $name exited $rc: $(tail -5 "$TMP/$name.err")"
  [ -s "$TMP/$name.counts" ] || fail "relay $name wrote no counts"
  eq "relay $name errors" "$(rcount "$name" .errors)" 0
  eq "relay $name held nothing at the end" "$(rcount "$name" .held)" 0
}
# rcount NAME EXPR: one value of the relay's counts (never empty or null).
rcount() {
  local v
  v=$(jq -r "$2" "$TMP/$1.counts")
  if [ -z "$v" ] || [ "$v" = null ]; then fail "relay $1 counts: $2 is '${v}'"; fi
  echo "$v"
}

# evrun RC NAME ARGS...: runs evload (stdout/stderr kept in $TMP/NAME.*),
# results in $TMP/NAME.json, --missing in $TMP/NAME.missing.
evrun() {
  local want=$1 name=$2; shift 2
  local rc=0
  "$EVLOAD" "$@" --json "$TMP/$name.json" --missing "$TMP/$name.missing" \
    >"$TMP/$name.stdout" 2>"$TMP/$name.stderr" || rc=$?
  CHECKS=$((CHECKS + 1))
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$TMP/$name.stdout"; echo "--- stderr"; tail -20 "$TMP/$name.stderr"
    fail "evload $* exited $rc, expected $want"
  fi
}

# missing_ids FILE [GROUP]: the ids a --missing file lists, one a line, sorted
# (every group, or only GROUP).
missing_ids() {
  awk -v g="${2:-}" '!/^#/ && (g == "" || $1 == g) {
      n = split($3, a, "-"); split($4, b, "-")
      pre = a[1] "-" a[2] "-" a[3]
      for (s = a[4]; s <= b[4]; s++) print pre "-" s
    }' "$1" | sort
}

# jqvs_into ARRAY FILE EXPR...: ARRAY[i] = the one value EXPR i gives on
# FILE, each held to jqv's rules (exactly one value; not null, not ""; objects
# and arrays as compact JSON), all read by one jq run. Fails the test when
# any EXPR errs; a value spanning lines (which would shift the others) too.
jqvs_into() {
  local -n into=$1
  local f=$2 prog='' out i=0 e
  shift 2
  local exprs=("$@")
  for e in "$@"; do
    prog+="${prog:+, }([$e] | if length != 1 then error(\"#$i gave \(length) values, not one\")
      elif .[0] == null then error(\"#$i null: no such key, or a null value\")
      elif .[0] == \"\" then error(\"#$i an empty string\") else .[0] end$EV_JQ_OUT)"
    i=$((i + 1))
  done
  out=$(jq -r "$EV_JQ_DEFS$prog" "$f" 2>&1) || {
    [[ $out =~ \#([0-9]+)\ (.*) ]] && fail "jqv ${exprs[BASH_REMATCH[1]]} on $f: ${BASH_REMATCH[2]}"
    fail "jqvs on $f: ${out#jq: error (at *): }"
  }
  mapfile -t into <<<"$out"
  [ "${#into[@]}" = $# ] || fail "jqvs on $f: ${#into[@]} lines for $# values"
}

# num NAME VALUE: VALUE must be a number (never empty or null).
num() {
  CHECKS=$((CHECKS + 1))
  [[ "$2" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || fail "$1 is not a number: '$2'"
}

# pipe_exact RESULTS RELAY CTX: evload's classes on every output of RESULTS
# against the relay's own counts, for a relay feeding every output (each
# output sees what the relay published, once per group):
#   attempted == acked == relay.received; failed == 0
#   per group: lost == relay.dropped, duplicated == relay.duplicated,
#              delivered == attempted - dropped, reordered == relay.reordered,
#              pending == late == corrupted == foreign == unexpected == 0,
#              and --missing lists exactly the relay's dropped ids
#   per output: delivered + late + pending + lost + unconfirmed + recovered
#              == attempted x copies x groups
#   e2e measured for every delivery (from evload's own record of what it
#   sent, whatever the service kept), none without a latency
pipe_exact() {
  local f=$1 relay=$2 ctx=$3
  local att dropped dup reord ngroups g name o nouts copies gs k i
  local -a V R G O
  # One jq run per file reads every value the checks below compare (a
  # results file with 8 groups needs ~130 of them: one jq run each took
  # 3-9 s per call of pipe_exact on this 2-core machine); each value is held
  # to jqv's rules, and every check is made exactly as before.
  jqvs_into V "$f" .publish.attempted .publish.acked .publish.failed .publish.expected \
    '.deliver.groups | length' '.deliver.outputs | length' .latency.e2e.count .deliver.delivered \
    .deliver.no_latency .deliver.lost .deliver.duplicated
  jqvs_into R "$TMP/$relay.counts" .received .dropped .duplicated .reordered .forwarded .rejected .published
  att=${V[0]}
  num "$ctx attempted" "$att"
  nonzero "$ctx attempted" "$att"
  eq "$ctx acked==attempted" "${V[1]}" "$att"
  eq "$ctx failed" "${V[2]}" 0
  eq "$ctx expected==attempted" "${V[3]}" "$att"
  eq "$ctx relay received every event" "${R[0]}" "$att"
  dropped=${R[1]}
  dup=${R[2]}
  reord=${R[3]}
  eq "$ctx relay forwarded" "${R[4]}" "$((att - dropped - R[5]))"
  eq "$ctx relay published" "${R[6]}" "$((att - dropped - R[5] + dup))"
  jq -r '.dropped_ids[]' "$TMP/$relay.counts" | sort >"$TMP/$relay.dropped"
  eq "$ctx relay logged every dropped id" "$(wc -l <"$TMP/$relay.dropped")" "$dropped"
  ngroups=${V[4]}
  nonzero "$ctx groups" "$ngroups"
  local gk=(name lost duplicated delivered reordered received pending late corrupted foreign unexpected unconfirmed recovered)
  local ex=()
  for g in $(seq 0 $((ngroups - 1))); do
    for k in "${gk[@]}"; do ex+=(".deliver.groups[$g].$k"); done
  done
  jqvs_into G "$f" "${ex[@]}"
  for g in $(seq 0 $((ngroups - 1))); do
    i=$((g * ${#gk[@]}))
    name=${G[i]}
    eq "$ctx $name lost==relay.dropped" "${G[i + 1]}" "$dropped"
    eq "$ctx $name duplicated==relay.duplicated" "${G[i + 2]}" "$dup"
    eq "$ctx $name delivered" "${G[i + 3]}" "$((att - dropped))"
    eq "$ctx $name reordered==relay.reordered" "${G[i + 4]}" "$reord"
    eq "$ctx $name received" "${G[i + 5]}" "$((att - dropped + dup))"
    for k in 6 7 8 9 10 11 12; do
      eq "$ctx $name ${gk[k]}" "${G[i + k]}" 0
    done
    missing_ids "$TMP/$(basename "$f" .json).missing" "$name" >"$TMP/missing.$g"
    CHECKS=$((CHECKS + 1))
    cmp -s "$TMP/missing.$g" "$TMP/$relay.dropped" ||
      fail "$ctx $name: --missing lists $(tr '\n' ' ' <"$TMP/missing.$g") but the relay dropped $(tr '\n' ' ' <"$TMP/$relay.dropped")"
  done
  nouts=${V[5]}
  nonzero "$ctx outputs" "$nouts"
  ex=()
  for o in $(seq 0 $((nouts - 1))); do
    ex+=(".deliver.outputs[$o].copies"
      ". as \$r | [.deliver.groups[] | select(.output == \$r.deliver.outputs[$o].name)] | length"
      ".deliver.outputs[$o] | sum(.delivered, .late, .pending, .lost, .unconfirmed, .recovered)")
  done
  jqvs_into O "$f" "${ex[@]}"
  for o in $(seq 0 $((nouts - 1))); do
    copies=${O[o * 3]}
    gs=${O[o * 3 + 1]}
    nonzero "$ctx output $o groups" "$gs"
    eq "$ctx output $o classes add up" "${O[o * 3 + 2]}" "$((att * copies * gs))"
  done
  eq "$ctx e2e measured for every delivery" "${V[6]}" "${V[7]}"
  eq "$ctx no delivery without a latency" "${V[8]}" 0
  eq "$ctx lost total" "${V[9]}" "$((dropped * ngroups))"
  eq "$ctx duplicated total" "${V[10]}" "$((dup * ngroups))"
}

# pipe_latency RESULTS CTX LO HI: e2e p50 within [LO, HI] ms, and measured for
# every delivered event.
pipe_latency() {
  local f=$1 ctx=$2 p50
  p50=$(jqv "$f" .latency.e2e.p50)
  num "$ctx e2e p50" "$p50"
  echo "$ctx: e2e p50 $p50 ms, $(jqv "$f" '"p99 \(.latency.e2e.p99) ms, max \(.latency.e2e.max) ms"')"
  ge "$ctx e2e p50 >= $3 ms" "$p50" "$3"
  le "$ctx e2e p50 <= $4 ms" "$p50" "$4"
  # Each group measures its own first sighting of each event.
  eq "$ctx e2e measured for every delivery" "$(jqv "$f" .latency.e2e.count)" "$(jqv "$f" .deliver.delivered)"
}

# pscen FILE TARGET VERIFY_JSON [PUBLISH_JSON]: a pipeline scenario: 2 lanes
# at 200 events/s for 4 s (800 events) unless PUBLISH_JSON says otherwise.
pscen() {
  local pub=${4:-'{ "lanes": 2, "rate": 200, "duration": "4s", "max_in_flight": 400 }'}
  cat >"$1" <<JSON
{ "name": "$(basename "$1" .json)", "target": "$2",
  "event": { "type": "dev.evload.pipeline", "source": "/evload/pipeline", "data_size": 256 },
  "publish": $pub,
  "verify": $3 }
JSON
}

# exact_thresholds DROPPED DUP GROUPS: --set thresholds that hold exactly
# when the ledger agrees with the relay (so the exit code is checked too).
exact_thresholds() {
  echo "thresholds={\"lost\": [\"count==$(($1 * $3))\"], \"duplicated\": [\"count==$(($2 * $3))\"], \"pending\": [\"count==0\"]}"
}
