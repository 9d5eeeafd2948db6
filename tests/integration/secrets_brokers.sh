#!/usr/bin/env bash
# Real passwords on real brokers: a Redis ACL user and a RabbitMQ
# user whose passwords hold '@', ':', '/', '%40', '#', '?', a space and a
# non-ASCII letter. evload logs in with the password given in the URL
# (percent-encoded) and through ${VAR} (raw) on redis://, bullmq:// and
# amqp://, delivers everything, and prints no 3-byte piece of the password in
# stdout (summary), stderr (status line) or the results JSON. A wrong password
# fails with exit 3 and one line that shows neither password (the brokers'
# refusals, through hiredis and rabbitmq-c, do not echo it). Both users are
# removed on exit.
source "$(dirname "$0")/../e2e/lib.bash"
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
./scripts/brokers start rabbitmq || fail "cannot start rabbitmq-server (scripts/brokers start rabbitmq)"
timeout 60 rabbitmqctl -q await_startup >/dev/null 2>&1 || fail "rabbitmq-server is not ready"

SUF=$$-$RANDOM
U=evload-sec-$SUF
PW='Sx@:/%40Kv #?ä~Rj' # the users' password
BAD='Wy@:/%40Lq #?ö~Tg' # a wrong one
CH=evload-sec-$SUF
Q=evload-sec-$SUF

cleanup() {
  timeout 20 redis-cli acl deluser "$U" >/dev/null 2>&1 || true
  timeout 20 redis-cli EVAL "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" \
    0 "bull:$Q:*" >/dev/null 2>&1 || true
  timeout 30 rabbitmqctl -q delete_user "$U" >/dev/null 2>&1 || true
  timeout 20 rabbitmqctl -q delete_queue "$Q" >/dev/null 2>&1 || true
}
on_exit cleanup

redis-cli acl setuser "$U" on ">$PW" '~*' '&*' '+@all' >/dev/null || fail "redis acl setuser"
[ "$(redis-cli --user "$U" --pass "$PW" --no-auth-warning ping)" = PONG ] || fail "the ACL user cannot log in with redis-cli"
rabbitmqctl -q add_user "$U" "$PW" >/dev/null || fail "rabbitmqctl add_user"
rabbitmqctl -q set_permissions -p / "$U" '.*' '.*' '.*' >/dev/null || fail "rabbitmqctl set_permissions"

export EVLOAD_T_PASS=$PW EVLOAD_T_BAD=$BAD
P=$(enc "$PW")

# ok_run NAME SCENARIO TARGET SHOWN [ARGS...]: exit 0, the plan's 400 events
# (200/s for 2 s in each smoke scenario) published, acked and delivered
# (lost 0, delivered == attempted × groups), the results show SHOWN as the
# target, and no output holds a piece of the password.
ok_run() {
  local name=$1 sc=$2 t=$3 shown=$4; shift 4
  run_rc 0 run "$sc" --target "$t" --set publish.duration=2s --progress --json "$TMP/r.json" "$@"
  local att=400 groups
  groups=$(jqv "$TMP/r.json" '.deliver.groups|length')
  planned "$TMP/r.json" "$name" "$att"
  eq "$name acked" "$(jqv "$TMP/r.json" .publish.acked)" "$att"
  eq "$name lost" "$(jqv "$TMP/r.json" .deliver.lost)" 0
  eq "$name delivered" "$(jqv "$TMP/r.json" .deliver.delivered)" "$((att * groups))"
  eq "$name target" "$(jqv "$TMP/r.json" .run.target)" "$shown"
  grep -qF "target   $shown" "$TMP/out" || fail "$name: summary lacks the target: $(cat "$TMP/out")"
  grep -q '^publish .* sent ' "$TMP/err" || fail "$name: no status line: $(cat "$TMP/err")"
  no_leak "$name" "$PW" "$TMP/out" "$TMP/err" "$TMP/r.json"
  rm -f "$TMP/r.json"
}

# refused NAME SCENARIO TARGET SHOWN: exit 3, one line naming SHOWN, and no
# piece of either password anywhere.
refused() {
  local name=$1 sc=$2 t=$3 shown=$4
  run_rc 3 run "$sc" --target "$t" --set publish.duration=2s --json "$TMP/r.json"
  CHECKS=$((CHECKS+1))
  [ "$(wc -l <"$TMP/err")" = 1 ] || { cat "$TMP/err"; fail "$name: not one line"; }
  grep -qF "$shown" "$TMP/err" || fail "$name: $shown not in $(cat "$TMP/err")"
  no_leak "$name" "$PW" "$TMP/out" "$TMP/err" "$TMP/r.json"
  no_leak "$name" "$BAD" "$TMP/out" "$TMP/err" "$TMP/r.json"
  rm -f "$TMP/r.json"
}

# Redis Pub/Sub: AUTH user pass, then SELECT 3.
R="redis://$U:%s@127.0.0.1:6379/3?channel=$CH"
# shellcheck disable=SC2059
ok_run "redis url" scenarios/redis-pubsub-smoke.json "$(printf "$R" "$P")" "$(printf "$R" '***')"
# shellcheck disable=SC2059
ok_run "redis \${VAR}" scenarios/redis-pubsub-smoke.json "$(printf "$R" '${EVLOAD_T_PASS}')" \
  "$(printf "$R" '${EVLOAD_T_PASS}')"
# shellcheck disable=SC2059
refused "redis wrong" scenarios/redis-pubsub-smoke.json "$(printf "$R" "$(enc "$BAD")")" "$(printf "$R" '***')"
grep -q 'WRONGPASS' "$TMP/err" || fail "redis wrong: not the broker's refusal: $(cat "$TMP/err")"
# shellcheck disable=SC2059
refused "redis wrong \${VAR}" scenarios/redis-pubsub-smoke.json "$(printf "$R" '${EVLOAD_T_BAD}')" \
  "$(printf "$R" '${EVLOAD_T_BAD}')"

# BullMQ on the same Redis (evload's worker).
B="bullmq://$U:%s@127.0.0.1:6379?queue=$Q"
# shellcheck disable=SC2059
ok_run "bullmq url" scenarios/bullmq-smoke.json "$(printf "$B" "$P")" "$(printf "$B" '***')"
# shellcheck disable=SC2059
ok_run "bullmq \${VAR}" scenarios/bullmq-smoke.json "$(printf "$B" '${EVLOAD_T_PASS}')" \
  "$(printf "$B" '${EVLOAD_T_PASS}')"
# shellcheck disable=SC2059
refused "bullmq wrong" scenarios/bullmq-smoke.json "$(printf "$B" "$(enc "$BAD")")" "$(printf "$B" '***')"
grep -q 'WRONGPASS' "$TMP/err" || fail "bullmq wrong: not the broker's refusal: $(cat "$TMP/err")"

# RabbitMQ: PLAIN login of the new user on vhost /.
A="amqp://$U:%s@127.0.0.1:5672/%%2f?exchange=$Q&queue=$Q&cleanup=1"
# shellcheck disable=SC2059
ok_run "amqp url" scenarios/rabbitmq-smoke.json "$(printf "$A" "$P")" "$(printf "$A" '***')"
# shellcheck disable=SC2059
ok_run "amqp \${VAR}" scenarios/rabbitmq-smoke.json "$(printf "$A" '${EVLOAD_T_PASS}')" \
  "$(printf "$A" '${EVLOAD_T_PASS}')"
# shellcheck disable=SC2059
refused "amqp wrong" scenarios/rabbitmq-smoke.json "$(printf "$A" "$(enc "$BAD")")" "$(printf "$A" '***')"
grep -q 'login failed' "$TMP/err" || fail "amqp wrong: not the broker's refusal: $(cat "$TMP/err")"
# shellcheck disable=SC2059
refused "amqp wrong \${VAR}" scenarios/rabbitmq-smoke.json "$(printf "$A" '${EVLOAD_T_BAD}')" \
  "$(printf "$A" '${EVLOAD_T_BAD}')"
done_ok
