# Redis Pub/Sub against a real redis-server: zero loss at a
# moderate rate with 1 and with 8 groups, PUBLISH's replies agreeing (no
# shortfall), and the target's errors: unknown parameter (with the nearest
# name), verify.consumers > 1, binary mode, a refused password (redacted), an
# unreachable server (exit 3, quickly).
source "$(dirname "$0")/../e2e/lib.bash"
./scripts/brokers start redis || fail "cannot start redis-server (scripts/brokers start redis)"
SUF=$$-$RANDOM
URL="redis://127.0.0.1:6379?channel=evload-it-$SUF"

for groups in 1 8; do
  f=$TMP/g$groups.json
  run_rc 0 run scenarios/redis-pubsub-smoke.json --target "$URL" --set verify.groups=$groups \
    --set publish.rate=500 --set publish.duration=4s --json "$f" --quiet
  ctx="groups=$groups"
  att=2000
  planned "$f" "$ctx" "$att"
  eq "$ctx acked" "$(jqv "$f" .publish.acked)" "$att"
  eq "$ctx lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx groups" "$(jqv "$f" '.deliver.groups|length')" "$groups"
  eq "$ctx delivered" "$(jqv "$f" .deliver.delivered)" "$((att * groups))"
  eq "$ctx received" "$(jqv "$f" .deliver.received)" "$((att * groups))"
  eq "$ctx duplicated" "$(jqv "$f" .deliver.duplicated)" 0
  eq "$ctx reordered" "$(jqv "$f" .deliver.reordered)" 0
  eq "$ctx foreign" "$(jqv "$f" .deliver.foreign)" 0
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
  eq "$ctx replies" "$(jqv "$f" .broker.redis.publish_replies)" "$att"
  eq "$ctx shortfall" "$(jqv "$f" .broker.redis.publish_shortfall)" 0
  eq "$ctx excess" "$(jqv "$f" .broker.redis.publish_excess)" 0
  eq "$ctx every reply = groups" "$(jqv "$f" ".broker.redis.publish_receivers[\"$groups\"]")" "$att"
  eq "$ctx subscribers at ready" "$(jqv "$f" .broker.redis.subscribers_at_ready)" "$groups"
  eq "$ctx disconnects" "$(jqv "$f" .broker.redis.disconnects)" 0
  eq "$ctx subscribers sampled" "$(jqv "$f" .backpressure.broker.subscribers_up)" "$groups"
  eq "$ctx group name" "$(jqv "$f" '.deliver.groups[0].name')" "evload-it-$SUF#0"
done

# pattern= (PSUBSCRIBE) sees the same.
f=$TMP/pat.json
run_rc 0 run scenarios/redis-pubsub-smoke.json --target "$URL&pattern=evload-it-$SUF*" \
  --set publish.duration=2s --json "$f" --quiet
planned "$f" pattern 400
eq "pattern acked" "$(jqv "$f" .publish.acked)" 400
eq "pattern lost" "$(jqv "$f" .deliver.lost)" 0
eq "pattern shortfall" "$(jqv "$f" .broker.redis.publish_shortfall)" 0
eq "pattern delivered" "$(jqv "$f" .deliver.delivered)" 800

# An ACL user with a password (AUTH user pass) and a db (SELECT): works, and
# the password never shows. The user is removed on exit.
ACLU=evload-it-$SUF
on_exit 'redis-cli acl deluser "$ACLU" >/dev/null 2>&1'
redis-cli acl setuser "$ACLU" on '>pw-'"$SUF" '~*' '&*' '+@all' >/dev/null || fail "acl setuser"
f=$TMP/acl.json
run_rc 0 run scenarios/redis-pubsub-smoke.json \
  --target "redis://$ACLU:pw-$SUF@127.0.0.1:6379/3?channel=evload-it-$SUF" \
  --set publish.duration=1s --json "$f"
planned "$f" acl 200
eq "acl lost" "$(jqv "$f" .deliver.lost)" 0
eq "acl delivered" "$(jqv "$f" .deliver.delivered)" 400
eq "acl target redacted" "$(jqv "$f" .run.target)" "redis://$ACLU:***@127.0.0.1:6379/3?channel=evload-it-$SUF"
grep -q "pw-$SUF" "$TMP/out" "$TMP/err" "$f" && fail "password printed"

# Usage errors: exit 2 with a clear message.
run_rc 2 run scenarios/redis-pubsub-smoke.json --target "$URL&chanel=x" --quiet
grep -q 'did you mean "channel"' "$TMP/err" || fail "no nearest name in: $(cat "$TMP/err")"
run_rc 2 run scenarios/redis-pubsub-smoke.json --target "$URL" --set verify.consumers=2 --quiet
grep -q 'verify.groups' "$TMP/err" || fail "consumers>1 message: $(cat "$TMP/err")"
run_rc 2 run scenarios/redis-pubsub-smoke.json --target "$URL" --set event.mode=binary --quiet
grep -q 'structured' "$TMP/err" || fail "binary message: $(cat "$TMP/err")"
run_rc 2 run scenarios/redis-pubsub-smoke.json --target "redis://127.0.0.1:6379/x?channel=a" --quiet
run_rc 2 run scenarios/redis-pubsub-smoke.json --target "redis://127.0.0.1:6379?pattern=a*" --quiet

# A refused password: exit 3, and the password never shows.
run_rc 3 run scenarios/redis-pubsub-smoke.json --target "redis://:s3cretpw@127.0.0.1:6379?channel=a" --quiet
grep -q 's3cretpw' "$TMP/out" "$TMP/err" && fail "password printed: $(cat "$TMP/err")"
grep -q '\*\*\*' "$TMP/err" || fail "no redacted target in: $(cat "$TMP/err")"

# Nothing listening: exit 3 within the connect timeout, not a hang.
t0=$(date +%s)
run_rc 3 run scenarios/redis-pubsub-smoke.json --target "redis://127.0.0.1:1?channel=a" --quiet
grep -q 'cannot connect' "$TMP/err" || fail "unreachable message: $(cat "$TMP/err")"
le "unreachable fails fast (s)" "$(( $(date +%s) - t0 ))" 10
done_ok
