# Shared by the proxy integration tests (sourced, not a test): runs
# `evload proxy` in the background with its stdin on a FIFO this shell
# holds open (fd 7), so a test types commands into it while a run goes on,
# as a user would at a terminal. Needs tests/e2e/lib.bash first ($EVLOAD, $TMP).

PROXY_PID=""

# proxy_start UPSTREAM [ARGS...]: starts `evload proxy 127.0.0.1:0 UPSTREAM
# ARGS --json $TMP/px.json`, sets PROXY (the address it printed) and
# PROXY_PID; fails if it prints none within 10 s.
proxy_start() {
  mkfifo "$TMP/px.in"
  "$EVLOAD" proxy 127.0.0.1:0 "$@" --json "$TMP/px.json" <"$TMP/px.in" >"$TMP/px.out" 2>"$TMP/px.err" &
  PROXY_PID=$!
  exec 7>"$TMP/px.in"
  for _ in $(seq 100); do [ -s "$TMP/px.out" ] && break; sleep 0.1; done
  PROXY=$(head -n 1 "$TMP/px.out")
  [[ "$PROXY" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "evload proxy printed no address: $(cat "$TMP/px.out" "$TMP/px.err")"
}

# proxy_cmd LINE: types one command and prints its one-line answer (fails
# when none comes within 5 s).
proxy_cmd() {
  local n
  n=$(wc -l <"$TMP/px.out")
  echo "$1" >&7
  for _ in $(seq 100); do
    [ "$(wc -l <"$TMP/px.out")" -gt "$n" ] && { sed -n "$((n + 1))p" "$TMP/px.out"; return 0; }
    sleep 0.05
  done
  fail "evload proxy did not answer \"$1\": $(cat "$TMP/px.err")"
}

# proxy_stat JQ: one figure of the proxy's `stats` answer.
proxy_stat() { proxy_cmd stats | jq -r "$1"; }

# proxy_stop: SIGTERM; checks it exits 0 and wrote its counters.
proxy_stop() {
  exec 7>&-
  local rc=0
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || rc=$?
  PROXY_PID=""
  eq "proxy exit code" "$rc" 0
  [ -s "$TMP/px.json" ] || fail "evload proxy wrote no --json file: $(cat "$TMP/px.err")"
}

# For the EXIT trap: a proxy still running is killed.
proxy_kill() { [ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true; }

# wait_bytes_up AT_LEAST: waits (up to 60 s) until the proxy has read that
# many bytes from clients, i.e. until publishing is under way.
wait_bytes_up() {
  for _ in $(seq 600); do
    [ "$(proxy_stat .traffic.upstream.bytes_in)" -ge "$1" ] && return 0
    sleep 0.1
  done
  fail "the proxy never saw $1 bytes upstream"
}

# latency_rose RESULTS CTX: the checks both latency tests share, for a run
# during which `down:latency=200ms..800ms` was switched on after its first
# second of publishing and stayed on.
#  - e2e (receive − send) must rise: every delivery travels downstream, so
#    each one that left the broker after the toxic came on was held 200..800 ms
#    (with order kept, a chunk waits behind a longer-held one, so most see
#    close to 800 ms). The toxic covered most of the run, so the p50 of the
#    whole run lies in that range; "slack" allows for a loaded machine on top.
#  - the first second, before the toxic, stays below 200 ms (its p99), and
#    the publish phase's last second with deliveries is inside the range
#    (its p99).
#  - ack latency rises the same way (broker replies travel downstream too).
latency_rose() {
  local f=$1 ctx=$2 slack=700 last
  jq -r --arg c "$ctx" '"\($c): e2e p50 \(.latency.e2e.p50) ms, max \(.latency.e2e.max) ms; ack p50 \(.latency.ack.p50) ms; e2e p99 per second: \([.timeseries[] | .e2e_p99 | round] | join(" "))"' "$f"
  ge "$ctx e2e p50 >= 200 ms" "$(jqv "$f" .latency.e2e.p50)" 200
  le "$ctx e2e p50 <= 800 ms + slack" "$(jqv "$f" .latency.e2e.p50)" $((800 + slack))
  le "$ctx e2e max <= 800 ms + slack" "$(jqv "$f" .latency.e2e.max)" $((800 + slack))
  ge "$ctx ack p50 >= 200 ms" "$(jqv "$f" .latency.ack.p50)" 200
  eq "$ctx first point is publishing" "$(jqv "$f" '.timeseries[0].phase')" publish
  le "$ctx first second's e2e p99 (before the toxic)" "$(jqv "$f" '.timeseries[0].e2e_p99')" 200
  # The last publish point that had deliveries: the phase's last point can
  # be a sliver of a second in which every delivery was still held (CI saw
  # one with none, its p99 0).
  last=$(jqv "$f" '[.timeseries as $ts | range(1; $ts | length) | $ts[.] as $p
    | select($p.phase == "publish" and $p.received > $ts[. - 1].received) | $p][-1].e2e_p99')
  ge "$ctx last publish second's e2e p99" "$last" 200
  le "$ctx last publish second's e2e p99" "$last" $((800 + slack))
}
