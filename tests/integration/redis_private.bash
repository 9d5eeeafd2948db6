# Shared by the Redis restart tests (sourced after tests/e2e/lib.bash, not a
# test itself): a private redis-server on a port of its own, with the AOF on
# and fsynced at every write, which the test may shut down and start again.
# The shared server on 6379 (scripts/brokers) is never touched: others use it.
# Sets PORT; rq runs redis-cli against it; stopped (nosave) at exit.
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps)"

rq() { timeout 20 redis-cli -p "$PORT" "$@"; }
redis_up() { [ "$(rq ping 2>/dev/null)" = PONG ]; }
# A free port: nothing answers there (Redis or otherwise).
for _ in $(seq 20); do
  PORT=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
REDIS_DIR=$TMP/redis
mkdir -p "$REDIS_DIR"
# redis_start: starts it (the data in REDIS_DIR, so a restart loads its AOF)
# and waits until it answers. Daemons must not inherit our descriptors beyond
# stdio (a lock held on one).
redis_start() {
  redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync always --save '' --logfile "$REDIS_DIR/redis.log" \
    --pidfile "$REDIS_DIR/redis.pid" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- >/dev/null ||
    fail "redis-server on port $PORT did not start: $(tail -n 5 "$REDIS_DIR/redis.log")"
  wait_until "the private redis-server on port $PORT answering" 10 redis_up
}
# redis_stop: `redis-cli shutdown nosave`, then waits until the process is gone.
redis_stop() {
  local pid
  pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)
  [ -n "$pid" ] || fail "no pid file for the private redis-server"
  rq shutdown nosave >/dev/null 2>&1 || true
  wait_until "the private redis-server (pid $pid) exiting" 10 bash -c "! kill -0 $pid 2>/dev/null"
}
# redis_restart SECS: redis_stop, then redis_start SECS after the shutdown
# (the clients lost their connections then; the process takes a while to go).
redis_restart() {
  local t0 rest
  t0=$(ev_now_us)
  redis_stop
  rest=$(($1 * 1000000 - ($(ev_now_us) - t0)))
  [ "$rest" -le 0 ] || sleep "$(printf '%d.%06d' $((rest / 1000000)) $((rest % 1000000)))"
  redis_start
}
on_exit 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1'
redis_start
eq "private redis: appendonly" "$(rq config get appendonly | tail -n 1)" yes
eq "private redis: appendfsync" "$(rq config get appendfsync | tail -n 1)" always
