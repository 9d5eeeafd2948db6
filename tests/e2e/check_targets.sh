# `evload check` knows every target parameter and what each transport can
# honour, exactly as `run` does: a misspelt parameter on any transport names
# the parameter and the nearest valid one; a bad value names the expected
# form; a setting the transport cannot honour names the setting and where it
# came from. Exit 2, one line, nothing connects (the brokers named here need
# not run: check never dials them).
source "$(dirname "$0")/lib.bash"
one_line() { CHECKS=$((CHECKS+1)); [ "$(wc -l <"$TMP/err")" = 1 ] || { cat "$TMP/err"; fail "$1: not one line"; }; }
has() { CHECKS=$((CHECKS+1)); grep -qF -- "$2" "$TMP/err" || fail "$1: \"$2\" not in: $(cat "$TMP/err")"; }

AMQP='amqp://guest:guest@127.0.0.1:5672/%2f'
# check_err NAME EXPECTED_TEXT... -- ARGS: check exits 2 with one line holding
# every EXPECTED_TEXT; run, given the same, exits 2 with the same line.
check_err() {
  local name=$1; shift
  local want=()
  while [ "$1" != "--" ]; do want+=("$1"); shift; done
  shift
  run_rc 2 check "$@"
  one_line "$name"
  for w in "${want[@]}"; do has "$name" "$w"; done
  cp "$TMP/err" "$TMP/check.err"
  run_rc 2 run "$@" --quiet
  CHECKS=$((CHECKS+1))
  cmp -s "$TMP/err" "$TMP/check.err" || fail "$name: run said $(cat "$TMP/err"), check said $(cat "$TMP/check.err")"
}

# A misspelt parameter, on every transport.
check_err mock 'unknown parameter "drp"' '(did you mean "drop"?)' -- \
  scenarios/smoke.json --target 'mock://?drp=0.1'
check_err redis 'unknown parameter "chanel"' '(did you mean "channel"?)' -- \
  scenarios/redis-pubsub-smoke.json --target 'redis://127.0.0.1:6379?chanel=x'
check_err bullmq 'unknown parameter "qeue"' '(did you mean "queue"?)' -- \
  scenarios/bullmq-smoke.json --target 'bullmq://127.0.0.1:6379?qeue=x'
check_err rabbitmq 'unknown parameter "exchnage"' '(did you mean "exchange"?)' -- \
  scenarios/rabbitmq-smoke.json --target "$AMQP?exchnage=x&queue=y"
check_err kafka 'unknown parameter "partitons"' '(did you mean "partitions"?)' 'kafka.PROPERTY' -- \
  scenarios/kafka-smoke.json --target 'kafka://embedded/t?partitons=3'

# A bad value names the parameter and the form.
check_err "mock value" 'drop="2"' 'probability from 0 to 1' -- \
  scenarios/smoke.json --target 'mock://?drop=2'
check_err "redis value" 'connect_timeout="soon"' 'duration' -- \
  scenarios/redis-pubsub-smoke.json --target 'redis://127.0.0.1:6379?connect_timeout=soon'
check_err "bullmq value" 'bullmq_version="7"' '5 or 6' -- \
  scenarios/bullmq-smoke.json --target 'bullmq://127.0.0.1:6379?queue=q&bullmq_version=7'
check_err "rabbitmq value" 'exchange_type="fan"' 'direct, fanout, topic or headers' -- \
  scenarios/rabbitmq-smoke.json --target "$AMQP?exchange_type=fan"
check_err "kafka value" 'commit="sometimes"' 'batch, interval or none' -- \
  scenarios/kafka-smoke.json --target 'kafka://embedded/t?commit=sometimes'
check_err "kafka property" 'kafka.linger.msx' -- \
  scenarios/kafka-smoke.json --set kafka.linger.msx=5

# Settings the transport cannot honour: the setting, where it came from, why.
check_err "bullmq binary" '--set event.mode' 'BullMQ has no CloudEvents binding' -- \
  scenarios/bullmq-smoke.json --set event.mode=binary
check_err "redis binary" '--set event.mode' 'Redis Pub/Sub has no CloudEvents binding' -- \
  scenarios/redis-pubsub-smoke.json --set event.mode=binary
check_err "redis consumers" '--set verify.consumers' 'verify.groups=N' -- \
  scenarios/redis-pubsub-smoke.json --set verify.consumers=2
check_err "bullmq groups" '--set verify.groups' 'one group' -- \
  scenarios/bullmq-smoke.json --set verify.groups=2
check_err "bullmq mode" 'verify.mode "obsrver"' '(did you mean "observer"?)' -- \
  scenarios/bullmq-smoke.json --set verify.mode=obsrver
check_err "mock mode" 'verify.mode "worker"' 'mock:// has no verify modes' -- \
  scenarios/smoke.json --set verify.mode=worker
check_err "rabbitmq combination" 'quorum queues are always durable' -- \
  scenarios/rabbitmq-smoke.json --target "$AMQP?queue_type=quorum&durable=0"
check_err "kafka member" 'leave=3' 'verify.consumers is' -- \
  scenarios/kafka-smoke.json --target 'kafka://embedded/t?leave=3'
check_err http 'unknown parameter "conections"' '(did you mean "connections"?)' -- \
  scenarios/http-broker-ingress.json --target 'http://127.0.0.1:8090/events?conections=4'
check_err "http-sink" 'unknown parameter "throtle"' '(did you mean "throttle"?)' -- \
  scenarios/http-broker-ingress.json --set 'verify.source=http-sink://127.0.0.1:8090/e?throtle=0.1'
check_err "amqp+http" 'unknown parameter "routingkey"' '(did you mean "routing_key"?)' -- \
  scenarios/amqp-http-build-events.json --target 'amqp+http://guest:guest@127.0.0.1:15672/%2f?routingkey=x'
check_err "http batch binary" '--set event.mode' 'a batch holds structured events' -- \
  scenarios/http-broker-ingress.json --target 'http://127.0.0.1:8090/events?batch=10' --set event.mode=binary
check_err "http version" 'version=2' 'version=2-prior-knowledge' -- \
  scenarios/http-broker-ingress.json --target 'http://127.0.0.1:8090/events?version=2'
check_err "http-sink faults" 'together at most 1' -- \
  scenarios/http-broker-ingress.json --set 'verify.source=http-sink://127.0.0.1:8090/e?throttle=0.6&error=0.6'
check_err "http-sink groups" 'one group' -- \
  scenarios/http-broker-ingress.json --set verify.groups=2
check_err "http verify" 'http:// cannot be a source' -- \
  scenarios/http-broker-ingress.json --set verify.source=http://127.0.0.1:8090/events

# An http(s) target publishes binary mode unless event.mode says otherwise;
# a batch is structured.
SINK=http-sink://127.0.0.1:8090/e
says() { CHECKS=$((CHECKS+1)); grep -qF -- "$2" "$TMP/out" || fail "$1: \"$2\" not in: $(cat "$TMP/out")"; }
run_rc 0 check scenarios/smoke.json --target 'http://127.0.0.1:8090/events' --source "$SINK"
says "http default mode" "binary mode"
run_rc 0 check scenarios/smoke.json --target 'http://127.0.0.1:8090/events?batch=4' --source "$SINK"
says "http batch mode" "structured mode"
run_rc 0 check scenarios/smoke.json --target 'http://127.0.0.1:8090/events' --source "$SINK" --set event.mode=structured
says "http mode given" "structured mode"

# SSE and WebSocket sources: checked like targets, through --source.
SSE='sse+http://127.0.0.1:8080/events'
WS='ws://127.0.0.1:8080/stream'
check_err sse 'unknown parameter "strom"' '(did you mean "storm"?)' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE?strom=10s"
check_err ws 'unknown parameter "subscribe_akc"' '(did you mean "subscribe_ack"?)' -- \
  scenarios/redis-pubsub-smoke.json --source "$WS?subscribe_akc=x"
check_err "sse value" 'storm_fraction="2"' 'probability from 0 to 1' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE?storm_fraction=2"
check_err "ws value" 'ping="often"' 'duration' -- \
  scenarios/redis-pubsub-smoke.json --source "$WS?ping=often"
check_err "sse storm" 'storm must be at least 100ms' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE?storm=10ms"
check_err "ws storm fraction" 'storm_fraction must be above 0' -- \
  scenarios/redis-pubsub-smoke.json --source "$WS?storm=1s&storm_fraction=0"
check_err "sse consumers" '--set verify.consumers' 'verify.groups=N' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE" --set verify.consumers=2
check_err "ws consumers" '--set verify.consumers' 'verify.groups=N' -- \
  scenarios/redis-pubsub-smoke.json --source "$WS" --set verify.consumers=2
check_err "sse version" 'version=2 needs sse+https' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE?version=2"
check_err "ws ack" 'subscribe_ack= confirms a subscribe message' -- \
  scenarios/redis-pubsub-smoke.json --source "$WS?subscribe_ack=ok"
check_err "ws userinfo" 'is not sent' -- \
  scenarios/redis-pubsub-smoke.json --source "ws://u:pw@127.0.0.1:8080/stream"
check_err "sse header" 'header number 1 is not "Name: value"' 'header=***' -- \
  scenarios/redis-pubsub-smoke.json --source "$SSE?header=Zq8Xj4Wv9Kp"
no_leak "sse header" "Zq8Xj4Wv9Kp" "$TMP/err" "$TMP/check.err"
check_err "sse publish" 'sse+http:// cannot be a target' -- scenarios/smoke.json --target "$SSE"
run_rc 0 check scenarios/redis-pubsub-smoke.json \
  --source "$SSE?storm=10s&storm_jitter=500ms&header=Authorization:%20Bearer%20Zq8tok"
no_leak "sse check" "Zq8tok" "$TMP/out" "$TMP/err"

# From a file, the position of the setting.
S=$TMP/s.json
printf '{\n  "target": "redis://127.0.0.1:6379?channel=x",\n  "event": { "mode": "binary" }\n}\n' >"$S"
check_err "file position" "$S:3:22" 'event.mode "binary"' -- "$S"

# The valid forms pass, and the targets list names every parameter.
run_rc 0 check scenarios/kafka-smoke.json --target 'kafka://embedded/t?partitions=3&commit=none'
run_rc 0 check scenarios/rabbitmq-smoke.json --target "$AMQP?exchange_type=fanout&queue=y"
run_rc 0 targets
for p in drop channel pattern queue bullmq_version exchange confirm_timeout partitions leave_mode \
  storm storm_jitter subscriber_header subprotocol subscribe_ack \
  header connections version batch retry_after_max throttle delay_p retry_horizon routing_key; do
  CHECKS=$((CHECKS+1)); grep -q "^  $p " "$TMP/out" || fail "evload targets does not list $p"
done
run_rc 0 run --help
grep -q "kafka.PROPERTY" "$TMP/out" || fail "run --help does not list kafka.PROPERTY"
# docs/targets.md carries the same tables, generated: it must not drift.
run_rc 0 targets --markdown
CHECKS=$((CHECKS+1))
awk '/<!-- targets:begin/{on=1;next} /<!-- targets:end/{on=0} on' docs/targets.md >"$TMP/doc.md"
cmp -s "$TMP/out" "$TMP/doc.md" || { diff "$TMP/out" "$TMP/doc.md" | head -20; fail "docs/targets.md differs from \`evload targets --markdown\` (regenerate it: see docs/development.md)"; }
done_ok
