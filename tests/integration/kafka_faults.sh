#!/usr/bin/env bash
# Kafka faults on the embedded mock cluster:
#  - a broker down and back up mid-run with acks=all + idempotence: zero loss,
#    order per partition held, the log holds each acked event once;
#  - a group member crashing mid-run (no commit, no LeaveGroup): after the
#    session timeout its partitions move, the replays are counted as
#    duplicates flagged redelivered (duplicated == redelivered > 0), nothing lost;
#  - a member leaving cleanly (commit + LeaveGroup): nothing lost.
source "$(dirname "$0")/kafka_lib.bash" "$@"
sfx=$RANDOM$RANDOM

kscenario "$TMP/d.json" "kafka://embedded/it-down-$sfx?brokers=3&partitions=4&down_broker=1&down_at=1500ms&down_for=2500ms"
run_rc 0 run "$TMP/d.json" --set publish.duration=7s --set verify.consumers=2 --json "$TMP/d.out.json" --quiet
f=$TMP/d.out.json
kexact "$f" "broker down" 2100
# The fault (timed by evload from the first publish) fell inside publishing.
eq "broker down: which" "$(jqv "$f" .broker.kafka.fault.broker)" 1
ge "broker down: about 1.5 s in" "$(jqv "$f" .broker.kafka.fault.down_at_s)" 1.4
ge "broker was down" "$(jqv "$f" '(.broker.kafka.fault.up_at_s|num) - (.broker.kafka.fault.down_at_s|num)')" 2.4
during_publish "broker down" "$f" "$(jqv "$f" .broker.kafka.fault.down_at_s)" "$(jqv "$f" .broker.kafka.fault.up_at_s)"

kscenario "$TMP/c.json" "kafka://embedded/it-crash-$sfx?partitions=4&leave=1&leave_at=1500ms&leave_mode=crash&commit=interval"
run_rc 0 run "$TMP/c.json" --set publish.duration=6s --set verify.consumers=2 \
  --set kafka.auto.commit.interval.ms=60000 --set kafka.session.timeout.ms=6000 \
  --json "$TMP/c.out.json" --quiet
f=$TMP/c.out.json
planned "$f" "crash" 1800
eq "crash: acked" "$(jqv "$f" .publish.acked)" 1800
eq "crash: lost==0" "$(jqv "$f" .deliver.lost)" 0
eq "crash: delivered==acked" "$(jqv "$f" .deliver.delivered)" 1800
nonzero "crash: replays" "$(jqv "$f" .deliver.duplicated)"
eq "crash: duplicated==redelivered" "$(jqv "$f" .deliver.duplicated)" "$(jqv "$f" .deliver.redelivered)"
eq "crash: replays==broker.kafka.replays" "$(jqv "$f" .deliver.duplicated)" "$(jqv "$f" .broker.kafka.replays)"
eq "crash: reordered==0" "$(jqv "$f" .deliver.reordered)" 0
eq "crash: member left" "$(jqv "$f" .broker.kafka.members_left)" 1
eq "crash: drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
# While the crashed member's partitions had no owner their lag grew.
ge "crash: lag grew" "$(jqv "$f" .backpressure.broker.lag)" 100

kscenario "$TMP/l.json" "kafka://embedded/it-leave-$sfx?partitions=4&leave=0&leave_at=1500ms&leave_mode=close"
run_rc 0 run "$TMP/l.json" --set verify.consumers=3 --json "$TMP/l.out.json" --quiet
f=$TMP/l.out.json
planned "$f" "close" 1500
eq "close: acked" "$(jqv "$f" .publish.acked)" 1500
eq "close: lost==0" "$(jqv "$f" .deliver.lost)" 0
eq "close: delivered==acked" "$(jqv "$f" .deliver.delivered)" 1500
eq "close: duplicated==redelivered" "$(jqv "$f" .deliver.duplicated)" "$(jqv "$f" .deliver.redelivered)"
eq "close: reordered==0" "$(jqv "$f" .deliver.reordered)" 0
eq "close: member left" "$(jqv "$f" .broker.kafka.members_left)" 1
done_ok
