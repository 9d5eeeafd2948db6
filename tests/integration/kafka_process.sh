#!/usr/bin/env bash
# Kafka against a mock cluster in a separate process (`evload kafka-mock`),
# as other tools and the demo use it: zero loss, order per partition, lag
# reported; a run reusing the topic does not see the earlier run's events;
# and a broker taken down and brought back through the mock's stdin while
# publishing with acks=all: nothing lost, nothing reordered.
source "$(dirname "$0")/kafka_lib.bash" "$@"
sfx=$RANDOM$RANDOM
topic=it-proc-$sfx
MOCK_PID=
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$TMP/ctl"
# The fifo is held open for writing by fd 9 so the mock never sees EOF early.
"$EVLOAD" kafka-mock --brokers 3 --partitions 4 --topic "$topic" <"$TMP/ctl" >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK_PID=$!
exec 9>"$TMP/ctl"
for _ in $(seq 100); do [ -s "$TMP/mock.out" ] && break; sleep 0.1; done
servers=$(head -n 1 "$TMP/mock.out")
[[ "$servers" =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]] || fail "kafka-mock printed \"$servers\" ($(cat "$TMP/mock.err"))"

kscenario "$TMP/s.json" "kafka://$servers/$topic"
run_rc 0 run "$TMP/s.json" --set verify.consumers=2 --json "$TMP/a.json" --quiet
kexact "$TMP/a.json" process
eq "not embedded" "$(jqv "$TMP/a.json" .broker.kafka.embedded)" false

# Same topic again, binary mode, 2 groups: the first run's events are not re-read.
run_rc 0 run "$TMP/s.json" --set event.mode=binary --set verify.groups=2 --json "$TMP/b.json" --quiet
kexact "$TMP/b.json" "process rerun"

# Broker 1 down from ~1.5 s to ~4 s into an 8 s run (idempotent, acks=all).
( sleep 4.5; echo "down 1" >&9; sleep 2.5; echo "up 1" >&9 ) &
fault=$!
run_rc 0 run "$TMP/s.json" --set publish.duration=8s --set verify.consumers=2 \
  --set kafka.acks=all --json "$TMP/f.json" --quiet
wait "$fault"
kexact "$TMP/f.json" "broker down/up"
grep -q '^ok down 1$' "$TMP/mock.out" || fail "mock did not take broker 1 down: $(cat "$TMP/mock.out")"
grep -q '^ok up 1$' "$TMP/mock.out" || fail "mock did not bring broker 1 up: $(cat "$TMP/mock.out")"

# kafka-mock itself: bad options are usage errors; SIGTERM stops it.
rc=0; "$EVLOAD" kafka-mock --brokers 0 >/dev/null 2>&1 || rc=$?
eq "kafka-mock --brokers 0" "$rc" 2
kill "$MOCK_PID"; rc=0; wait "$MOCK_PID" || rc=$?
MOCK_PID=
eq "kafka-mock exit on SIGTERM" "$rc" 0
done_ok
