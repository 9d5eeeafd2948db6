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
on_exit kmock_stop
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
kexact "$TMP/a.json" process 1500
eq "not embedded" "$(jqv "$TMP/a.json" .broker.kafka.embedded)" false

# Same topic again, binary mode, 2 groups: the first run's events are not re-read.
run_rc 0 run "$TMP/s.json" --set event.mode=binary --set verify.groups=2 --json "$TMP/b.json" --quiet
kexact "$TMP/b.json" "process rerun" 1500

# Broker 1 down for 2.5 s of an 8 s run (idempotent, acks=all), once events
# are seen delivered; both ends of the fault must fall inside publishing.
run_bg 240 run "$TMP/s.json" --set publish.duration=8s --set verify.consumers=2 \
  --set kafka.acks=all --json "$TMP/f.json"
await_status recv 1 60
echo "down 1" >&9
t_down=$(since_start)
wait_until "mock takes broker 1 down" 10 grep -q '^ok down 1$' "$TMP/mock.out"
sleep 2.5
echo "up 1" >&9
t_up=$(since_start)
wait_until "mock brings broker 1 up" 10 grep -q '^ok up 1$' "$TMP/mock.out"
wait_bg 0
echo "broker 1 down at ${t_down}s, up at ${t_up}s"
kexact "$TMP/f.json" "broker down/up" 2400
during_publish "broker 1 down/up" "$TMP/f.json" "$t_down" "$t_up"
# The clients saw it (transport errors while the broker was down).
nonzero "broker down/up: client errors" "$(jqv "$TMP/f.json" .broker.kafka.client_errors)"

# kafka-mock itself: bad options are usage errors; SIGTERM stops it.
run_rc 2 kafka-mock --brokers 0
kill "$MOCK_PID"; rc=0; wait "$MOCK_PID" || rc=$?
MOCK_PID=
expect_rc "kafka-mock on SIGTERM" "$rc" 0
no_sanitizer_report "kafka-mock" "$TMP/mock.err"
done_ok
